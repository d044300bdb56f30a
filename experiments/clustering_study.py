"""How well does a recipe cluster MNIST? Several seeds, mean and spread.

For each recipe and seed: `moevae train` (fold 0: 90% of the images for
training, no labels used), then the manager's most probable expert for
every image scored against the labels (ACC by Hungarian matching, NMI,
ARI), and, for a recipe that starts from a partition, that partition's own
ACC. Prints one line per run, then the README's table in Markdown: start
ACC, final ACC/NMI/ARI mean +- std over the seeds, the smallest expert
share of any run, the runs with an expert under 2%, the median seconds
per run (the median: a shared machine's speed drifts).

The published 70,000-digit protocol: all of MNIST (train + test) in
--datasetdir, e.g. the four IDX files of ../shared/data/mnist. Without
--datasetdir: moevae's data (the shipped 10,000-digit sample offline).
A run whose folder already holds its result.json is not trained again
(delete the folder to redo it), and is refused if it was made with other
data, epochs or flags; a run folder without one (a study stopped mid-run)
is resumed.

    python experiments/clustering_study.py --recipes pynet-example umap-warm-start
        --seeds 5 --epochs 20 [--datasetdir DIR] [--folder runs/study]
        [--out results.json] [--rst docs/guide/tables/NAME.rst]
        [-- more `moevae train` flags]
"""
import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from moevae.cli import train as train_cli
from moevae.cli.options import positive_int
from moevae.clustering.evaluation import evaluate
from moevae.clustering.recipes import RECIPES, recipe_name
from moevae.clustering.scores import clustering_accuracy
from moevae.datasets import fetch_minst
from moevae.fileio import write_json
from moevae.training.loading import load_model

# flags the study sets itself, per run
OWN_FLAGS = ("--recipe", "--seed", "--epochs", "--board", "--datasetdir",
             "--run-dir", "--keep", "--resume", "--fold", "--name",
             "--checkpointdir")
SCORES = ("acc", "nmi", "ari", "usage", "collapsed", "seconds", "start_acc")


def run(recipe: str, seed: int, args, images, labels) -> dict:
    """Train one run (or read its result.json) and score it.

    A run folder without result.json (a study stopped mid-run) is resumed.
    """
    run_dir = args.folder / f"{recipe}-seed{seed}"
    result_path = run_dir / "result.json"
    setup = {"recipe": recipe, "seed": seed, "epochs": args.epochs,
             "images": len(labels), "extra": list(args.extra),
             "datasetdir": str(Path(args.datasetdir).expanduser().resolve())}
    if result_path.is_file():
        return reused(result_path, setup)
    started = time.perf_counter()
    flags = ["--recipe", recipe, "--seed", str(seed)]
    if (run_dir / "config.json").is_file():
        flags = ["--resume", str(run_dir)]
        print(f"{recipe} seed {seed}: resuming {run_dir}", flush=True)
    code = train_cli.main([*flags, "--epochs", str(args.epochs), "--board",
                           "off", "--datasetdir", str(args.datasetdir),
                           "--run-dir", str(run_dir), "--keep", "1",
                           *args.extra])
    if code != 0:
        raise SystemExit(f"clustering_study: {recipe} seed {seed}: "
                         f"moevae train exited {code}")
    seconds = time.perf_counter() - started
    checkpoint = (run_dir / "checkpoints" /
        f"model_0_epoch_{args.epochs - 1}.pth")
    scores = evaluate(load_model(checkpoint), images, labels)
    result = dict(scores.as_dict(), **setup, seconds=seconds, start_acc=None)
    partition = run_dir / "partition.tsv"
    if partition.is_file():
        start = pd.read_csv(partition, sep="\t")["partition"].to_numpy()
        result["start_acc"] = clustering_accuracy(labels, start)
    write_json(result_path, result)
    return result


def reused(path: Path, setup: dict) -> dict:
    """A finished run's result, if it was made with this very setup."""
    try:
        result = json.loads(path.read_text())
        missing = [key for key in SCORES if key not in result]
    except (OSError, ValueError, TypeError) as error:
        result, missing = {}, [f"a readable JSON object ({error})"]
    if missing:
        raise SystemExit(f"clustering_study: {path}: no {missing[0]}; "
                         "delete its folder to train the run again")
    for key, value in setup.items():
        if result.get(key) != value:
            raise SystemExit(
                f"clustering_study: {path} is a run with {key}="
                f"{result.get(key)!r}, not {value!r}: delete its folder or "
                "choose another --folder")
    return result


def mean_std(runs, name: str) -> str:
    values = [run[name] for run in runs]
    return f"{np.mean(values):.3f} +- {np.std(values):.3f}"


HEADER = ("recipe", "start partition ACC", "ACC", "NMI", "ARI",
          "smallest expert share", "runs with an expert under 2%",
          "time per run (median)")


def caption(results: dict, images: int, epochs: int) -> str:
    return (f"{images:,} images, {epochs} epochs, seeds "
            f"0-{max(len(r) for r in results.values()) - 1}, on "
            f"{machine()}:")


def rows(results: dict) -> list:
    """One row of cells (text) per recipe, in HEADER's order."""
    lines = []
    for recipe, runs in results.items():
        start = (mean_std(runs, "start_acc") if runs[0]["start_acc"]
            is not None else "n/a")  # (a lone "-" is a list in RST)
        smallest = min(min(run["usage"]) for run in runs)
        collapsed = sum(run["collapsed"] > 0 for run in runs)
        lines.append([f"`{recipe}`", start, mean_std(runs, "acc"),
                      mean_std(runs, "nmi"), mean_std(runs, "ari"),
                      f"{smallest:.1%}", f"{collapsed} of {len(runs)}",
                      f"{np.median([run['seconds'] for run in runs]):.0f} s"])
    return lines


def table(results: dict, images: int, epochs: int) -> str:
    """The README's table, in Markdown."""
    lines = [caption(results, images, epochs), "",
             "| " + " | ".join(HEADER) + " |",
             "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines)


def rst_table(results: dict, images: int, epochs: int) -> str:
    """The same table as the documentation includes it (a list-table)."""
    lines = [caption(results, images, epochs), "", ".. list-table::",
             "   :header-rows: 1", ""]
    for row in [list(HEADER)] + rows(results):
        row = [cell.replace("`", "``") for cell in row]
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def machine() -> str:
    return (f"{os.cpu_count()} CPU cores ({platform.machine()}), "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", type=recipe_name,
                        choices=sorted(RECIPES),
                        default=["pynet-example"])
    parser.add_argument("--seeds", type=positive_int, default=5)
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--datasetdir", default="~/.cache/moevae/mnist")
    parser.add_argument("--folder", type=Path, default=Path("runs/study"))
    parser.add_argument("--out", type=Path, help="every run's scores, JSON")
    parser.add_argument("--rst", type=Path, help="the table as the "
                        "documentation includes it (docs/guide/tables/)")
    parser.add_argument("extra", nargs="*", help="more `moevae train` flags")
    args = parser.parse_args()
    for flag, path in (("--out", args.out), ("--rst", args.rst)):
        if path is not None and (path.is_dir() or
                                 not path.parent.is_dir()):
            parser.error(f"{flag}: {str(path)!r}: expected a file in an "
                         "existing folder (written when the study ends)")
    for flag in args.extra:
        if flag.split("=")[0] in OWN_FLAGS:
            parser.error(f"{flag}: the study sets {flag.split('=')[0]} "
                         f"itself (its own options: {', '.join(OWN_FLAGS)})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fetch_minst(args.datasetdir)
    images = np.load(data.input_path)
    labels = pd.read_csv(data.metadata_path, sep="\t")["label"].to_numpy()
    results = {}
    for recipe in args.recipes:
        results[recipe] = []
        for seed in range(args.seeds):
            result = run(recipe, seed, args, images, labels)
            results[recipe].append(result)
            start = ("" if result["start_acc"] is None else
                f"start ACC {result['start_acc']:.3f}, ")
            print(f"{recipe} seed {seed}: {start}ACC {result['acc']:.3f} "
                  f"NMI {result['nmi']:.3f} ARI {result['ari']:.3f}, "
                  f"smallest expert {min(result['usage']):.1%} "
                  f"({result['seconds']:.0f} s)", flush=True)
    print(table(results, len(labels), args.epochs))
    if args.out:
        args.out.write_text(json.dumps({"epochs": args.epochs,
                                        "images": len(labels),
                                        "runs": results}, indent=2))
    if args.rst:
        args.rst.write_text(rst_table(results, len(labels), args.epochs))


if __name__ == "__main__":
    main()
