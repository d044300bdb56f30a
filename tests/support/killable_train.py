"""`moevae train` for fault-injection tests (run as a script).

With KILL_IN_CHECKPOINT=N in the environment, the process SIGKILLs itself
halfway through writing its N-th checkpoint.
"""
import os
import signal
import sys

import moevae.training.checkpoint as checkpoint
from moevae.cli import main

KILL_AT = int(os.environ.get("KILL_IN_CHECKPOINT", "0"))
original_save = checkpoint.atomic_save
writes = []


def dying_save(path, writer):
    writes.append(path)
    if len(writes) != KILL_AT:
        return original_save(path, writer)

    def half_then_die(handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        handle.flush()
        os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return original_save(path, half_then_die)


checkpoint.atomic_save = dying_save
sys.exit(main(["train", *sys.argv[1:]]))
