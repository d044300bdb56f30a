"""A DataManager's arrays and table: read and checked, one DataError line
per problem, before anything reaches torch."""
import numpy as np
import pandas as pd
import pytest

from moevae.datasets.sources import (
    ArraySource,
    load_source,
    map_labels,
    read_cached_table,
)
from moevae.errors import DataError, MoEVAETypeError

HINT = "rebuild it with --rebuild"


def write_set(folder, inputs=None, table=None, outputs=None):
    inputs = (np.arange(12, dtype=np.float32).reshape(6, 2)
        if inputs is None else inputs)
    table = (pd.DataFrame({"digit": ["a", "b", "a", "c", "b", "a"],
                          "site": [1, 1, 2, 2, 3, 3]}) if table is None
        else table)
    np.save(folder / "x.npy", inputs)
    table.to_csv(folder / "meta.tsv", sep="\t", index=False)
    paths = [folder / "x.npy", folder / "meta.tsv", None]
    if outputs is not None:
        np.save(folder / "y.npy", outputs)
        paths[2] = folder / "y.npy"
    return paths


def load(paths, labels="digit", mapping=None, continuous=False,
         stratify=None, custom=None, projection=None):
    return load_source(*paths, labels, mapping, continuous, stratify, custom,
                       projection)


def test_the_triple_is_read_mapped_and_stratified(tmp_path):
    paths = write_set(tmp_path, outputs=np.ones((6, 1), np.float32))
    source = load(paths, mapping={"a": 0, "b": 1, "c": 2},
                  stratify="site")
    assert source.inputs.shape == (6, 2) and source.outputs.shape == (6, 1)
    assert source.labels.tolist() == [0, 1, 0, 2, 1, 0]
    assert source.labels.dtype == np.int64
    assert source.stratify.tolist() == [1, 1, 2, 2, 3, 3]
    assert list(source.metadata.columns) == ["digit", "site"]


def test_rows_a_projection_drops_are_not_checked(tmp_path):
    inputs = np.zeros((6, 2), np.float32)
    inputs[1] = np.nan  # a 'b' row, dropped below
    paths = write_set(tmp_path, inputs=inputs)
    source = load(paths, mapping={"a": 0, "c": 2},
                  projection={"digit": ["a", "c"]})
    assert source.labels.tolist() == [0, 0, 0, 2, 0, 0]  # dropped rows: 0
    with pytest.raises(DataError, match=r"^input_path: sample 1 holds NaN"):
        load(paths, mapping={"a": 0, "b": 1, "c": 2})


@pytest.mark.parametrize("change, message", [
    (dict(labels="digits"), r"^labels='digits': not a column of .*meta.tsv "
                            r"\(columns: \['digit', 'site'\]\)$"),
    (dict(stratify="place"), r"^stratify_label='place': not a column"),
    (dict(projection={"where": 1}), r"^projection_labels='where': not a col"),
    (dict(mapping={"a": 0}), r"^label_mapping: no entry for label\(s\) "
                             r"\['b', 'c'\] of labels='digit'"),
    (dict(mapping=None), r"^labels='digit': values like \['a', 'b', 'a'\] "
                         r"are not numbers; give a label_mapping$")])
def test_bad_settings_are_one_line(tmp_path, change, message):
    paths = write_set(tmp_path)
    settings = dict(mapping={"a": 0, "b": 1, "c": 2})
    settings.update(change)
    with pytest.raises(DataError, match=message):
        load(paths, **settings)


def test_files_missing_unreadable_or_of_another_length(tmp_path):
    x, meta, _ = write_set(tmp_path)
    with pytest.raises(DataError, match=r"^input_path='.*nope.npy': no such"):
        load([tmp_path / "nope.npy", meta, None])
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match=r"^input_path=.*: not a readable "
                       r"\.npy array"):
        load([tmp_path / "bad.npy", meta, None])
    with pytest.raises(DataError, match=r"^metadata_path=.*: no such file"):
        load([x, tmp_path / "none.tsv", None])
    np.save(tmp_path / "y.npy", np.ones((5, 1)))
    with pytest.raises(DataError, match=r"^output_path: 5 rows, expected 6 "
                       r"\(one per input sample\)$"):
        load([x, meta, tmp_path / "y.npy"], mapping={"a": 0, "b": 1, "c": 2})
    with pytest.raises(MoEVAETypeError, match=r"^input_path=3 \(int\): "
                       "expected the path of a .npy file"):
        load([3, meta, None])


def test_a_stratify_column_with_missing_values_is_refused(tmp_path):
    table = pd.DataFrame({"digit": [0, 1, 0, 1, 0, 1],
                          "site": [1, None, 2, 2, 3, 3]})
    paths = write_set(tmp_path, table=table)
    with pytest.raises(DataError, match=r"^stratify_label='site': the column"
                       " has missing values"):
        load(paths, stratify="site")


@pytest.mark.parametrize("values, mapping, continuous, expected", [
    ([1, 2, 3], None, False, [1, 2, 3]),
    ([1.0, 2.0], None, False, [1, 2]),
    ([0.5, 2.0], None, True, [0.5, 2.0]),
    (["x", "y"], {"x": 7, "y": 8}, False, [7, 8]),
    ([True, False], None, False, [1, 0])])
def test_map_labels_gives_numbers(values, mapping, continuous, expected):
    labels = map_labels("labels", values, mapping, continuous)
    assert labels.tolist() == expected
    assert labels.dtype == (np.float64 if continuous else np.int64)


@pytest.mark.parametrize("values, mapping, message", [
    ([1.5, 2.0], None, r"^y: values like \[1.5\] are not whole numbers "
                       r"\(class labels\); give continuous_labels=True"),
    ([1.0, np.nan], None, r"^y: missing values; expected one label per row"),
    (["x", None], {"x": 1}, r"^y: missing values"),
    (["x", "z"], {"x": 1}, r"no entry for label\(s\) \['z'\] of y")])
def test_map_labels_refuses_in_one_line(values, mapping, message):
    with pytest.raises(DataError, match=message):
        map_labels("y", np.array(values, dtype=object if None in values
                                 else None), mapping, False)


def test_a_label_mapping_that_is_no_dict_is_a_type_error():
    with pytest.raises(MoEVAETypeError, match=r"^label_mapping=\[1\] "):
        map_labels("y", [1], [1], False)


def test_from_sets_concatenates_and_keeps_each_set_rows():
    source = ArraySource.from_sets({
        "train": (np.zeros((3, 2)), None, np.array([0, 1, 1])),
        "validation": (None, None, None),
        "test": (np.ones((2, 2)), None, np.array([2, 2]))})
    assert source.inputs.shape == (5, 2) and source.outputs is None
    assert source.labels.tolist() == [0, 1, 1, 2, 2]
    assert {name: rows.tolist() for name, rows in
            source.preset_sets.items()} == {"train": [0, 1, 2],
                                            "test": [3, 4]}


@pytest.mark.parametrize("sets, message", [
    ({"train": (None, None, None)}, r"^from_numpy: no inputs given"),
    ({"train": (np.zeros((2, 3)), None, None),
      "test": (np.zeros((2, 4)), None, None)},
     r"sets of sample shapes \[\(3,\), \(4,\)\]; expected one shape"),
    ({"train": (np.zeros((2, 3)), np.zeros((3, 1)), None)},
     r"^train_outputs: 3 rows, expected 2"),
    ({"train": (np.array([[1.0, np.inf]]), None, None)},
     r"^train_inputs: sample 0 holds NaN or infinite values"),
    ({"train": (np.array([["a", "b"]]), None, None)},
     r"^train_inputs: dtype <U1, expected a real numeric dtype"),
    ({"test": (np.zeros(3), None, None)},
     r"^test_inputs: shape \(3,\), expected at least 2 dimensions")])
def test_from_sets_refuses_in_one_line(sets, message):
    with pytest.raises(DataError, match=message):
        ArraySource.from_sets(sets)


def test_sample_weights_balance_the_classes_of_the_fold():
    source = ArraySource(np.zeros((5, 1)),
                         stratify=np.array(["a", "a", "a", "b", "c"]))
    weights = source.sample_weights(np.array([0, 1, 3]))
    assert weights.tolist() == [0.5, 0.5, 1.0] and weights.dtype == np.float64
    with pytest.raises(DataError, match="no classes to balance"):
        ArraySource(np.zeros((2, 1))).sample_weights(np.arange(2))


def test_a_cached_table_is_read_when_it_fits(tmp_path):
    path = tmp_path / "labels.tsv"
    pd.DataFrame({"label": [0, 9, 3]}).to_csv(path, sep="\t", index=False)
    assert read_cached_table(path, 3, "label", 0, 9, HINT)[
        "label"].tolist() == [0, 9, 3]


@pytest.mark.parametrize("content, message", [
    ("", r"empty \(0 bytes: a write was cut short\)"),
    ("label\n0\n1\n", r"2 rows, columns \['label'\]; expected 3 rows"),
    ("other\n0\n1\n2\n", r"expected 3 rows with a 'label' column"),
    ("label\n0\n\n1\n", r"2 rows, columns \[.label.\]"),
    ("label\tx\n0\t1\n\t2\n1\t3\n", r"no label value in row\(s\) \[2\]"),
    ("label\n0\n10\n1\n", r"label values like \[0, 10, 1\], expected "
                          r"integers in \[0, 9\]"),
    ("label\n0\n1.5\n1\n", r"expected integers in \[0, 9\]")])
def test_a_cached_table_that_does_not_fit_names_the_hint(tmp_path, content,
                                                         message):
    path = tmp_path / "labels.tsv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as error:
        read_cached_table(path, 3, "label", 0, 9, HINT)
    text = str(error.value)
    assert text.startswith(str(path)) and text.endswith(HINT)
    assert "\n" not in text
