"""Which rows a DataManager may use: sample_size, projection_labels and
custom_stratification filters."""
import numpy as np
import pandas as pd
import pytest

from moevae.datasets.rows import custom_sets, filter_mask, kept_rows, row_mask
from moevae.errors import DataError, MoEVAEError

TABLE = pd.DataFrame({"site": ["A", "B", "A", "C"], "age": [1, 2, 3, 4]})


def test_filters_keep_rows_matching_every_column():
    assert filter_mask(TABLE, {"site": "A"}, "f").tolist() == [
        True, False, True, False]
    assert filter_mask(TABLE, {"site": ["A", "C"], "age": (3, 4)},
                       "f").tolist() == [False, False, True, True]
    assert filter_mask(TABLE, {"site": None}, "f").all()  # pynet's rule
    assert filter_mask(TABLE, None, "f").all()


@pytest.mark.parametrize("filters, value", [
    ({"site": "D"}, "site='D'"), ({"site": ["A", "Z"]}, "site='Z'"),
    ({"age": 9}, "age=9")])
def test_a_value_matching_no_row_is_refused_naming_it(filters, value):
    with pytest.raises(DataError, match=f"^projection_labels: {value} "
                       r"matches no row of the metadata table \(values:"):
        filter_mask(TABLE, filters, "projection_labels")


@pytest.mark.parametrize("filters", [["site"], "site=A", 3])
def test_filters_that_are_no_dict_are_refused(filters):
    with pytest.raises(MoEVAEError, match="^projection_labels=.*expected a "
                       "dict"):
        filter_mask(TABLE, filters, "projection_labels")


def test_sample_size_draws_from_numpys_global_generator():
    np.random.seed(0)
    first = row_mask(TABLE, None, 0.5)
    np.random.seed(0)
    assert row_mask(TABLE, None, 0.5).tolist() == first.tolist()
    assert row_mask(TABLE, None, 1).all()
    assert not row_mask(TABLE, None, 0).any()


def test_custom_sets_restrict_the_kept_rows():
    strategy = {"train": {"site": "A"}, "test": {"site": "C"}}
    sets = custom_sets(TABLE, strategy)
    assert sets["train"].tolist() == [True, False, True, False]
    assert kept_rows(TABLE, None, strategy).tolist() == [
        True, False, True, True]
    assert kept_rows(TABLE, {"site": "A"}, None).tolist() == [
        True, False, True, False]


@pytest.mark.parametrize("strategy, message", [
    ({"train": {"site": "A"}}, "expected 'train' and"),
    ({"train": {}, "test": {}, "holdout": {}}, "key 'holdout'"),
    (["train"], "expected a dict"),
])
def test_malformed_custom_sets_are_refused(strategy, message):
    with pytest.raises(MoEVAEError, match=message):
        custom_sets(TABLE, strategy)
