"""The cached initial partition is reused only when it fits the images."""
import numpy as np
import pandas as pd
import pytest

from moevae.clustering.partition import partition_table
from moevae.errors import DataError


@pytest.mark.parametrize("content, message", [
    ("", r"empty \(0 bytes"),
    ("label\tpartition\n1\t0\n", "1 rows.*expected 4 rows"),
    ("label\n1\n2\n3\n4\n", "'partition' column"),
    ("label\tpartition\n1\t0\n2\t1\n3\t10\n4\t2\n",
     r"partition values.*\[0, 9\]"),
    ("label\tpartition\n1\t0\n2\t1\n3\t\n4\t2\n",
     r"no partition value in row\(s\) \[3\] \(of 4\)"),
])
def test_a_cached_partition_that_does_not_fit_is_refused(tmp_path, content,
                                                         message):
    (tmp_path / "partition.tsv").write_text(content)
    with pytest.raises(DataError, match=message) as error:
        partition_table(str(tmp_path / "m.tsv"), np.zeros((4, 784)),
                        tmp_path, seed=0)
    assert "\n" not in str(error.value)
    assert ("partition.tsv" in str(error.value) and "delete it" in
        str(error.value))


def test_a_fitting_cached_partition_is_reused(tmp_path, caplog):
    table = pd.DataFrame({"label": [1, 2, 3, 4], "partition": [0, 1, 9, 2]})
    table.to_csv(tmp_path / "partition.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING", logger="moevae"):
        path = partition_table(str(tmp_path / "missing.tsv"),
                               np.zeros((4, 784)), tmp_path, seed=0,
                               clusters=4 + 6)
    assert pd.read_csv(path, sep="\t").equals(table)
    # 4 of 10 clusters used: said once, still reused
    assert [record.getMessage().split(": ", 1)[1] for record in
            caplog.records] == [f"{path} uses 4 of the 10 clusters (was it "
                                "edited?); reusing it as it is"]


def test_umap_partition_is_deterministic_informative_and_label_free(
        tmp_path):
    from moevae.clustering.scores import clustering_accuracy
    from tests.support.helpers import sample_subset
    images, labels = sample_subset(1000)
    table = pd.DataFrame({"label": labels})
    table.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    first = pd.read_csv(partition_table(str(tmp_path / "m.tsv"), images,
                                        tmp_path / "a", seed=3), sep="\t")
    # other labels, same images: the very same partition (and a seed past
    # 2**32, as torch takes, is the same seed modulo 2**32)
    table["label"] = np.random.default_rng(0).permutation(labels)
    table.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    again = pd.read_csv(partition_table(str(tmp_path / "m.tsv"), images,
                                        tmp_path / "b", seed=2 ** 32 + 3),
                        sep="\t")
    assert np.array_equal(first["partition"], again["partition"])
    assert np.array_equal(again["label"], table["label"])  # table kept
    assert set(first["partition"]) == set(range(10))
    assert clustering_accuracy(labels, first["partition"]) > 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "pca"}, r"partition method='pca': expected one of"),
    ({"clusters": 10, "count": 11}, r"number of images=11: expected at "
                                    r"least 12"),
    ({"nan": True}, r"images='an array with NaN.*expected finite"),
    ({"clusters": 0}, r"clusters=0: expected an integer >= 1"),
    ({"flat": True}, r"images='an array of shape \(50,\)': expected"),
])
def test_bad_partition_requests_are_one_line(kwargs, message):
    from moevae.clustering.partition import embedding_partition
    from moevae.errors import MoEVAEValueError
    count = kwargs.pop("count", 50)
    images = np.zeros((count, 16))
    if kwargs.pop("nan", False):
        images[3, 5] = np.nan
    if kwargs.pop("flat", False):
        images = images[:, 0]
    with pytest.raises(MoEVAEValueError, match=message) as error:
        embedding_partition(images, **kwargs)
    assert "\n" not in str(error.value)


def test_a_folder_where_the_partition_goes_is_refused_first(tmp_path):
    from moevae.errors import MoEVAEValueError
    (tmp_path / "partition.tsv").mkdir()
    with pytest.raises(MoEVAEValueError, match="partition.tsv.*a file"):
        partition_table(str(tmp_path / "m.tsv"), np.zeros((40, 4)),
                        tmp_path, seed=0)
