"""Board overhead: epoch time with the live board on vs off, same run.

Starts an offline Visdom server on a free port of 127.0.0.1, then trains
the fused model with every board panel (loss curves, expert samples,
reconstructions, expert usage) and without a board, alternating epochs so
that machine drift hits both alike; an epoch's time includes its
observers. Target: overhead under 5%.
Usage: python benchmarks/bench_board.py [--datasetdir DIR] [--epochs N]
"""
import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import requests
import torch

from moevae.datasets import DataManager, fetch_minst
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager
from moevae.plotting import Board, ExpertUsage, Reconstructions, sampling, update_board
from moevae.transforms import flatten


def start_server(folder):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moevae.server", "--port", str(port),
         "--env-path", folder], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process, port
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("the Visdom server did not start")


def interface_for(data, board):
    torch.manual_seed(0)
    interface = DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                      optimizer_name="Adam",
                                      learning_rate=1e-3)
    manager = DataManager(data.input_path, data.metadata_path,
                          stratify_label="label", number_of_folds=10,
                          batch_size=100, test_size=0,
                          input_transforms=[flatten], add_input=True)
    if board is not None:
        interface.board = board
        for observer in (update_board, sampling, Reconstructions(
                torch.tensor(manager.inputs[:8]).reshape(8, -1))):
            interface.add_observer("after_epoch", observer)
        ExpertUsage().attach(interface)
    return interface, manager, []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasetdir", default="~/.cache/moevae/mnist")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fetch_minst(args.datasetdir)
    with tempfile.TemporaryDirectory() as folder:
        process, port = start_server(folder)
        try:
            board = Board(port=port, host="http://127.0.0.1", env="bench",
                          start_server=False, log_path=f"{folder}/log.jsonl")
            runs = {"on": interface_for(data, board),
                    "off": interface_for(data, None)}
            for _ in range(args.epochs):
                for interface, manager, times in runs.values():
                    started = time.perf_counter()  # observers included
                    interface.training(manager, nb_epochs=1, fold_index=0,
                                       with_validation=False)
                    times.append(time.perf_counter() - started)
            sent = board.flush(30)
        finally:
            process.terminate()
    on = statistics.median(runs["on"][2])
    off = statistics.median(runs["off"][2])
    print(f"epoch time (median of {args.epochs}): board off {off:.3f} s, "
          f"board on {on:.3f} s; all events delivered: {sent}")
    verdict = "OK" if on / off - 1 < 0.05 else "ABOVE"
    print(f"RATIO board on/off {on / off:.3f} (overhead "
          f"{(on / off - 1):+.1%}, {verdict} the 5% target)")


if __name__ == "__main__":
    main()
