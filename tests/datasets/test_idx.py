import gzip

import numpy as np
import pytest

from moevae.datasets.idx import read_idx, write_idx
from moevae.errors import DataError, MoEVAEError


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path, compress):
    array = np.random.default_rng(0).integers(0, 256, (7, 28, 28),
                                              dtype=np.uint8)
    write_idx(tmp_path / "a", array, compress)
    np.testing.assert_array_equal(read_idx(tmp_path / "a", ndim=3), array)


def test_truncated_raw_file_names_sizes(tmp_path):
    write_idx(tmp_path / "a", np.zeros((3, 28, 28), np.uint8), False)
    data = (tmp_path / "a").read_bytes()
    (tmp_path / "a").write_bytes(data[:-10])
    with pytest.raises(DataError, match=r"bytes, expected 2368.*truncated"):
        read_idx(tmp_path / "a")


def test_truncated_gzip_is_a_clear_error(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((30, 28, 28), np.uint8), True)
    data = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "a.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(MoEVAEError, match="corrupt or truncated gzip"):
        read_idx(tmp_path / "a.gz")


@pytest.mark.parametrize("payload, message", [
    (b"\x01\x02\x08\x01", "bad magic"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00", "type code 0x0d"),
    (b"\x00\x00\x08\x03\x00", "truncated IDX header"),
])
def test_not_idx(tmp_path, payload, message):
    (tmp_path / "a").write_bytes(payload)
    with pytest.raises(DataError, match=message):
        read_idx(tmp_path / "a")


def test_wrong_dimensions(tmp_path):
    write_idx(tmp_path / "a", np.zeros(5, np.uint8), False)
    with pytest.raises(DataError, match="1 dimensions, expected 3"):
        read_idx(tmp_path / "a", ndim=3)


def test_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "labels", array, compress=True)
    assert (tmp_path / "labels").read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), array)
    assert gzip.decompress((tmp_path / "labels").read_bytes())[3] == 1
