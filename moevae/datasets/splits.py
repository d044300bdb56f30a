"""Train/validation/test splits, as pynet makes them.

Of the rows :mod:`moevae.datasets.rows` selects, ``test_size`` are held
out (stratified shuffle split, random_state=0); the rest are cut into
``number_of_folds`` folds (stratified k-fold when a label is given).
``custom_stratification`` instead names the rows of each set with filters;
its sets must not share a row (a shared row leaks test data into training).
"""
from itertools import combinations
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

from ..errors import DataError, MoEVAEValueError
from .rows import SHOWN_VALUES, custom_sets, filter_mask, row_mask
from .sources import ArraySource

Fold = Tuple[np.ndarray, np.ndarray]
def split_indices(source: ArraySource, number_of_folds: int,
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
            custom_sets(metadata, strategy).items()}
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
