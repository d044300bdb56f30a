"""torch.compile for a training step's forward pass and loss (one graph),
falling back to eager only when compiling itself fails.

Shapes are static (``dynamic=False``): an epoch whose last batch is
smaller compiles one more graph for it, instead of a dynamic-shape graph
that CUDA graphs cannot capture as well.

A compiled call can fail for two reasons: the compiler cannot handle this
model or machine (no C compiler, an unsupported op), or the model itself
raises (a shape mismatch, a bad input). The two are told apart by running
the same call eagerly, from the same random state: when the eager call
fails too, the model's own error is raised; when it succeeds, compiling
was the problem, so training warns once and continues eagerly.
"""
import warnings
from typing import Any, Callable, Optional

import torch

from .rng import preserved_rng, rng_states, set_rng_states


class CompiledForward:
    """``eager(*args)`` through torch.compile (see the module doc).

    ``eager``: the function compiled (a model, or a step's forward + loss).
    ``mode``: torch.compile's mode ('reduce-overhead' uses CUDA graphs).
    ``fell_back`` is True once compiling failed and calls run eagerly.
    """

    def __init__(self, eager: Callable[..., Any], mode: str = "default",
                 device: Optional[torch.device] = None):
        self.model = eager
        self.device = device
        self.function: Callable[..., Any] = torch.compile(
            eager, mode=mode, dynamic=False)
        self.fell_back = False
        # CUDA graphs: each call is a new step, also after a skipped batch
        self.cuda_graphs = mode == "reduce-overhead"

    @classmethod
    def for_device(cls, eager: Callable[..., Any], device: torch.device
                   ) -> "CompiledForward":
        """CUDA graphs ('reduce-overhead') on a GPU, 'default' elsewhere."""
        return cls(eager, "reduce-overhead" if device.type == "cuda"
                   else "default", device)

    def __call__(self, *args: Any) -> Any:
        if self.fell_back:
            return self.model(*args)
        before = rng_states(self.device)
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()
        try:
            return self.function(*args)
        except Exception as error:
            compiled_error = error
        set_rng_states(before, self.device)
        with preserved_rng(self.device):
            self.model(*args)  # when the model itself fails, this raises
        self.fell_back = True
        first_line = (str(compiled_error).strip().splitlines() or [""])[0]
        warnings.warn(f"compile=True: torch.compile failed here "
                      f"({type(compiled_error).__name__}: "
                      f"{first_line[:200]}); training without it",
                      RuntimeWarning, stacklevel=2)
        return self.model(*args)
