"""Which rows of a data set a DataManager may use, as pynet selects them.

A random ``sample_size`` mask (numpy's global RNG) and the
``projection_labels`` filters (``{column: value or list of values}``)
select rows; ``custom_stratification`` names the rows of each set with the
same kind of filters.
"""
from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

from ..errors import DataError, MoEVAEValueError, bad_type

SET_NAMES = ("train", "test", "validation")
SHOWN_VALUES = 10


SET_NAMES = ("train", "test", "validation")



SHOWN_VALUES = 10



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
        sets = custom_sets(metadata, custom_stratification)
        mask &= np.logical_or.reduce(list(sets.values()))
    return mask



def custom_sets(metadata: pd.DataFrame, strategy: Any
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
