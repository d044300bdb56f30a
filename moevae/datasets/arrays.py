"""ArrayDataset: pynet's per-sample view of arrays, plus whole-batch access.

A sample is ``DataItem(inputs, outputs, labels)``. Transforms run as pynet
runs them: input transforms on the inputs, output transforms on the outputs,
one sample at a time, a fresh ``seed`` set on the transforms that have one.
What can be computed once is: :func:`split_transforms` finds the leading
transforms that carry no ``seed`` (so are deterministic) and
:func:`apply_per_sample` applies them to the whole array a single time.
"""
import random
from collections import namedtuple
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError, bad_value, short_repr

SetItem = namedtuple("SetItem", ["test", "train", "validation"])
DataItem = namedtuple("DataItem", ["inputs", "outputs", "labels"])
Transform = Callable[[np.ndarray], np.ndarray]


def split_transforms(transforms: Sequence[Transform]
                     ) -> Tuple[List[Transform], List[Transform]]:
    """(deterministic prefix, rest): the prefix ends at the first seeded one."""
    transforms = list(transforms)
    for position, transform in enumerate(transforms):
        if hasattr(transform, "seed"):
            return transforms[:position], transforms[position:]
    return transforms, []


def sample_array(value) -> np.ndarray:
    """A transform's output as a C-contiguous array, on every data path.

    Views with negative strides (``a[::-1]``), torch tensors and lists all
    become plain numpy arrays, so tensor and per-sample batching accept the
    same transforms.
    """
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    return array if array.flags.c_contiguous else array.copy(order="C")


def checked_sample(value: Any, transform: Transform, name: str) -> Any:
    """``value`` if it is a sample of numbers, else one DataError line.

    ``value`` is what ``transform`` returned for one sample: a numpy array,
    a torch tensor, or a (nested) list of numbers passes on both batching
    paths; None, strings, objects and ragged lists are refused the same way
    on both.
    """
    if torch.is_tensor(value):
        return value
    kind = None
    if value is not None and not isinstance(value, (str, bytes, dict)):
        try:
            kind = np.asarray(value).dtype.kind
        except ValueError:  # ragged nested lists
            kind = None
    if kind not in ("b", "i", "u", "f"):
        raise DataError(
            f"{name} transform {short_repr(transform)} returned "
            f"{short_repr(value)} ({type(value).__name__}); expected an "
            "array of numbers (numpy, torch or a list)")
    return value


def stack_samples(values: Sequence, name: str) -> np.ndarray:
    """Stack transformed samples; DataError if their shapes differ."""
    arrays = [sample_array(value) for value in values]
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        raise DataError(f"{name} transforms give samples of different "
                        f"shapes {sorted(shapes)[:3]}; expected one shape")
    return np.stack(arrays)


def apply_per_sample(array: np.ndarray, transforms: Sequence[Transform],
                     name: str) -> np.ndarray:
    """Apply deterministic per-sample transforms to every row, once."""
    if not transforms or not len(array):
        return np.asarray(array)
    rows = []
    for row in array:
        for transform in transforms:
            row = checked_sample(transform(row), transform, name)
        rows.append(row)
    return stack_samples(rows, name)


def patch_grid(sample_shape: Sequence[int], patch_size: Any
               ) -> Tuple[int, ...]:
    """Patches per spatial axis of pynet's ``patch_size`` extraction.

    ``sample_shape`` is (channels, *spatial); ``patch_size`` gives one
    size per spatial axis and must divide it (pynet's ``view_as_blocks``
    rule). Raises MoEVAEValueError otherwise.
    """
    spatial = tuple(int(size) for size in sample_shape[1:])
    expected = (f"a tuple of {len(spatial)} positive integers dividing the "
                f"sample's spatial shape {spatial}")
    try:
        sizes = tuple(patch_size)
    except TypeError:
        raise bad_value("patch_size", patch_size, expected) from None
    if len(sizes) != len(spatial) or not all(
            isinstance(size, (int, np.integer)) and not isinstance(size, bool)
            and size > 0 and extent % size == 0
            for size, extent in zip(sizes, spatial)):
        raise bad_value("patch_size", patch_size, expected)
    return tuple(extent // int(size) for size, extent in zip(sizes, spatial))


def extract_patch(sample: np.ndarray, patch_size: Sequence[int],
                  grid: Sequence[int], patch: int) -> np.ndarray:
    """Patch number ``patch`` (row-major over ``grid``) of a (C, ...) sample.

    Raises DataError if the (transformed) sample no longer has the grid
    computed from the raw arrays.
    """
    sample = sample_array(sample)
    try:
        valid = patch_grid(sample.shape, patch_size) == tuple(grid)
    except ValueError:
        valid = False
    if not valid:
        spatial = tuple(count * size for count, size in zip(grid, patch_size))
        raise DataError(f"patch_size={tuple(patch_size)}: a transformed "
                        f"sample has shape {sample.shape}; expected (channels,"
                        f" *{spatial}) like the raw samples")
    where = np.unravel_index(patch, tuple(grid))
    slices = [slice(None)] + [
        slice(position * size, (position + 1) * size)
        for position, size in zip(where, patch_size)]
    return sample[tuple(slices)]


def run_transforms(sample: np.ndarray, transforms: Sequence[Transform],
                   seed: int, dtype: str) -> np.ndarray:
    """pynet's per-sample application: set seed/dtype, then call in order."""
    for transform in transforms:
        if hasattr(transform, "seed"):
            transform.seed = seed
        if hasattr(transform, "dtype"):
            transform.dtype = dtype
        sample = checked_sample(transform(sample), transform, dtype)
    return sample


class ArrayDataset(Dataset):
    """The samples at ``indices`` of in-memory (or memory-mapped) arrays.

    With ``patch_size`` (pynet's), each sample is cut into a grid of
    non-overlapping patches after its transforms: item ``i`` is patch
    ``i % patches_per_sample`` of sample ``i // patches_per_sample``, of
    shape (channels, *patch_size), with that sample's label.
    """

    def __init__(self, inputs: np.ndarray, indices: Sequence[int],
                 labels: Optional[np.ndarray] = None,
                 outputs: Optional[np.ndarray] = None,
                 add_input: bool = False,
                 input_transforms: Optional[Sequence[Transform]] = None,
                 output_transforms: Optional[Sequence[Transform]] = None,
                 patch_size: Optional[Sequence[int]] = None):
        self.inputs = inputs
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = labels
        self.outputs = outputs
        self.add_input = add_input
        self.input_transforms = list(input_transforms or [])
        self.output_transforms = list(output_transforms or [])
        self.patch_size = None if patch_size is None else tuple(patch_size)
        self.patch_grid: Tuple[int, ...] = (() if patch_size is None else
            patch_grid(inputs.shape[1:], patch_size))
        self.patches_per_sample = int(np.prod(self.patch_grid))

    def __len__(self) -> int:
        return len(self.indices) * self.patches_per_sample

    def __getitem__(self, item: int) -> DataItem:
        if not -len(self) <= item < len(self):
            raise IndexError(f"item {item} of a dataset of {len(self)}")
        sample, patch = divmod(item % len(self), self.patches_per_sample)
        index = self.indices[sample]
        seed = random.getrandbits(30)
        inputs = run_transforms(self.inputs[index], self.input_transforms,
                                seed, "input")
        outputs = None
        if self.outputs is not None:
            outputs = run_transforms(self.outputs[index],
                                     self.output_transforms, seed, "output")
        if self.patch_size is not None:
            where = (self.patch_size, self.patch_grid, patch)
            inputs = extract_patch(inputs, *where)
            if outputs is not None:
                outputs = extract_patch(outputs, *where)
        if self.add_input:
            outputs = inputs if outputs is None else np.concatenate(
                (outputs, inputs), axis=0)
        labels = None if self.labels is None else self.labels[index]
        return DataItem(inputs, outputs, labels)


def collate(samples: List[DataItem], continuous_labels: bool = False
            ) -> DataItem:
    """Stack samples into a batch as pynet does: floats, long labels."""
    batch: List[Optional[torch.Tensor]] = []
    for field in DataItem._fields:
        values = [getattr(sample, field) for sample in samples]
        if not values or values[-1] is None:
            batch.append(None)
            continue
        stacked = torch.from_numpy(stack_samples(values, field)).float()
        if field == "labels":
            stacked = stacked if continuous_labels else stacked.long()
        batch.append(stacked)
    return DataItem(*batch)
