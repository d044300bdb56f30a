"""
The same script under torchrun
==============================

moevae runs under PyTorch's launcher, ``torchrun``, with no code change:
the interface reads torchrun's ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``,
joins the process group (gloo on the CPU, NCCL on CUDA with one GPU per
process) and trains a ``DistributedDataParallel`` copy of the model. The
batch size stays the global batch; only rank 0 prints, draws on the board
and writes files. In a shell, from the repository root::

    .venv/bin/torchrun --standalone --nproc_per_node 2 examples/moe_vae.py

This page runs exactly that, on the build's short settings, and shows what
the two processes printed. See :doc:`/guide/distributed` for several
machines, restarts and what is and is not bit-for-bit.
"""
import os
import subprocess
import sys
from pathlib import Path

try:
    here = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs the file from its own folder
    here = Path.cwd()
example = here / "moe_vae.py"
command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node", "2", str(example)]
environment = dict(os.environ, OMP_NUM_THREADS="1")
result = subprocess.run(command, env=environment, capture_output=True,
                        text=True, timeout=300)
print(result.stdout)
print("exit status", result.returncode)
# each epoch's line, logged once (by rank 0) for the two processes
print("\n".join(line for line in result.stderr.splitlines()
                if " epoch " in line and "loss" in line))
if result.returncode:
    raise RuntimeError(result.stderr[-3000:])
