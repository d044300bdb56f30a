"""Scaling under torchrun: samples/s with 1, 2, ... processes.

Runs ``moevae train`` (the seed configuration, no board) under
``torchrun --standalone --nproc_per_node N`` for each N, one thread per
process on the CPU (or one GPU per process with ``--device cuda``), and
prints the epoch speed (the median of the timed epochs, all processes
together) and the scaling efficiency, speed(N) / (N * speed(1)), measured
in the same run.

    .venv/bin/python benchmarks/bench_distributed.py [--nproc 1 2]
        [--epochs 3] [--batch-size 100] [--datasetdir DIR] [--device cpu]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SPEED = re.compile(r"epoch (\d+)/\d+: .*, ([\d.]+) samples/s")


def speed(nproc: int, args, folder: Path) -> float:
    """Median samples/s over the epochs after the first (warm-up)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(nproc), "-m", "moevae", "train",
               "--epochs", str(args.epochs), "--batch-size",
               str(args.batch_size), "--board", "off", "--device",
               args.device, "--run-dir", str(folder / f"run{nproc}"),
               "--seed", "0"]
    if args.device == "cpu":
        command += ["--threads", "1"]
    if args.datasetdir:
        command += ["--datasetdir", args.datasetdir]
    done = subprocess.run(command, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    if done.returncode != 0:
        sys.exit(f"bench_distributed: {nproc} process(es) failed:\n"
                 f"{done.stderr[-2000:]}")
    speeds = [float(s) for epoch, s in SPEED.findall(done.stderr)
              if int(epoch) > 1]
    return statistics.median(speeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--datasetdir", help="MNIST folder (default: "
                        "moevae's, the shipped sample offline)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        speeds = {n: speed(n, args, Path(folder)) for n in args.nproc}
    base = speeds[min(speeds)] / min(speeds)
    print(f"device {args.device}, global batch {args.batch_size}, "
          f"{args.epochs} epochs (first not timed)")
    print("processes  samples/s  efficiency")
    for n, value in speeds.items():
        print(f"{n:9d}  {value:9.0f}  {value / (n * base):10.2f}")


if __name__ == "__main__":
    main()
