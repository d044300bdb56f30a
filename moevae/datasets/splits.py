"""Row selection and train/validation/test splits, as pynet makes them.

A random ``sample_size`` mask (numpy's global RNG) and the
``projection_labels`` filters select rows; ``test_size`` of them are held
out (stratified shuffle split, random_state=0); the rest are cut into
``number_of_folds`` folds (stratified k-fold when a label is given).
``custom_stratification`` instead names the rows of each set with filters;
its sets must not share a row (a shared row leaks test data into training).
"""
from itertools import combinations
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, \
    StratifiedShuffleSplit

from ..errors import DataError, MoEVAEValueError, bad_type

if TYPE_CHECKING:
    from .sources import ArraySource

Fold = Tuple[np.ndarray, np.ndarray]
SET_NAMES = ("train", "test", "validation")
SHOWN_VALUES = 10


def split_indices(source: "ArraySource", number_of_folds: int,
                  test_size: float, sample_size: float,
                  stratify_label: Optional[str],
                  custom_stratification: Optional[Dict],
                  projection_labels: Optional[Dict]
                  ) -> Tuple[List[Fold], Optional[np.ndarray],
                             Optional[np.ndarray]]:
    """([(train, validation) per fold], test or None, row mask or None).

    The mask (pynet's ``manager.mask``) marks the rows that sample_size and
    projection_labels kept; None for preset sets.
    """
    if source.preset_sets:
        given = {"stratify_label": stratify_label,
                 "custom_stratification": custom_stratification,
                 "projection_labels": projection_labels,
                 "sample_size": None if sample_size == 1 else sample_size}
        for name, value in given.items():
            if value is not None:
                raise MoEVAEValueError(
                    f"from_numpy: {name}={value!r} is not used with arrays "
                    "already split into sets (nor is sampler="
                    "'weighted_random'); expected no such argument")
        return (*_preset(source.preset_sets), None)
    if stratify_label is not None and custom_stratification is not None:
        raise MoEVAEValueError(
            "stratify_label and custom_stratification were both given; "
            "expected one stratification strategy")
    mask = row_mask(source.metadata, projection_labels, sample_size)
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        raise DataError(f"projection_labels={projection_labels!r} and "
                        f"sample_size={sample_size} select no row")
    try:
        if custom_stratification is not None:
            return (*_custom(source.metadata, mask, custom_stratification,
                             projection_labels), mask)
        train, test = _hold_out(rows, test_size, source.stratify)
        if train is None:
            return [], test, mask
        return _kfold(train, number_of_folds, source.stratify), test, mask
    except ValueError as error:
        if isinstance(error, MoEVAEValueError):
            raise
        raise MoEVAEValueError(f"cannot split {len(rows)} rows "
                               f"(number_of_folds={number_of_folds}, "
                               f"test_size={test_size}): {error}") from None


def row_mask(metadata: pd.DataFrame, projection_labels: Optional[Dict],
             sample_size: float = 1) -> np.ndarray:
    """pynet's row filter: random sample, then column == value filters."""
    mask = np.random.choice(2, len(metadata), p=[1 - sample_size,
                                                 sample_size]).astype(bool)
    return mask & filter_mask(metadata, projection_labels,
                              "projection_labels")


def filter_mask(metadata: pd.DataFrame, filters: Optional[Dict],
                name: str) -> np.ndarray:
    """Rows where every ``{column: value or list of values}`` filter holds.

    A None value filters nothing (pynet's rule). Raises DataError naming a
    value that matches no row of the table (a typo would otherwise drop
    rows without a word) and MoEVAETypeError if ``filters`` is no dict.
    Returns a boolean array of len(metadata).
    """
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise bad_type(name, filters, "a dict {column: value or list}")
    mask = np.ones(len(metadata), dtype=bool)
    for column, value in filters.items():
        if value is None:
            continue
        values = list(value) if isinstance(
            value, (list, tuple, set, frozenset, np.ndarray)) else [value]
        column_values = metadata[column]
        for single in values:
            if not column_values.eq(single).any():
                present = sorted(pd.unique(column_values).tolist(), key=str)
                raise DataError(
                    f"{name}: {column}={single!r} matches no row of the "
                    f"metadata table (values: {present[:SHOWN_VALUES]}"
                    f"{' ...' if len(present) > SHOWN_VALUES else ''})")
        mask &= column_values.isin(values).to_numpy()
    return mask


def kept_rows(metadata: pd.DataFrame, projection_labels: Optional[Dict],
              custom_stratification: Optional[Dict]) -> np.ndarray:
    """Boolean mask of the rows a DataManager may use (before sample_size).

    The ``projection_labels`` rows, and of those, only the rows of a
    ``custom_stratification`` set when one is given: data checks (labels,
    NaN) apply to these rows only, as pynet trains on them only.
    """
    mask = filter_mask(metadata, projection_labels, "projection_labels")
    if custom_stratification is not None:
        sets = _custom_sets(metadata, custom_stratification)
        mask &= np.logical_or.reduce(list(sets.values()))
    return mask


def _custom_sets(metadata: pd.DataFrame, strategy: Any
                 ) -> Dict[str, np.ndarray]:
    """{set name: boolean row mask} of a custom_stratification dict."""
    if not isinstance(strategy, dict):
        raise bad_type("custom_stratification", strategy,
                       "a dict {'train': filters, 'test': filters[, "
                       "'validation': filters]}")
    for key in strategy:
        if key not in SET_NAMES:
            raise MoEVAEValueError(
                f"custom_stratification key {key!r}: expected 'train', "
                "'test', 'validation'")
    for key in ("train", "test"):
        if key not in strategy:
            raise MoEVAEValueError(
                f"custom_stratification={strategy!r}: expected 'train' and "
                "'test' keys (and optionally 'validation')")
    return {key: filter_mask(metadata, strategy[key],
                             f"custom_stratification[{key!r}]")
            for key in SET_NAMES if key in strategy}


def _preset(sets: Dict[str, np.ndarray]) -> Tuple[List[Fold],
                                                  Optional[np.ndarray]]:
    empty = np.zeros(0, dtype=np.int64)
    folds = []
    if "train" in sets or "validation" in sets:
        folds = [(sets.get("train", empty), sets.get("validation", empty))]
    return folds, sets.get("test")


def _custom(metadata: pd.DataFrame, mask: np.ndarray, strategy: Dict,
            projection_labels: Optional[Dict]
            ) -> Tuple[List[Fold], np.ndarray]:
    projected = filter_mask(metadata, projection_labels, "projection_labels")
    sets = {key: rows & projected for key, rows in
            _custom_sets(metadata, strategy).items()}
    # checked before sample_size's random draw: an overlap is always found
    for first, second in combinations(sets, 2):
        shared = np.flatnonzero(sets[first] & sets[second])
        if len(shared):
            columns = dict.fromkeys([*strategy[first], *strategy[second]])
            values = "; ".join(f"{column}: {_values(metadata[column], shared)}"
                               for column in columns)
            raise MoEVAEValueError(
                f"custom_stratification: the {first!r} and {second!r} sets "
                f"share {len(shared)} rows ({values}); expected disjoint "
                "sets (a shared row leaks between them)")
    chosen = {key: np.flatnonzero(rows & mask) for key, rows in sets.items()}
    for key, rows in chosen.items():
        if len(rows) == 0:
            raise DataError(f"custom_stratification[{key!r}]="
                            f"{strategy[key]!r}: selects no row kept by "
                            "projection_labels and sample_size")
    validation = chosen.get("validation", np.zeros(0, dtype=np.int64))
    return [(chosen["train"], validation)], chosen["test"]


def _values(column: pd.Series, rows: np.ndarray) -> List[Any]:
    """The distinct values of ``column`` at ``rows`` (at most 10), sorted."""
    values = sorted(pd.unique(column.to_numpy()[rows]).tolist(), key=str)
    return values[:SHOWN_VALUES]


def _hold_out(rows: np.ndarray, test_size: float,
              stratify: Optional[np.ndarray]):
    if test_size == 0:
        return rows, None
    if test_size == 1:
        return None, rows
    if stratify is not None:
        splitter = StratifiedShuffleSplit(n_splits=1, random_state=0,
                                          test_size=test_size)
        train, test = next(splitter.split(rows, stratify[rows]))
    else:
        splitter = ShuffleSplit(n_splits=1, random_state=0,
                                test_size=test_size)
        train, test = next(splitter.split(rows))
    return rows[train], rows[test]


def _kfold(rows: np.ndarray, folds: int, stratify: Optional[np.ndarray]
           ) -> List[Fold]:
    if stratify is not None:
        pairs = StratifiedKFold(n_splits=folds).split(rows, stratify[rows])
    else:
        pairs = KFold(n_splits=folds).split(rows)
    return [(rows[train], rows[val]) for train, val in pairs]
