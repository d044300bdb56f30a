"""Numeric precision of training: fp32, TF32 matmuls or bf16 autocast.

Each setting is checked with a one-line error; the process-wide TF32
flags are set only while training runs, and put back after.
"""
import contextlib
import warnings
from typing import Iterator

import torch

from ..errors import bad_value
from .names import PRECISIONS


@contextlib.contextmanager
def precision_flags(precision: str, device: torch.device) -> Iterator[None]:
    """TF32 matmuls while training with precision='tf32'; the process's
    flags are put back when the block ends (they are process-wide)."""
    if precision != "tf32":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved



def check_precision(precision: str, device: torch.device) -> None:
    """Refuse an unknown precision; say when one cannot help here."""
    if precision not in PRECISIONS:
        raise bad_value("precision", precision, f"one of {PRECISIONS}")
    if precision == "tf32" and device.type != "cuda":
        warnings.warn("precision='tf32' only changes CUDA matmuls; "
                      "training in float32 on the CPU", RuntimeWarning,
                      stacklevel=3)
    if (precision == "bf16" and device.type == "cpu" and
            not torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        warnings.warn("precision='bf16': this CPU has no bfloat16 matrix "
                      "instructions, autocast will be slower than float32",
                      RuntimeWarning, stacklevel=3)



def autocast(precision: str, device: torch.device):
    """bfloat16 autocast when precision='bf16', else nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def full_precision(tensor: torch.Tensor) -> torch.Tensor:
    """Half-precision (autocast) tensors as float32; others unchanged."""
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.float()
    return tensor
