"""Row selection and train/validation/test splits, as pynet makes them.

A random ``sample_size`` mask (numpy's global RNG) and the
``projection_labels`` filters select rows; ``test_size`` of them are held
out (stratified shuffle split, random_state=0); the rest are cut into
``number_of_folds`` folds (stratified k-fold when a label is given).
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, \
    StratifiedShuffleSplit

from ..errors import DataError, MoEVAEValueError
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
            return (*_custom(source.metadata, mask, custom_stratification),
                    mask)
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
    for column, value in (projection_labels or {}).items():
        if isinstance(value, list):
            mask &= metadata[column].isin(value).to_numpy()
        elif value is not None:
            mask &= metadata[column].eq(value).to_numpy()
    return mask


def _preset(sets: Dict[str, np.ndarray]) -> Tuple[List[Fold],
                                                  Optional[np.ndarray]]:
    empty = np.zeros(0, dtype=np.int64)
    folds = []
    if "train" in sets or "validation" in sets:
        folds = [(sets.get("train", empty), sets.get("validation", empty))]
    return folds, sets.get("test")


def _custom(metadata: pd.DataFrame, mask: np.ndarray, strategy: Dict
            ) -> Tuple[List[Fold], np.ndarray]:
    for key in ("train", "test"):
        if key not in strategy:
            raise MoEVAEValueError(
                f"custom_stratification={strategy!r}: expected 'train' and "
                "'test' keys (and optionally 'validation')")
    chosen = {key: np.flatnonzero(row_mask(metadata, filters) & mask)
              for key, filters in strategy.items()}
    validation = chosen.get("validation", np.zeros(0, dtype=np.int64))
    return [(chosen["train"], validation)], chosen["test"]


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
