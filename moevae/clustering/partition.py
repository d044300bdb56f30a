"""An initial partition of the images, found without labels.

Two embeddings, then a 10-component Gaussian mixture (scikit-learn) on it:

- ``"umap"`` (the default): PCA to 50 dimensions, then a 2-D UMAP
  embedding (umap-learn: approximate nearest neighbours by NN-descent and a
  layout whose cost grows linearly with the number of images; the recipe
  of N2D, McConville et al. 2019, on PCA instead of an autoencoder). About
  50 s for the 70,000 MNIST digits on one core, half of it compiling
  umap-learn's code; ~0.97 ACC by itself.
- ``"tsne"``: PCA 50 + scikit-learn's Barnes-Hut t-SNE (its cost grows
  faster than linearly: ~1 minute for
  10,000 digits, 11-15 minutes for 70,000 on 2 cores).

Both are deterministic for a seed (umap-learn then runs on one thread).

It is only a starting point: the warm-start recipes warm the manager and
the experts up on it, then train a mixture-of-experts objective from there.
"""
import logging
import numbers
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.sources import read_cached_table
from ..errors import bad_value
from ..fileio import atomic_save
from .choices import METHODS

logger = logging.getLogger("moevae")
PCA_DIMENSIONS = 50
UMAP_NEIGHBOURS = 15


def embedding_partition(images: np.ndarray, clusters: int = 10,
                        seed: int = 0, method: str = "umap",
                        progress: bool = False) -> np.ndarray:
    """One cluster index per image, deterministic in ``seed``; no labels.

    images: (N, ...) array, any float or integer dtype, flattened per row.
    Returns an (N,) int64 array of values in [0, clusters).
    Raises MoEVAEValueError for an unknown ``method``, fewer than
    ``clusters`` + 2 images, or NaN/infinite pixels.
    """
    if method not in METHODS:
        raise bad_value("partition method", method, f"one of {METHODS}")
    if not isinstance(clusters, numbers.Integral) or clusters < 1:
        raise bad_value("clusters", clusters, "an integer >= 1")
    if np.ndim(images) < 2:
        raise bad_value("images", f"an array of shape {np.shape(images)}",
                        "(N, ...) images, one per row")
    if len(images) < clusters + 2:
        raise bad_value("number of images", len(images),
                        f"at least {clusters + 2} for {clusters} clusters")
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    if not np.isfinite(flat).all():
        raise bad_value("images", "an array with NaN or infinite values",
                        "finite pixel values")
    seed = seed % 2 ** 32  # scikit-learn's and umap-learn's seed range
    reduced = PCA(min(PCA_DIMENSIONS, *flat.shape), random_state=seed
                  ).fit_transform(flat)
    if method == "umap":
        embedded = _umap(reduced, seed, progress)
    else:
        from sklearn.manifold import TSNE
        embedded = TSNE(2, perplexity=min(30.0, (len(flat) - 1) / 3),
                        init="pca", random_state=seed, n_jobs=-1
                        ).fit_transform(reduced)
    # 10 starts: the most likely fit avoids merged or split digits
    mixture = GaussianMixture(clusters, n_init=10, random_state=seed)
    return mixture.fit(embedded).predict(embedded).astype(np.int64)


def _umap(reduced: np.ndarray, seed: int, progress: bool) -> np.ndarray:
    """(N, 2) UMAP layout; with a seed umap-learn runs on one thread."""
    import warnings

    import umap
    with warnings.catch_warnings():  # "n_jobs overridden by random_state"
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
        reducer = umap.UMAP(
            n_neighbors=min(UMAP_NEIGHBOURS, len(reduced) - 1),
            min_dist=0.0, n_components=2, random_state=seed,
            tqdm_kwds={"disable": None if progress else True,  # TTY only
                       "desc": "initial partition: UMAP layout",
                       "unit": "epoch", "leave": False, "mininterval": 0.5,
                       "dynamic_ncols": True})
        return reducer.fit_transform(reduced)


def expected_seconds(method: str, images: int) -> float:
    """The partition's cost on 2 cores, from the README's measurements.

    UMAP: ~25 s to compile umap-learn's numba code once per process, then
    ~0.4 s per 1,000 images (benchmarks/bench_partition.py). t-SNE: ~55 s
    for 10,000 images, growing as N^1.4 (~14 minutes for 70,000).
    """
    if method == "umap":
        return 25 + 0.4 * images / 1000
    return 55 * (images / 10000) ** 1.4


def partition_table(metadata_path: str, images: np.ndarray, folder: Path,
                    seed: int, clusters: int = 10,
                    method: str = "umap") -> Path:
    """The metadata table plus a ``partition`` column, cached in folder."""
    target = Path(folder) / "partition.tsv"
    if target.exists() and not target.is_file():
        raise bad_value("partition file", str(target),
                        "a file (or nothing, to compute it): move it away")
    if target.is_file():
        table = read_cached_table(target, len(images), "partition", 0,
                                  clusters - 1,
                                  "delete it to compute the partition again")
        used = table["partition"].nunique()
        if used < clusters:  # an expert would start with no images
            logger.warning("initial partition: %s uses %d of the %d clusters"
                           " (was it edited?); reusing it as it is", target,
                           used, clusters)
        logger.info("initial partition: reusing %s", target)
        return target
    name = {"umap": "UMAP", "tsne": "t-SNE"}.get(method, method)
    logger.info("initial partition: PCA + %s + Gaussian mixture on %d "
                "images (about %.0f s on 2 cores)", name, len(images),
                expected_seconds(method, len(images)))
    started = time.perf_counter()
    Path(folder).mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(metadata_path, sep="\t")
    table["partition"] = embedding_partition(images, clusters, seed, method,
                                             progress=True)
    atomic_save(target, lambda handle: handle.write(
        table.to_csv(sep="\t", index=False).encode()))
    logger.info("initial partition: done in %.0f s, cluster sizes %s",
                time.perf_counter() - started,
                np.bincount(table["partition"], minlength=clusters).tolist())
    return target
