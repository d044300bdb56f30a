"""Row selection and splits: sets never share rows; only kept rows checked."""
import numpy as np
import pandas as pd
import pytest
import torch

from moevae.datasets import DataManager
from moevae.errors import DataError, MoEVAEError


def three_sites(folder, label=None, poison_site=None):
    """300 samples, 100 per site A, B, C; sample i holds the value i."""
    sites = np.repeat(["A", "B", "C"], 100)
    labels = np.arange(300) % 2 if label is None else label
    inputs = np.arange(300, dtype=np.float32)[:, None].repeat(2, 1)
    if poison_site is not None:
        inputs[sites == poison_site] = np.nan
    np.save(folder / "x.npy", inputs)
    pd.DataFrame({"site": sites, "label": labels}).to_csv(
        folder / "m.tsv", sep="\t", index=False)
    return str(folder / "x.npy"), str(folder / "m.tsv")


def one_line(error):
    assert "\n" not in str(error.value)
    return str(error.value)


@pytest.mark.parametrize("strategy, sets", [
    ({"train": {"site": ["A", "B"]}, "test": {"site": ["B", "C"]}},
     "'train' and 'test'"),
    ({"train": {"site": ["A", "B"]}, "test": {"site": "C"},
      "validation": {"site": "B"}}, "'train' and 'validation'"),
    ({"train": {"site": "A"}, "test": {"site": ["B", "C"]},
      "validation": {"site": ["B"]}}, "'test' and 'validation'"),
])
def test_overlapping_custom_sets_are_refused_naming_the_shared_values(
        tmp_path, strategy, sets):
    inputs, metadata = three_sites(tmp_path)
    with pytest.raises(MoEVAEError) as error:
        DataManager(inputs, metadata, custom_stratification=strategy)
    message = one_line(error)
    assert sets in message
    assert "share 100 rows (site: ['B'])" in message


def test_disjoint_custom_sets_are_exactly_the_filtered_rows(tmp_path):
    inputs, metadata = three_sites(tmp_path)
    manager = DataManager(inputs, metadata, custom_stratification={
        "train": {"site": "A"}, "validation": {"site": "B"},
        "test": {"site": "C"}})
    assert manager["train"][0].indices.tolist() == list(range(100))
    assert manager["validation"][0].indices.tolist() == list(range(100, 200))
    assert manager["test"].indices.tolist() == list(range(200, 300))


@pytest.mark.parametrize("strategy, message", [
    ({"train": {"site": "A"}, "test": {"site": "C"}, "valid": {"site": "B"}},
     r"custom_stratification key 'valid'.*'train', 'test', 'validation'"),
    ({"train": {"site": "A"}, "test": {"site": "Z"}},
     r"custom_stratification\['test'\]: site='Z' matches no row.*'A'"),
    ({"train": {"site": "A"}, "test": {"site": ["C", "D"]}},
     r"custom_stratification\['test'\]: site='D' matches no row"),
    ({"train": {"site": "A", "label": 1}, "test": {"site": "B"},
      "validation": {"site": "A", "label": 0}}, None),
])
def test_custom_sets_that_select_nothing_or_are_unknown(tmp_path, strategy,
                                                        message):
    inputs, metadata = three_sites(tmp_path)
    if message is None:  # disjoint through the second column
        manager = DataManager(inputs, metadata,
                              custom_stratification=strategy)
        assert len(manager["train"][0]) == len(manager["validation"][0]) == 50
        return
    with pytest.raises(MoEVAEError, match=message) as error:
        DataManager(inputs, metadata, custom_stratification=strategy)
    one_line(error)


def test_projection_value_matching_no_row_is_refused(tmp_path):
    inputs, metadata = three_sites(tmp_path)
    with pytest.raises(DataError, match=r"projection_labels: site='a' matches"
                       r" no row.*values: \['A', 'B', 'C'\]") as error:
        DataManager(inputs, metadata, projection_labels={"site": ["A", "a"]})
    one_line(error)


def test_labels_are_checked_on_the_projected_rows_only(tmp_path):
    labels = np.where(np.arange(300) < 200, np.arange(300) % 2, np.nan)
    inputs, metadata = three_sites(tmp_path, label=labels)
    manager = DataManager(inputs, metadata, labels="label",
                          stratify_label="label", number_of_folds=2,
                          batch_size=10, test_size=0.1,
                          projection_labels={"site": ["A", "B"]})
    seen = []
    for loader in manager.get_dataloader(train=True, validation=True,
                                         test=True):
        for batch in loader:
            assert batch.labels.dtype == torch.int64
            assert torch.equal(batch.labels, batch.inputs[:, 0].long() % 2)
            seen += batch.inputs[:, 0].long().tolist()
    assert sorted(seen) == list(range(200))
    # the same table without the projection is refused, as before
    with pytest.raises(DataError, match="label.*missing values"):
        DataManager(inputs, metadata, labels="label")


@pytest.mark.parametrize("option", ["projection_labels",
                                    "custom_stratification"])
def test_inputs_are_checked_on_the_kept_rows_only(tmp_path, option):
    inputs, metadata = three_sites(tmp_path, poison_site="C")
    settings = {"projection_labels": {"projection_labels": {"site": ["A",
                                                                     "B"]}},
                "custom_stratification": {"custom_stratification": {
                    "train": {"site": "A"}, "test": {"site": "B"}}}}[option]
    manager = DataManager(inputs, metadata, batch_size=50, **settings)
    for batch in manager.get_dataloader(train=True).train:
        assert torch.isfinite(batch.inputs).all()
    with pytest.raises(DataError, match="sample 200 holds NaN"):
        DataManager(inputs, metadata)


def test_label_mapping_needs_the_kept_labels_only(tmp_path):
    labels = np.repeat(["cat", "dog", "unknown"], 100)
    inputs, metadata = three_sites(tmp_path, label=labels)
    manager = DataManager(inputs, metadata, labels="label", test_size=0,
                          number_of_folds=2,
                          label_mapping={"cat": 0, "dog": 1},
                          projection_labels={"site": ["A", "B"]})
    assert manager.labels[:200].tolist() == [0] * 100 + [1] * 100


@pytest.mark.parametrize("option", [
    {"stratify_label": "label"}, {"projection_labels": {"site": "A"}},
    {"custom_stratification": {"train": {}, "test": {}}},
    {"sample_size": 0.5}])
def test_from_numpy_refuses_the_split_options_it_cannot_use(option):
    name, value = next(iter(option.items()))
    with pytest.raises(MoEVAEError, match=f"{name}=.*from_numpy") as error:
        DataManager.from_numpy(train_inputs=np.zeros((4, 2), np.float32),
                               **option)
    one_line(error)


def test_an_overlap_is_found_whatever_sample_size_draws(tmp_path):
    inputs, metadata = three_sites(tmp_path)
    strategy = {"train": {"site": ["A", "B"]}, "test": {"site": ["B", "C"]}}
    for seed in range(5):
        np.random.seed(seed)
        with pytest.raises(MoEVAEError, match="share 100 rows"):
            DataManager(inputs, metadata, custom_stratification=strategy,
                        sample_size=0.05)
