"""The training device: 'auto', 'cpu', 'cuda' or 'cuda:N', checked in one
line; CUDA asked for on a machine without a GPU warns once and gives the
CPU (pynet raises)."""
import warnings
from typing import Union

import torch

from ..errors import bad_value

_warned_no_cuda = False


def resolve_device(device: Union[str, torch.device, None],
                   use_cuda: bool) -> torch.device:
    """The training device; CUDA asked for but absent -> warn once, CPU.

    Raises MoEVAEValueError for an unknown name or a GPU index that is not
    visible here.
    """
    global _warned_no_cuda
    if device is None:
        device = "cuda" if use_cuda else "cpu"
    if (isinstance(device, str) and device not in ("auto", "cpu", "cuda")
            and not device.startswith("cuda:")):
        raise bad_value("device", device, "'auto', 'cpu', 'cuda' or "
                        "'cuda:N'")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise bad_value("device", device, "'auto', 'cpu', 'cuda' or "
                        "'cuda:N'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        if not _warned_no_cuda:
            warnings.warn("CUDA was requested but no GPU is available: "
                          "training on the CPU", RuntimeWarning, stacklevel=3)
            _warned_no_cuda = True
        return torch.device("cpu")
    if (device.type == "cuda" and (device.index or 0) >=
            torch.cuda.device_count()):
        count = torch.cuda.device_count()
        raise bad_value("device", str(device), f"cuda:0 to cuda:{count - 1} "
                        f"({count} GPU(s) visible here)")
    return device


