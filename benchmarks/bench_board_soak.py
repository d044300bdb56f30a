"""Board soak: a long run's board traffic into a real server, no training.

Feeds a Board the seed's traffic for every epoch (6 loss lines with train
and validation, ``--batches`` batch-loss points, the 10 expert samples, the
run pane) as fast as the caller can, against an offline Visdom server on a
free port of 127.0.0.1. Prints, per block of epochs, the caller's time per
epoch, the sender's backlog and the server's memory; then how long the
sender takes to deliver one epoch at the start and at the end of the run
(baseline and late, measured in this run), and checks that every loss
point arrived. Targets: the caller never waits (its time per epoch stays
flat), late/early sender time per epoch stays near 1 (flat cost), every
loss point on the server.
Usage: python benchmarks/bench_board_soak.py [--epochs 1000] [--batches 90]
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

from moevae.plotting import Board
from moevae.server.launch import start_local_server

LOSSES = ("loss", "expected_expert_loss", "balancing_loss")
PROBE_EPOCHS = 10  # epochs timed one by one at the start and at the end


def start_server(folder: str):
    """A board server on a free port of 127.0.0.1: (process, port)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start_local_server("http://127.0.0.1", port, Path(folder))
    if process is None:
        raise RuntimeError("the Visdom server did not start")
    return process, port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_epoch(board: Board, epoch: int, batches: int,
              rng: np.random.Generator) -> None:
    """The seed's board traffic for one epoch."""
    values = {name: float(rng.uniform(1, 2)) for name in LOSSES}
    values.update({f"val_{name}": float(rng.uniform(1, 2))
                   for name in LOSSES})
    values.update(lr=1e-3, epoch_time=12.5, samples_per_second=800.0,
                  batch_loss=rng.uniform(1, 2, batches))
    board.update_plots(values, epoch)
    board.viewer.images(rng.uniform(0, 255, (10, 1, 140, 140)),
                        win="sampling", opts={"title": "sampling"})


def loss_points(port: int, env: str) -> dict:
    answer = requests.post(f"http://127.0.0.1:{port}/win_data",
                           data=json.dumps({"eid": env, "win": None}),
                           timeout=60).json()
    window = (json.loads(answer["loss"]) if isinstance(answer["loss"], str)
        else answer["loss"])
    return {trace["name"]: len(trace["x"])
            for trace in window["content"]["data"]}


def sender_time(board: Board, epoch: int, batches: int, rng) -> float:
    """Seconds for the sender to deliver one epoch (queue empty first)."""
    start = time.perf_counter()
    one_epoch(board, epoch, batches, rng)
    if not board.flush(120):
        raise RuntimeError("the sender did not deliver an epoch in 120 s")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=90)
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        process, port = start_server(folder)
        try:
            board = Board(port=port, host="http://127.0.0.1", env="soak",
                          start_server=False,
                          log_path=Path(folder) / "board.jsonl")
            memory = [rss_mib(process.pid)]
            early = [sender_time(board, epoch, args.batches, rng)
                     for epoch in range(PROBE_EPOCHS)]
            last = args.epochs - PROBE_EPOCHS
            caller, block_start = [], time.perf_counter()
            print(f"{args.epochs} epochs, {args.batches} batch points each; "
                  f"server pid {process.pid}, {memory[0]:.0f} MiB")
            for epoch in range(PROBE_EPOCHS, last):
                start = time.perf_counter()
                one_epoch(board, epoch, args.batches, rng)
                caller.append(time.perf_counter() - start)
                if (epoch + 1) % args.block == 0:
                    print(f"epoch {epoch + 1}: caller "
                          f"{1e3 * statistics.mean(caller[-args.block:]):.2f}"
                          f" ms/epoch (max {1e3 * max(caller):.1f}), backlog "
                          f"{board.viewer.backlog()} calls, server "
                          f"{rss_mib(process.pid):.0f} MiB, "
                          f"{time.perf_counter() - block_start:.1f} s",
                          flush=True)
                    block_start = time.perf_counter()
            start = time.perf_counter()
            delivered = board.flush(600)
            print(f"backlog delivered in {time.perf_counter() - start:.1f} s"
                  f" ({'OK' if delivered else 'NOT delivered'})")
            late = [sender_time(board, epoch, args.batches, rng)
                    for epoch in range(last, args.epochs)]
            board.close(60)
            memory.append(rss_mib(process.pid))
            points = loss_points(port, "soak")
        finally:
            process.terminate()
            process.wait(30)
    complete = points == {"train": args.epochs, "validation": args.epochs}
    print(f"loss points on the server: {points} "
          f"({'every one' if complete else 'MISSING some'})")
    print(f"server memory: {memory[0]:.0f} MiB at start, {memory[1]:.0f} "
          f"MiB at the end")
    early_ms, late_ms = (1e3 * statistics.median(t) for t in (early, late))
    first_block = statistics.mean(caller[:args.block])
    print(f"RATIOS sender time per epoch late/early "
          f"{late_ms / early_ms:.2f}x ({late_ms:.0f} / {early_ms:.0f} ms); "
          f"caller time per epoch last/first block "
          f"{statistics.mean(caller[-args.block:]) / first_block:.2f}x")
    return 0 if complete and delivered else 1


if __name__ == "__main__":
    sys.exit(main())
