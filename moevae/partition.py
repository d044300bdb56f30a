"""An initial partition of the images, found without labels.

PCA to 50 dimensions, a 2-D t-SNE embedding, then a 10-component Gaussian
mixture (scikit-learn throughout). It is only a starting point: the
``tsne-warm-start`` recipe warms the manager and the experts up on it, then
trains the seed's mixture-of-experts objective from there.
"""
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .datasets.sources import read_cached_table
from .fileio import atomic_save

logger = logging.getLogger("moevae")
PCA_DIMENSIONS = 50


def embedding_partition(images: np.ndarray, clusters: int = 10,
                        seed: int = 0) -> np.ndarray:
    """One cluster index per image (rows flattened), deterministic in seed."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.mixture import GaussianMixture
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    reduced = PCA(min(PCA_DIMENSIONS, *flat.shape), random_state=seed
                  ).fit_transform(flat)
    embedded = TSNE(2, perplexity=min(30.0, (len(flat) - 1) / 3),
                    init="pca", random_state=seed, n_jobs=-1
                    ).fit_transform(reduced)
    # 10 starts: the most likely fit avoids merged or split digits
    mixture = GaussianMixture(clusters, n_init=10, random_state=seed)
    return mixture.fit(embedded).predict(embedded)


def partition_table(metadata_path: str, images: np.ndarray, folder: Path,
                    seed: int, clusters: int = 10) -> Path:
    """The metadata table plus a ``partition`` column, cached in folder."""
    target = Path(folder) / "partition.tsv"
    if target.is_file():
        read_cached_table(target, len(images), "partition", 0, clusters - 1,
                          "delete it to compute the partition again")
        logger.info("initial partition: reusing %s", target)
        return target
    logger.info("initial partition: PCA + t-SNE + Gaussian mixture on %d "
                "images (about a minute on 2 cores)", len(images))
    table = pd.read_csv(metadata_path, sep="\t")
    table["partition"] = embedding_partition(images, clusters, seed)
    atomic_save(target, lambda handle: handle.write(
        table.to_csv(sep="\t", index=False).encode()))
    return target

