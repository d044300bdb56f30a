"""Statistics of the global batch, for models and losses under torchrun.

While the training step runs the forward pass on this rank's share of a
global batch (:func:`sharded_batch`, entered by
:class:`moevae.training.step.OptimisationStep`), :func:`batch_sum` sums over
every rank's rows and :func:`batch_noise` draws the noise of the whole
batch and keeps this rank's rows, so that N processes compute what one
process computes. Outside a sharded batch both are the plain operations.
"""
import contextlib
import contextvars
import warnings
from typing import Iterator, Optional, Protocol

import torch
import torch.distributed as dist


class Share(Protocol):
    """Rows ``start:stop`` of a global batch of ``size`` rows
    (:class:`moevae.datasets.BatchShare`)."""

    @property
    def start(self) -> int: ...

    @property
    def stop(self) -> int: ...

    @property
    def size(self) -> int: ...


# this rank's share while a training forward pass runs on it
_SHARE: "contextvars.ContextVar[Optional[Share]]" = contextvars.ContextVar(
    "moevae_batch_share", default=None)


@contextlib.contextmanager
def sharded_batch(share: Optional[Share]) -> Iterator[None]:
    """Mark the block as a forward pass over this rank's ``share`` of a
    global batch (None: the whole batch is here)."""
    token = _SHARE.set(share)
    try:
        yield
    finally:
        _SHARE.reset(token)


def batch_sum(values: torch.Tensor) -> torch.Tensor:
    """``values.sum(dim=0)`` over the whole (global) batch.

    values: (B_local, ...) on this rank. Inside :func:`sharded_batch` with
    a process group, the per-rank sums are all-reduced by
    ``torch.distributed.nn.functional.all_reduce``, whose backward pass
    all-reduces the gradients too; elsewhere it is the plain sum.
    """
    total = values.sum(dim=0)
    if (_SHARE.get() is not None and dist.is_available() and
            dist.is_initialized() and dist.get_world_size() > 1):
        from torch.distributed.nn.functional import all_reduce
        with warnings.catch_warnings():  # its successor has no autograd
            warnings.filterwarnings("ignore", ".*is deprecated",
                                    FutureWarning)
            warnings.filterwarnings("ignore", ".*is deprecated",
                                    DeprecationWarning)
            warnings.filterwarnings("ignore", ".*is deprecated",
                                    UserWarning)
            total = all_reduce(total)
    return total


def batch_noise(batch_axis: int, *shape: int, like: torch.Tensor
                ) -> torch.Tensor:
    """N(0, 1) noise of ``shape`` (``shape[batch_axis]`` = this rank's
    rows), drawn as for the whole global batch and cut to this rank's rows:
    with the same RNG state on every rank (the same seed), N processes draw
    the very numbers one process draws."""
    share = _SHARE.get()
    if share is None:
        return torch.randn(*shape, dtype=like.dtype, device=like.device)
    start, stop, size = share.start, share.stop, share.size
    full = list(shape)
    full[batch_axis] = size
    noise = torch.randn(*full, dtype=like.dtype, device=like.device)
    return noise.narrow(batch_axis, start, stop - start)
