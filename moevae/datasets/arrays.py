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
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError

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


def apply_per_sample(array: np.ndarray, transforms: Sequence[Transform],
                     name: str) -> np.ndarray:
    """Apply deterministic per-sample transforms to every row, once."""
    if not transforms:
        return np.asarray(array)
    rows = []
    for row in array:
        for transform in transforms:
            row = transform(row)
        rows.append(np.asarray(row))
    shapes = {row.shape for row in rows}
    if len(shapes) > 1:
        raise DataError(f"{name} transforms give samples of different "
                        f"shapes {sorted(shapes)[:3]}; expected one shape")
    return np.stack(rows) if rows else np.asarray(array)


def run_transforms(sample: np.ndarray, transforms: Sequence[Transform],
                   seed: int, dtype: str) -> np.ndarray:
    """pynet's per-sample application: set seed/dtype, then call in order."""
    for transform in transforms:
        if hasattr(transform, "seed"):
            transform.seed = seed
        if hasattr(transform, "dtype"):
            transform.dtype = dtype
        sample = transform(sample)
    return sample


class ArrayDataset(Dataset):
    """The samples at ``indices`` of in-memory (or memory-mapped) arrays."""

    def __init__(self, inputs: np.ndarray, indices: Sequence[int],
                 labels: Optional[np.ndarray] = None,
                 outputs: Optional[np.ndarray] = None,
                 add_input: bool = False,
                 input_transforms: Optional[Sequence[Transform]] = None,
                 output_transforms: Optional[Sequence[Transform]] = None):
        self.inputs = inputs
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = labels
        self.outputs = outputs
        self.add_input = add_input
        self.input_transforms = list(input_transforms or [])
        self.output_transforms = list(output_transforms or [])

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> DataItem:
        index = self.indices[item]
        seed = random.getrandbits(30)
        inputs = run_transforms(self.inputs[index], self.input_transforms,
                                seed, "input")
        outputs = None
        if self.outputs is not None:
            outputs = run_transforms(self.outputs[index],
                                     self.output_transforms, seed, "output")
        if self.add_input:
            outputs = inputs if outputs is None else np.concatenate(
                (outputs, inputs), axis=0)
        labels = None if self.labels is None else self.labels[index]
        return DataItem(inputs, outputs, labels)


def collate(samples: List[DataItem], continuous_labels: bool = False
            ) -> DataItem:
    """Stack samples into a batch as pynet does: floats, long labels."""
    batch = []
    for field in DataItem._fields:
        values = [getattr(sample, field) for sample in samples]
        if not values or values[-1] is None:
            batch.append(None)
            continue
        stacked = torch.stack([torch.as_tensor(np.asarray(value))
                               for value in values]).float()
        if field == "labels":
            stacked = stacked if continuous_labels else stacked.long()
        batch.append(stacked)
    return DataItem(*batch)
