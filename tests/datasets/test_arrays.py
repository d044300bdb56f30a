import re

import numpy as np
import pytest
import torch

from moevae.datasets import ArrayDataset, DataManager
from moevae.datasets.arrays import collate, patch_grid, sample_array
from moevae.errors import DataError, MoEVAEError


def blocks(sample, size):
    """pynet's patches (skimage's view_as_blocks): (rows, cols, C, h, w)."""
    channels, height, width = sample.shape
    h, w = size
    return sample.reshape(channels, height // h, h, width // w, w).transpose(
        1, 3, 0, 2, 4)


def test_patches_follow_pynet_order_and_shape():
    inputs = np.random.default_rng(0).random((3, 2, 4, 6))
    outputs = inputs * 10
    dataset = ArrayDataset(inputs, [2, 0], outputs=outputs,
                           labels=np.array([7, 8, 9]), patch_size=(2, 3))
    assert dataset.patch_grid == (2, 2) and len(dataset) == 8
    for item in range(8):
        sample, patch = divmod(item, 4)
        index = [2, 0][sample]
        expected = blocks(inputs[index], (2, 3))[divmod(patch, 2)]
        got = dataset[item]
        np.testing.assert_array_equal(got.inputs, expected)
        np.testing.assert_array_equal(got.outputs, expected * 10)
        assert got.labels == [9, 7][sample]
    with pytest.raises(IndexError):
        dataset[8]


def test_patch_batches_through_the_manager():
    inputs = np.arange(10 * 16, dtype=np.float32).reshape(10, 1, 4, 4)
    manager = DataManager.from_numpy(train_inputs=inputs, batch_size=4,
                                     sampler=None, patch_size=(2, 2),
                                     add_input=True)
    batches = list(manager.get_dataloader(train=True).train)
    assert len(batches) == 10 and batches[0].inputs.shape == (4, 1, 2, 2)
    first_image = blocks(inputs[0], (2, 2)).reshape(4, 1, 2, 2)
    np.testing.assert_array_equal(batches[0].inputs.numpy(), first_image)
    assert torch.equal(batches[0].outputs, batches[0].inputs)


@pytest.mark.parametrize("size", [(3, 3), (2,), (0, 2), "ab", 2, (2.0, 2)])
def test_bad_patch_sizes_are_refused(size):
    with pytest.raises(MoEVAEError, match="patch_size=.*positive integers "
                       r"dividing .* \(4, 4\)"):
        patch_grid((1, 4, 4), size)


def test_patches_refuse_transforms_that_change_the_shape():
    inputs = np.zeros((2, 1, 4, 4), dtype=np.float32)
    manager = DataManager.from_numpy(train_inputs=inputs, patch_size=(2, 2),
                                     input_transforms=[np.ravel])
    with pytest.raises(DataError, match=r"shape \(16,\); expected "
                       r"\(channels, \*\(4, 4\)\)"):
        next(iter(manager.get_dataloader(train=True).train))


def test_patch_size_needs_per_sample_batching():
    inputs = np.zeros((2, 1, 4, 4), dtype=np.float32)
    with pytest.raises(MoEVAEError, match="in_memory=True.*patch_size"):
        DataManager.from_numpy(train_inputs=inputs, patch_size=(2, 2),
                               in_memory=True)


@pytest.mark.parametrize("value", [
    np.arange(6.).reshape(2, 3)[:, ::-1], torch.arange(6.).reshape(2, 3),
    [[0., 1., 2.], [3., 4., 5.]], np.arange(6.).reshape(3, 2).T])
def test_sample_array_is_contiguous_numpy(value):
    array = sample_array(value)
    assert isinstance(array, np.ndarray) and array.flags.c_contiguous
    np.testing.assert_array_equal(array, np.asarray(value))


def test_collate_keeps_scalar_labels_scalar():
    items = [ArrayDataset(np.zeros((2, 3)), [0, 1],
                          labels=np.array([4, 5]))[i] for i in (0, 1)]
    batch = collate(items)
    assert batch.labels.tolist() == [4, 5] and batch.labels.dtype == torch.long


def test_weighted_sampler_draws_patches_of_every_sample(tmp_path):
    import pandas as pd
    inputs = np.arange(12 * 16, dtype=np.float32).reshape(12, 1, 4, 4)
    np.save(tmp_path / "x.npy", inputs)
    pd.DataFrame({"label": [0] * 6 + [1] * 6}).to_csv(
        tmp_path / "m.tsv", sep="\t", index=False)
    torch.manual_seed(0)
    manager = DataManager(str(tmp_path / "x.npy"), str(tmp_path / "m.tsv"),
                          stratify_label="label", number_of_folds=2,
                          test_size=0, batch_size=6, patch_size=(2, 2),
                          sampler="weighted_random")
    loader = manager.get_dataloader(train=True).train
    assert len(loader.dataset) == 6 * 4
    drawn = torch.cat([batch.inputs for batch in loader])
    assert drawn.shape == (24, 1, 2, 2)
    sources = {int(patch.min()) // 16 for patch in drawn}
    assert sources <= set(loader.dataset.indices.tolist())
    # weights per patch: without them only items 0-5 (samples 0, 1) come
    assert len(sources) >= 4


class Returns:
    """A transform returning ``value``; seeded ones batch per sample."""

    def __init__(self, value, seeded):
        self.value = value
        if seeded:
            self.seed = None

    def __call__(self, sample):
        return self.value

    def __repr__(self):
        return "Returns()"


@pytest.mark.parametrize("value, shown", [
    (None, r"None \(NoneType\)"),             # the case
    ("pixels", r"'pixels' \(str\)"),          # not numbers
    ([[1.0, 2.0], [3.0]], r"\[\[1.0, 2.0\], \[3.0\]\] \(list\)")])  # ragged
def test_a_transform_returning_no_array_is_refused_on_both_paths(value,
                                                                 shown):
    inputs = np.random.default_rng(0).random((8, 1, 4, 4), np.float32)
    messages = []
    for seeded in (False, True):  # tensor batching, per-sample batching
        with pytest.raises(DataError) as error:
            manager = DataManager.from_numpy(
                train_inputs=inputs, train_labels=np.arange(8) % 2,
                batch_size=4, input_transforms=[Returns(value, seeded)])
            next(iter(manager.get_dataloader(train=True).train))
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert "\n" not in messages[0]
    assert re.fullmatch(rf"input transform Returns\(\) returned {shown}; "
                        r"expected an array of numbers \(numpy, torch or a "
                        r"list\)", messages[0])
