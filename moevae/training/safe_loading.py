"""Weights-only checkpoint loading: what may be unpickled, what to say if not.

``torch.load(weights_only=True)`` refuses every pickled global it does not
know. numpy scalars, arrays and dtypes are data, not code, and pynet-era
checkpoints hold them (an ``np.int64`` epoch): :func:`numpy_globals` lists
them for a scoped ``torch.serialization.safe_globals`` context. Anything
else (a whole pickled model) gets :func:`refused_pickle`'s one line instead
of torch's multi-line hint with terminal escape codes.
"""
import re
from pathlib import Path
from typing import Any, List

import numpy as np
import torch

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def numpy_globals() -> List[Any]:
    """The numpy callables and types a checkpoint's numbers and arrays use."""
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25
    dtype_classes = [getattr(dtypes, name)
                     for name in getattr(dtypes, "__all__", [])]
    return [np.int64(0).__reduce__()[0], np.ndarray(0).__reduce__()[0],
            np.ndarray, np.dtype, *dtype_classes]


def first_line(error: BaseException) -> str:
    """An error's first line, without terminal escape codes."""
    text = ANSI_ESCAPE.sub("", str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def refused_pickle(path: Path, error: BaseException) -> str:
    """One line for a file a weights-only load refuses: what and what to do."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # a legacy (non-zip) file: the name torch reported
        names = UNSUPPORTED_GLOBAL.findall(str(error))
    names = [name for name in names if not name.startswith("numpy.")]
    if not names:
        return (f"{path}: unreadable checkpoint ({type(error).__name__}: "
                f"{first_line(error)})")
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return (f"{path}: holds pickled Python objects ({shown}), e.g. a whole "
            "model saved with torch.save(model), not only weights; loading "
            "them could run code from the file. If you trust it, convert it "
            f"once: torch.save(torch.load({str(path)!r}, weights_only=False)"
            ".state_dict(), 'weights.pth') and load weights.pth")
