"""How the start partition's cost grows with the number of images.

Times ``moevae.clustering.partition.embedding_partition`` (PCA 50 + UMAP + Gaussian
mixture, one process) on the first N images of a shuffled MNIST for each
N (default 10,000, 35,000 and 70,000: all of ``--datasetdir``), scores
each partition against the labels (ACC, Hungarian matching), and ends with
the ratios that say whether the cost is linear: seconds per 1,000 images
at N over the same at the smallest N, measured in the same run (1.0 is
exactly linear). ``--method tsne`` times the first release's start.
A warm-up run on 5,000 images first compiles umap-learn's numba code.

    .venv/bin/python benchmarks/bench_partition.py --datasetdir DIR
        [--sizes 10000 35000 70000] [--method umap|tsne] [--seed 0]
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

from moevae.clustering.partition import METHODS, embedding_partition
from moevae.clustering.scores import clustering_accuracy
from moevae.datasets import fetch_minst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasetdir", default="~/.cache/moevae/mnist")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[10000, 35000, 70000])
    parser.add_argument("--method", choices=METHODS, default="umap")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fetch_minst(args.datasetdir, download=False)
    images = np.load(data.input_path, mmap_mode="r")
    labels = pd.read_csv(data.metadata_path, sep="\t")["label"].to_numpy()
    order = np.random.default_rng(args.seed).permutation(len(images))
    sizes = sorted(min(size, len(images)) for size in args.sizes)
    embedding_partition(images[np.sort(order[:5000])], seed=args.seed,
                        method=args.method)  # warm-up: numba compiles
    per_thousand = {}
    for size in sizes:
        rows = np.sort(order[:size])
        chosen = np.asarray(images[rows])
        started = time.perf_counter()
        partition = embedding_partition(chosen, seed=args.seed,
                                        method=args.method)
        seconds = time.perf_counter() - started
        per_thousand[size] = seconds * 1000 / size
        print(f"{args.method} {size} images: {seconds:.1f} s "
              f"({per_thousand[size]:.2f} s per 1000), ACC "
              f"{clustering_accuracy(labels[rows], partition):.4f}",
              flush=True)
    base = per_thousand[sizes[0]]
    print(f"RATIOS seconds per 1000 images vs {sizes[0]}: " + ", ".join(
        f"{size}: {value / base:.2f}" for size, value in per_thousand.items()))


if __name__ == "__main__":
    main()
