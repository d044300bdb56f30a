"""How well does a recipe cluster MNIST? Several seeds, mean and spread.

For each seed: `moevae train` (fold 0: 90% of the images, no labels used),
then the manager's argmax on every image scored against the labels.
Prints one line per seed and a summary (mean +- std of ACC/NMI/ARI, how
many runs had an expert under 2% usage, seconds per run); writes JSON.
Usage: python experiments/clustering_study.py --recipe seed --seeds 5
       --epochs 20 [--datasetdir DIR] [--out results.json]
"""
import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from moevae.cli import train as train_cli
from moevae.datasets import fetch_minst
from moevae.evaluation import evaluate, load_model
from moevae.recipes import RECIPES


def run(recipe, seed, epochs, datasetdir, folder, extra):
    run_dir = folder / f"{recipe}-seed{seed}"
    started = time.perf_counter()
    code = train_cli.main(["--recipe", recipe, "--seed", str(seed),
                           "--epochs", str(epochs), "--board", "off",
                           "--datasetdir", str(datasetdir), "--run-dir",
                           str(run_dir), "--keep", "1", *extra])
    assert code == 0, f"training failed ({code})"
    seconds = time.perf_counter() - started
    checkpoint = run_dir / "checkpoints" / f"model_0_epoch_{epochs - 1}.pth"
    return load_model(checkpoint), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="seed")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--datasetdir", default="~/.cache/moevae/mnist")
    parser.add_argument("--folder", type=Path, default=Path("runs/study"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("extra", nargs="*", help="more `moevae train` flags")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fetch_minst(args.datasetdir)
    images = np.load(data.input_path)
    labels = pd.read_csv(data.metadata_path, sep="\t")["label"].to_numpy()
    results = []
    for seed in range(args.seeds):
        model, seconds = run(args.recipe, seed, args.epochs, args.datasetdir,
                             args.folder, args.extra)
        scores = evaluate(model, images, labels)
        results.append(dict(scores.as_dict(), seed=seed, seconds=seconds))
        print(f"seed {seed}: ACC {scores.acc:.3f} NMI {scores.nmi:.3f} ARI "
              f"{scores.ari:.3f} collapsed {scores.collapsed} "
              f"({seconds:.0f} s)", flush=True)
    summary = {name: (float(np.mean([r[name] for r in results])),
                      float(np.std([r[name] for r in results])))
               for name in ("acc", "nmi", "ari", "seconds")}
    collapsed = sum(r["collapsed"] > 0 for r in results)
    print(f"{args.recipe}, {args.epochs} epochs, {len(results)} seeds on "
          f"{len(labels)} images: " + ", ".join(
              f"{name.upper()} {mean:.3f} +- {std:.3f}"
              for name, (mean, std) in summary.items() if name != "seconds")
          + f"; runs with an expert under 2%: {collapsed}; "
          f"{summary['seconds'][0]:.0f} s per run")
    if args.out:
        args.out.write_text(json.dumps({"recipe": args.recipe,
                                        "epochs": args.epochs,
                                        "runs": results, "summary": summary},
                                       indent=2))


if __name__ == "__main__":
    main()
