"""Load and check a DataManager's arrays and metadata table.

Every problem (missing file, wrong shape or dtype, NaN, missing column,
unmapped label) becomes one :class:`DataError` line naming the bad value,
before anything reaches torch.
"""
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from ..errors import DataError, bad_type
from .rows import kept_rows

FINITE_CHECK_ROWS = 8192


@dataclass
class ArraySource:
    """The arrays a DataManager splits, with their metadata."""
    inputs: np.ndarray
    outputs: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    metadata: Optional[pd.DataFrame] = None
    stratify: Optional[np.ndarray] = None
    preset_sets: Dict[str, np.ndarray] = field(default_factory=dict)

    def sample_weights(self, indices: np.ndarray) -> np.ndarray:
        """Weights of 'weighted_random': 1 / the sample's class count.

        The classes are the ``stratify`` values of ``indices`` (one training
        fold), so every class is drawn equally often on average. pynet
        weighted by the class count itself, which draws the majority class
        even more often than 'random' does.

        Returns float64 weights, one per index (they need not sum to 1).
        """
        if self.stratify is None:
            raise DataError("sampler='weighted_random': no classes to balance;"
                            " expected a stratify_label column")
        classes = self.stratify[indices].tolist()
        counts = Counter(classes)
        return np.asarray([1 / counts[value] for value in classes],
                          dtype=np.float64)

    @classmethod
    def from_sets(cls, sets: Dict[str, Tuple],
                  label_mapping: Optional[Dict] = None,
                  continuous_labels: bool = False) -> "ArraySource":
        """Concatenate from_numpy's (inputs, outputs, labels) per set."""
        present = [(name, arrays) for name, arrays in sets.items()
                   if arrays[0] is not None]
        if not present:
            raise DataError("from_numpy: no inputs given; expected at least "
                            "one of train_inputs, validation_inputs, "
                            "test_inputs")
        parts: List[List[np.ndarray]] = [[], [], []]
        preset, start = {}, 0
        for name, arrays in present:
            arrays = _check_set(name, arrays, label_mapping,
                                continuous_labels)
            for part, array in zip(parts, arrays):
                part.append(array)
            preset[name] = np.arange(start, start + len(arrays[0]))
            start += len(arrays[0])
        inputs, outputs, labels = (
            None if any(a is None for a in part) else _concatenate(part)
            for part in parts)
        assert inputs is not None  # every present set has inputs
        return cls(inputs, outputs, labels, preset_sets=preset)


def _check_set(name: str, arrays: Tuple, label_mapping: Optional[Dict],
               continuous_labels: bool) -> Tuple:
    inputs = _check_array(f"{name}_inputs", arrays[0])
    outputs, labels = arrays[1:]
    if outputs is not None:
        outputs = _check_array(f"{name}_outputs", outputs, ndim_min=1)
        _check_length(f"{name}_outputs", outputs, len(inputs))
    if labels is not None:
        if not isinstance(labels, np.ndarray):
            raise bad_type(f"{name}_labels", labels, "a numpy array")
        labels = map_labels(f"{name}_labels", labels, label_mapping,
                            continuous_labels)
        labels = _check_array(f"{name}_labels", labels, ndim_min=1)
        _check_length(f"{name}_labels", labels, len(inputs))
    return inputs, outputs, labels


def _concatenate(arrays: List[np.ndarray]) -> np.ndarray:
    shapes = {array.shape[1:] for array in arrays}
    if len(shapes) > 1:
        raise DataError(f"from_numpy: sets of sample shapes {sorted(shapes)};"
                        " expected one shape")
    return np.concatenate(arrays)


def load_source(input_path: Any, metadata_path: Any, output_path: Any,
                labels: Optional[Union[str, List[str]]],
                label_mapping: Optional[Dict], continuous_labels: bool,
                stratify_label: Optional[str],
                custom_stratification: Optional[Dict],
                projection_labels: Optional[Dict]) -> ArraySource:
    """Read and check pynet's (.npy, .tsv[, .npy]) triple.

    Values (NaN inputs, missing or unmapped labels) are checked on the rows
    that ``projection_labels`` and ``custom_stratification`` keep only: the
    other rows are never used (their labels are set to 0).
    """
    inputs = _check_array("input_path", _load_npy("input_path", input_path),
                          finite=False)
    metadata = _load_table(metadata_path)
    _check_length("metadata_path", metadata, len(inputs))
    outputs = None
    if output_path is not None:
        outputs = _check_array("output_path",
                               _load_npy("output_path", output_path),
                               finite=False)
        _check_length("output_path", outputs, len(inputs))
    columns = _needed_columns(labels, stratify_label, custom_stratification,
                              projection_labels)
    for name, column in columns:
        if column not in metadata.columns:
            raise DataError(f"{name}={column!r}: not a column of "
                            f"{metadata_path} (columns: "
                            f"{list(metadata.columns)})")
    kept = kept_rows(metadata, projection_labels, custom_stratification)
    for name, array in (("input_path", inputs), ("output_path", outputs)):
        if array is not None:
            _check_finite(name, array, kept)
    label_values = None
    if labels is not None:
        label_values = _label_values(metadata, labels, label_mapping,
                                     continuous_labels, kept)
    stratify = None
    if stratify_label is not None:
        stratify = metadata[stratify_label].to_numpy()
        if pd.isna(stratify[kept]).any():
            raise DataError(f"stratify_label={stratify_label!r}: the column "
                            "has missing values; expected one per row")
    return ArraySource(inputs, outputs, label_values, metadata, stratify)


def _load_npy(name: str, path: Any) -> np.ndarray:
    if not isinstance(path, (str, os.PathLike)):
        raise bad_type(name, path, "the path of a .npy file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{name}={str(path)!r}: no such file") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{name}={str(path)!r}: not a readable .npy array "
                        f"({error})") from None


def _load_table(path: Any) -> pd.DataFrame:
    if not isinstance(path, (str, os.PathLike)):
        raise bad_type("metadata_path", path, "the path of a .tsv file")
    try:
        return pd.read_csv(path, sep="\t")
    except FileNotFoundError:
        raise DataError(
            f"metadata_path={str(path)!r}: no such file") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DataError(f"metadata_path={str(path)!r}: not a readable "
                        f"tab-separated table ({error})") from None


def read_cached_table(path: Path, count: int, column: str, low: int,
                      high: int, hint: str) -> pd.DataFrame:
    """A table moevae cached: ``count`` rows, ``column`` of ints in
    [low, high]. Raises DataError naming ``path``, what is wrong and
    ``hint`` (how to rebuild it) otherwise."""
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty (0 bytes: a write was cut short); "
                        f"{hint}")
    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        reason = (str(error).strip().splitlines()[-1] if str(error) else
            type(error).__name__)
        raise DataError(f"{path}: not a readable tab-separated table "
                        f"({reason}); {hint}") from None
    if column not in table or len(table) != count:
        raise DataError(f"{path}: {len(table)} rows, columns "
                        f"{list(table.columns)[:5]}; expected {count} rows "
                        f"with a {column!r} column; {hint}")
    values = table[column]
    if values.isna().any():
        raise DataError(f"{path}: no {column} value in row(s) "
                        f"{(values.index[values.isna()] + 1).tolist()[:5]} "
                        f"(of {count}); {hint}")
    if (not pd.api.types.is_integer_dtype(values) or
            not values.between(low, high).all()):
        raise DataError(f"{path}: {column} values like "
                        f"{values.head(3).tolist()}, expected integers in "
                        f"[{low}, {high}]; {hint}")
    return table


def _check_array(name: str, array: Any, ndim_min: int = 2,
                 finite: bool = True) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise bad_type(name, array, "a numpy array")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name}: dtype {array.dtype}, expected a real "
                        "numeric dtype")
    if array.ndim < ndim_min or len(array) == 0:
        raise DataError(f"{name}: shape {array.shape}, expected at least "
                        f"{ndim_min} dimensions and one sample")
    if finite:
        _check_finite(name, array, np.ones(len(array), dtype=bool))
    return array


def _check_finite(name: str, array: np.ndarray, rows: np.ndarray) -> None:
    """Raise DataError naming the first of ``rows`` holding NaN or inf."""
    if array.dtype.kind != "f":
        return
    for start in range(0, len(array), FINITE_CHECK_ROWS):
        positions = start + np.flatnonzero(
            rows[start:start + FINITE_CHECK_ROWS])
        if len(positions) == 0:
            continue
        finite = np.isfinite(array[positions]).reshape(
            len(positions), -1).all(axis=1)
        if not finite.all():
            bad = positions[int(np.argmin(finite))]
            raise DataError(f"{name}: sample {bad} holds NaN or infinite "
                            "values; expected finite data")


def _check_length(name: str, array: Any, expected: int) -> None:
    if len(array) != expected:
        raise DataError(f"{name}: {len(array)} rows, expected {expected} "
                        "(one per input sample)")


def _needed_columns(labels, stratify_label, custom_stratification,
                    projection_labels) -> List[Tuple[str, str]]:
    columns = []
    if labels is not None:
        names = [labels] if isinstance(labels, str) else list(labels)
        columns += [("labels", column) for column in names]
    if stratify_label is not None:
        columns.append(("stratify_label", stratify_label))
    for name, filters in (("projection_labels", projection_labels),
                          *(("custom_stratification", value) for value in
                            (custom_stratification or {}).values())):
        columns += [(name, column) for column in (filters or {})]
    return columns


def _label_values(metadata: pd.DataFrame, labels: Union[str, Sequence[str]],
                  label_mapping: Optional[Dict], continuous: bool,
                  rows: np.ndarray) -> np.ndarray:
    """Labels of every row, checked (and mapped) at the boolean ``rows``.

    Returns int64 (float64 if ``continuous``) labels, shape (N,) or (N, k)
    for k label columns; rows outside ``rows`` hold 0.
    """
    values = metadata[labels].to_numpy()
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    kept = map_labels(f"labels={labels!r}", values[rows], label_mapping,
                      continuous)
    result = np.zeros(values.shape, dtype=kept.dtype)
    result[rows] = kept
    return result


def map_labels(name: str, values: Any, label_mapping: Optional[Dict],
               continuous: bool) -> np.ndarray:
    """pynet's label conversion: ``label_mapping`` first, then numbers.

    Returns int64 labels (float64 if ``continuous``); DataError names a
    missing value, an unmapped label or a label that is not a number.
    """
    values = np.asarray(values)
    if (values.dtype == object or values.dtype.kind in "fc") and (
            pd.isna(values).any()):
        raise DataError(f"{name}: missing values; expected one "
                            "label per row")
    if label_mapping is not None:
        if not isinstance(label_mapping, dict):
            raise bad_type("label_mapping", label_mapping,
                           "a dict {raw label: label}")
        missing = sorted({str(v) for v in np.ravel(values)
                          if v not in label_mapping})
        if missing:
            raise DataError(f"label_mapping: no entry for label(s) "
                            f"{missing[:5]} of {name}; expected every label "
                            "mapped")
        values = np.asarray([label_mapping[v] for v in np.ravel(values)]
                            ).reshape(values.shape)
    try:
        if values.dtype.kind not in "biuf":
            raise TypeError(values.dtype)
        converted = values.astype(np.float64 if continuous else np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{name}: values like {np.ravel(values)[:3].tolist()}"
                        " are not numbers; give a label_mapping") from None
    if (not continuous and values.dtype.kind == "f" and
            not np.array_equal(converted, values)):
        fractional = np.ravel(values)[np.ravel(converted != values)][:3]
        raise DataError(f"{name}: values like {fractional.tolist()} are not "
                        "whole numbers (class labels); give "
                        "continuous_labels=True for real-valued labels")
    return converted
