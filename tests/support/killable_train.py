"""`moevae train` for fault-injection tests (run as a script).

With KILL_IN_CHECKPOINT=N in the environment, the process SIGKILLs itself
halfway through writing its N-th checkpoint; with KILL_AT_NAME=NAME, through
writing the checkpoint of that file name. KILL_DELAY_S waits that long
first (the board's sender thread catches up with what was drawn).
"""
import os
import signal
import sys
import time

import moevae.training.checkpoint as checkpoint
from moevae.cli import main

KILL_AT = int(os.environ.get("KILL_IN_CHECKPOINT", "0"))
KILL_AT_NAME = os.environ.get("KILL_AT_NAME")
KILL_DELAY_S = float(os.environ.get("KILL_DELAY_S", "0"))
original_save = checkpoint.atomic_save
writes = []


def dying_save(path, writer):
    writes.append(path)
    if len(writes) != KILL_AT and os.path.basename(path) != KILL_AT_NAME:
        return original_save(path, writer)
    time.sleep(KILL_DELAY_S)

    def half_then_die(handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        handle.flush()
        os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return original_save(path, half_then_die)


checkpoint.atomic_save = dying_save
sys.exit(main(["train", *sys.argv[1:]]))
