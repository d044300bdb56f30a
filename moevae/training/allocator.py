"""Keep freed CPU memory in the process, so training steps reuse it.

A CPU training step allocates and frees tensors of a few MB each (the
seed's model: ten experts' 784-pixel outputs for a batch, 3 MB, several
times a step). glibc's malloc hands blocks that large back to the kernel
on free, so the next step page-faults them in again: about 1,300 page
faults a step, and the elementwise passes over those tensors run 4-5x
slower than on reused memory. Raising glibc's mmap and trim thresholds
keeps the blocks in the heap for reuse (the process keeps at most
``HELD_BYTES`` of freed memory).

Done once, for CPU training, where the C library is glibc. Set
``MOEVAE_KEEP_FREED_MEMORY=0`` to leave malloc as it is.
"""
import ctypes
import ctypes.util
import logging
import os
import platform

logger = logging.getLogger("moevae")
ENV = "MOEVAE_KEEP_FREED_MEMORY"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_BYTES = 256 << 20  # blocks below this come from the heap
HELD_BYTES = 512 << 20  # freed heap memory kept before trimming
_state = {"done": False}


def keep_freed_memory() -> bool:
    """Tune glibc malloc for CPU training; True when it was done now."""
    if _state["done"] or os.environ.get(ENV, "1") == "0":
        return False
    _state["done"] = True
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = (libc.mallopt(M_MMAP_THRESHOLD, MMAP_BYTES) == 1 and
            libc.mallopt(M_TRIM_THRESHOLD, HELD_BYTES) == 1)
    except (OSError, AttributeError) as error:
        logger.debug("malloc tuning skipped: %s", error)
        return False
    if applied:
        logger.debug("malloc keeps freed blocks up to %d MB (%s=0 to turn "
                     "off)", MMAP_BYTES >> 20, ENV)
    else:
        logger.debug("malloc tuning refused by the C library")
    return applied
