"""The random number streams a training step draws from, saved and restored
(and, with them, the other state a callback may leave changed).

A checkpoint holds Python's, NumPy's and torch's CPU streams and the CUDA
stream of the training device only: a run saved on a machine with 8 GPUs
resumes on one with 1. :func:`preserved_rng` lets an observer draw random
numbers without moving the training streams, so a run with a board trains
exactly like one without.
"""
import contextlib
import random
from typing import Any, Dict, Iterator, Optional

import numpy as np
import torch


def rng_states(device: Optional[torch.device] = None) -> Dict[str, Any]:
    """Every RNG state a training step on ``device`` may draw from."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = torch.from_numpy(
        numpy_state["state"]["key"].astype(np.int64))
    states = {"python": random.getstate(), "numpy": numpy_state,
              "torch": torch.get_rng_state()}
    if device is not None and device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_states(states: Dict[str, Any],
                   device: Optional[torch.device] = None) -> None:
    """Restore :func:`rng_states`; the CUDA state goes to ``device``.

    Format-1 checkpoints hold a list with every visible GPU's
    state: the training device's entry (else the first) is used.
    """
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = dict(states["numpy"])
    numpy_state["state"] = dict(numpy_state["state"])
    numpy_state["state"]["key"] = numpy_state["state"]["key"].numpy().astype(
        np.uint32)
    np.random.set_state(numpy_state)
    torch.set_rng_state(states["torch"])
    cuda = states.get("cuda")
    if cuda is None or device is None or device.type != "cuda":
        return
    if isinstance(cuda, (list, tuple)):
        index = device.index or 0
        cuda = cuda[index] if index < len(cuda) else cuda[0]
    torch.cuda.set_rng_state(cuda, device)


@contextlib.contextmanager
def preserved_rng(device: Optional[torch.device] = None) -> Iterator[None]:
    """Run a block, then put every RNG stream back as it was before it."""
    saved = rng_states(device)
    try:
        yield
    finally:
        set_rng_states(saved, device)


@contextlib.contextmanager
def kept_shared_state(model: torch.nn.Module, device: torch.device,
                      rng: bool = True) -> Iterator[None]:
    """Put back every module's train/eval mode, the grad mode and (with
    ``rng``) every random stream when the block ends, even on error."""
    modes = [(module, module.training) for module in model.modules()]
    grad = torch.is_grad_enabled()
    with preserved_rng(device) if rng else contextlib.nullcontext():
        try:
            yield
        finally:
            for module, mode in modes:
                module.training = mode
            torch.set_grad_enabled(grad)
