"""The cached initial partition is reused only when it fits the images."""
import numpy as np
import pandas as pd
import pytest

from moevae.errors import DataError
from moevae.partition import partition_table


@pytest.mark.parametrize("content, message", [
    ("", r"empty \(0 bytes"),
    ("label\tpartition\n1\t0\n", "1 rows.*expected 4 rows"),
    ("label\n1\n2\n3\n4\n", "'partition' column"),
    ("label\tpartition\n1\t0\n2\t1\n3\t10\n4\t2\n",
     r"partition values.*\[0, 9\]"),
])
def test_a_cached_partition_that_does_not_fit_is_refused(tmp_path, content,
                                                         message):
    (tmp_path / "partition.tsv").write_text(content)
    with pytest.raises(DataError, match=message) as error:
        partition_table(str(tmp_path / "m.tsv"), np.zeros((4, 784)),
                        tmp_path, seed=0)
    assert "\n" not in str(error.value)
    assert "partition.tsv" in str(error.value) and "delete it" in \
        str(error.value)


def test_a_fitting_cached_partition_is_reused(tmp_path):
    table = pd.DataFrame({"label": [1, 2, 3, 4], "partition": [0, 1, 9, 2]})
    table.to_csv(tmp_path / "partition.tsv", sep="\t", index=False)
    path = partition_table(str(tmp_path / "missing.tsv"), np.zeros((4, 784)),
                           tmp_path, seed=0)
    assert pd.read_csv(path, sep="\t").equals(table)
