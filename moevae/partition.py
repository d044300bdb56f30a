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

from .errors import DataError
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
        check_partition_table(target, len(images), clusters)
        logger.info("initial partition: reusing %s", target)
        return target
    logger.info("initial partition: PCA + t-SNE + Gaussian mixture on %d "
                "images (about a minute on 2 cores)", len(images))
    table = pd.read_csv(metadata_path, sep="\t")
    table["partition"] = embedding_partition(images, clusters, seed)
    atomic_save(target, lambda handle: handle.write(
        table.to_csv(sep="\t", index=False).encode()))
    return target


def check_partition_table(path: Path, count: int, clusters: int) -> None:
    """Raise DataError (one line, naming ``path``) unless the cached table
    has ``count`` rows and a ``partition`` column of integers in
    [0, clusters)."""
    hint = "delete it to compute the partition again"
    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error) else \
            type(error).__name__
        raise DataError(f"{path}: not a readable tab-separated table "
                        f"({reason}); {hint}") from None
    if "partition" not in table or len(table) != count:
        raise DataError(f"{path}: {len(table)} rows, columns "
                        f"{list(table.columns)[:5]}; expected {count} rows "
                        f"with a 'partition' column; {hint}")
    partition = table["partition"]
    if not pd.api.types.is_integer_dtype(partition) or \
            not partition.between(0, clusters - 1).all():
        raise DataError(f"{path}: partition values like "
                        f"{partition.head(3).tolist()}, expected integers "
                        f"in [0, {clusters}); {hint}")
