"""How fast the command line answers --help and refuses bad input.

Runs each command below in a fresh interpreter (``python -m moevae ...``)
``--rounds`` times and prints its median wall time, then ends with the
ratios to the floor of a bare ``python -c pass`` measured in the same run,
and the verdict against the target: every --help and argument error under
1 s (an exit status other than 0 and 2 is a failure too).

    .venv/bin/python benchmarks/bench_cli.py [--rounds 5] [--limit 1.0]
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["--help"], ["train", "--help"], ["evaluate", "--help"],
    ["sample", "--help"], ["predict", "--help"], ["replay", "--help"],
    ["board", "--help"],
    ["train", "--epcohs", "2"], ["train", "--lr", "x"],
    ["train", "--resume", "{run}", "--epochs", "1"],
    ["train", "--resume", "{run}", "--seed", "3"],
    ["evaluate", "runs/nope"], ["sample", "runs/nope"],
    ["sample", "{run}", "--out", "{run}"],
    ["predict", "{run}", "nope.npy"], ["replay", "nope.jsonl"],
]


def fake_run(folder: Path) -> Path:
    """A run folder that trained 2 epochs, as far as names tell."""
    checkpoints = folder / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "model_0_epoch_1.pth").write_bytes(b"")
    (folder / "config.json").write_text('{"epochs": 2, "seed": 0}')
    return folder


def timed(argv, rounds: int):
    """(median seconds, exit status) of ``argv`` over ``rounds`` runs."""
    times, status = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        status = subprocess.run(argv, capture_output=True).returncode
        times.append(time.perf_counter() - started)
    return statistics.median(times), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=float, default=1.0,
                        help="seconds each command must answer within")
    args = parser.parse_args()
    floor, _ = timed([sys.executable, "-c", "pass"], args.rounds)
    print(f"{args.rounds} rounds; floor (python -c pass) {floor:.3f} s")
    slow = []
    with tempfile.TemporaryDirectory() as scratch:
        run = fake_run(Path(scratch) / "run")
        for command in COMMANDS:
            command = [part.replace("{run}", str(run)) for part in command]
            seconds, status = timed([sys.executable, "-m", "moevae",
                                     *command], args.rounds)
            shown = " ".join(command).replace(str(run), "RUN")
            print(f"moevae {shown}: {seconds:.3f} s, exit {status}, "
                  f"RATIO {seconds / floor:.1f}x the floor")
            if seconds >= args.limit or status not in (0, 2):
                slow.append(shown)
    print(f"verdict: {'OK' if not slow else 'SLOW: ' + '; '.join(slow)} "
          f"(every --help and refusal under {args.limit:g} s)")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
