"""DataManager: pynet's splitter of arrays into train/validation/test loaders.

The signature is pynet's. The train (+validation) rows are split into
``number_of_folds`` folds (stratified when ``stratify_label`` is given), and
``test_size`` of the rows are held out first. Unlike pynet, deterministic
transforms run once on the whole array and batches are drawn by index
(see :mod:`moevae.datasets.loaders`); the samples are the same.
"""
import inspect
import logging
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from ..errors import (
    MoEVAEValueError,
    bad_value,
    check_fraction,
    check_positive_int,
)
from .arrays import (
    ArrayDataset,
    SetItem,
    Transform,
    apply_per_sample,
    patch_grid,
    split_transforms,
)
from .loader_options import (
    WORKER_OPTIONS,
    check_dataloader_kwargs,
    check_sampler,
    check_transforms,
)
from .loaders import BatchLoader, TensorData
from .rows import row_mask
from .sources import ArraySource, load_source
from .splits import split_indices

logger = logging.getLogger("moevae")
TENSOR_BATCHING_MAX_BYTES = 4 * 2 ** 30
# pynet's DataManager arguments that only mean something for one array
# split by the manager, not for from_numpy's sets: their defaults
SPLIT_ARGS = {"metadata_path": None, "output_path": None, "labels": None,
              "stratify_label": None, "custom_stratification": None,
              "projection_labels": None, "number_of_folds": 10,
              "test_size": 0.1, "sample_size": 1}


class DataManager:
    """Split a data set into train/validation folds and a test set.

    Parameters (pynet's)
    --------------------
    input_path, metadata_path, output_path: the .npy inputs, the .tsv table
        (one row per sample) and optional .npy outputs.
    labels: metadata column(s) given to the loss as labels.
    stratify_label: metadata column used to stratify the splits.
    custom_stratification: {'train': {col: value}, 'test': ..., ['validation':
        ...]} filters defining the sets (exclusive with stratify_label).
    projection_labels: {col: value or list}: keep only the matching rows.
    number_of_folds: folds of the train rows (>= 2).
    batch_size: samples per mini-batch.
    sampler: None, 'random', 'weighted_random' or a torch Sampler class.
    input_transforms, output_transforms: per-sample callables.
    data_augmentation_transforms: per-sample callables for training only.
    add_input: the outputs are the inputs (auto-encoders).
    test_size: fraction of rows held out as the test set.
    label_mapping: {raw label: value} applied to the labels.
    patch_size: (size per spatial axis) cut each sample into a grid of
        patches, as pynet does (per-sample batching).
    continuous_labels: float labels instead of integers.
    sample_size: fraction of the rows used (random, numpy's global RNG).
    in_memory: tensor batching (None: whenever possible, False: pynet's
        per-sample path, True: required).
    dataloader_kwargs: torch DataLoader options. ``drop_last`` (skip a last
        incomplete training batch; unlike a torch DataLoader's, validation
        and test keep every row), ``shuffle`` (validation and test batches in random
        order too; train too with sampler=None) and ``generator`` (seeds the
        batch order) apply to every path; worker options (num_workers,
        pin_memory...) run the per-sample path through a DataLoader.
        batch_sampler and collate_fn are refused (moevae draws the batches).
    """

    def __init__(self, input_path: Union[str, Dict], metadata_path: Optional[str],
                 output_path: Optional[str] = None,
                 labels: Optional[Union[str, List[str]]] = None,
                 stratify_label: Optional[str] = None,
                 custom_stratification: Optional[Dict] = None,
                 projection_labels: Optional[Dict] = None,
                 number_of_folds: int = 10, batch_size: int = 1,
                 sampler: Any = "random",
                 input_transforms: Optional[Sequence[Transform]] = None,
                 output_transforms: Optional[Sequence[Transform]] = None,
                 data_augmentation_transforms: Optional[Sequence[Transform]] = None,
                 add_input: bool = False, test_size: float = 0.1,
                 label_mapping: Optional[Dict] = None, patch_size: Any = None,
                 continuous_labels: bool = False, sample_size: float = 1,
                 in_memory: Optional[bool] = None, **dataloader_kwargs: Any):
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.sampler = check_sampler(sampler, stratify_label)
        self.continuous_labels = bool(continuous_labels)
        self.add_input = bool(add_input)
        self.data_loader_kwargs = check_dataloader_kwargs(dataloader_kwargs)
        self._check_shuffle()
        self.patch_size = patch_size
        transforms = [check_transforms(name, value) for name, value in (
            ("input_transforms", input_transforms),
            ("output_transforms", output_transforms),
            ("data_augmentation_transforms", data_augmentation_transforms))]
        (self.input_transforms, self.output_transforms,
         self.data_augmentation_transforms) = transforms
        if isinstance(input_path, dict):
            given = dict(metadata_path=metadata_path,
                         output_path=output_path, labels=labels,
                         stratify_label=stratify_label,
                         custom_stratification=custom_stratification,
                         projection_labels=projection_labels,
                         number_of_folds=number_of_folds, test_size=test_size,
                         sample_size=sample_size)
            _refuse_split_args(given)
            if label_mapping is not None and all(
                    len(arrays) < 3 or arrays[2] is None
                    for arrays in input_path.values()):
                raise bad_value("label_mapping", label_mapping, "no mapping "
                                "without labels (give train_labels=...)")
            source = ArraySource.from_sets(input_path, label_mapping,
                                           continuous_labels)
            self.number_of_folds = 1
        else:
            self.number_of_folds = check_positive_int(
                "number_of_folds", number_of_folds, minimum=2)
            check_fraction("test_size", test_size)
            check_fraction("sample_size", sample_size, low_open=True)
            if label_mapping is not None and labels is None:
                raise bad_value("label_mapping", label_mapping, "no mapping "
                                "without labels= (the metadata column(s) "
                                "it maps)")
            source = load_source(input_path, metadata_path, output_path,
                                 labels, label_mapping, continuous_labels,
                                 stratify_label, custom_stratification,
                                 projection_labels)
        self.source = source
        self.metadata = source.metadata
        self.inputs, self.outputs, self.labels = (
            source.inputs, source.outputs, source.labels)
        if patch_size is not None:
            patch_grid(self.inputs.shape[1:], patch_size)
            if (self.outputs is not None and
                    self.outputs.shape[2:] != self.inputs.shape[2:]):
                raise bad_value("patch_size", patch_size, "inputs and "
                                "outputs of one spatial shape (outputs: "
                                f"{self.outputs.shape[1:]}, inputs: "
                                f"{self.inputs.shape[1:]})")
        self.folds, self.test_indices, self.mask = split_indices(
            source, self.number_of_folds, test_size, sample_size,
            stratify_label, custom_stratification, projection_labels)
        # pynet's name: [(train indices, validation indices)] per fold
        self.generator = self.folds
        self.tensors = self._tensor_data(in_memory)
        self.dataset = self._datasets()

    def _tensor_data(self, in_memory: Optional[bool]) -> Optional[TensorData]:
        """Transform once and hold the arrays as tensors, when allowed."""
        fixed_in, rest_in = split_transforms(self.input_transforms)
        fixed_out, rest_out = split_transforms(self.output_transforms)
        blockers = []
        if rest_in or rest_out or self.data_augmentation_transforms:
            blockers.append("a transform must run per sample")
        if set(self.data_loader_kwargs) & WORKER_OPTIONS:
            blockers.append("DataLoader worker options were given")
        if self.patch_size is not None:
            blockers.append("patch_size was given")
        if inspect.isclass(self.sampler):
            blockers.append("a custom Sampler class was given")
        if self.inputs.nbytes > TENSOR_BATCHING_MAX_BYTES:
            blockers.append("the inputs exceed 4 GiB")
        if in_memory and blockers:
            raise bad_value("in_memory", in_memory,
                            f"False or None here: {'; '.join(blockers)}")
        if in_memory is False or blockers:
            return None
        inputs = apply_per_sample(self.inputs, fixed_in, "input")
        outputs = None
        if self.outputs is not None:
            outputs = apply_per_sample(self.outputs, fixed_out, "output")
        # float32 copies: memory-mapped arrays are read-only for torch
        inputs_t = torch.from_numpy(np.array(inputs, dtype=np.float32))
        outputs_t = None if outputs is None else torch.from_numpy(
            np.array(outputs, dtype=np.float32))
        if self.add_input:
            outputs_t = inputs_t if outputs_t is None else torch.cat(
                (outputs_t, inputs_t), dim=1)
        labels_t = None
        if self.labels is not None:
            labels_t = torch.as_tensor(np.asarray(self.labels)).float()
            labels_t = labels_t if self.continuous_labels else labels_t.long()
        return TensorData(inputs_t, outputs_t, labels_t)

    def _datasets(self) -> Dict[str, Any]:
        def make(indices, augment: bool) -> ArrayDataset:
            """pynet's per-sample view (loaders batch from tensors if any)."""
            extra = self.data_augmentation_transforms if augment else []
            return ArrayDataset(
                self.inputs, indices, labels=self.labels,
                outputs=self.outputs, add_input=self.add_input,
                input_transforms=self.input_transforms + extra,
                output_transforms=self.output_transforms + extra,
                patch_size=self.patch_size)
        test = None if self.test_indices is None else make(
            self.test_indices, False)
        return {"train": [make(train, True) for train, _ in self.folds],
                "validation": [make(val, False) for _, val in self.folds],
                "test": test}

    def __getitem__(self, item: str):
        if item not in ("train", "test", "validation"):
            raise bad_value("set", item, "'train', 'test' or 'validation'")
        return self.dataset[item]

    def get_dataloader(self, train: bool = False, validation: bool = False,
                       test: bool = False, fold_index: int = 0) -> SetItem:
        """Loaders of the requested sets (None for the others)."""
        if train or validation:
            self._check_fold(fold_index, train)
        loaders: Dict[str, Optional[BatchLoader]] = {
            "test": None, "train": None, "validation": None}
        if test:
            if self.dataset["test"] is None:
                raise MoEVAEValueError(
                    "test=True but there is no test set: build the "
                    "DataManager with test_size > 0 (or test_inputs)")
            loaders["test"] = self._loader(self.dataset["test"],
                                           self._evaluation_sampler())
        if train:
            sampler = self.sampler
            if sampler is None and self.data_loader_kwargs.get("shuffle"):
                sampler = "random"
            loaders["train"] = self._loader(
                self.dataset["train"][fold_index], sampler, training=True)
        if validation:
            loaders["validation"] = self._loader(
                self.dataset["validation"][fold_index],
                self._evaluation_sampler())
        return SetItem(**loaders)

    @staticmethod
    def get_mask(df, projection_labels: Optional[Dict] = None,
                 sample_size: float = 1) -> np.ndarray:
        """pynet's row filter: a random ``sample_size`` share of the rows of
        table ``df`` that match ``projection_labels`` (bool, one per row)."""
        return row_mask(df, projection_labels, sample_size)

    @staticmethod
    def get_mask_indices(mask: np.ndarray) -> np.ndarray:
        """pynet's helper: the indices where ``mask`` is True."""
        return np.flatnonzero(mask)

    def _check_fold(self, fold_index: int, train: bool) -> None:
        folds = self.dataset["train"]
        if not folds or (train and not len(folds[0])):
            why = ("the arrays hold no train set; expected train_inputs="
                   if self.source.preset_sets else "test_size=1 holds every "
                   "row out for testing; expected test_size < 1")
            asked = "train=True" if train else "validation=True"
            raise MoEVAEValueError(f"{asked} but there are no training rows: "
                                   f"{why}")
        if isinstance(fold_index, bool) or not isinstance(
                fold_index, (int, np.integer)) or not (
                0 <= fold_index < len(self.dataset["train"])):
            raise bad_value("fold_index", fold_index,
                            f"an integer in [0, {len(self.dataset['train'])})")

    def _evaluation_sampler(self) -> Optional[str]:
        return "random" if self.data_loader_kwargs.get("shuffle") else None

    def _check_shuffle(self) -> None:
        if self.data_loader_kwargs.get("shuffle") and self.sampler not in (
                None, "random"):
            raise bad_value("shuffle", True, f"False with sampler="
                            f"{self.sampler!r} (torch: sampler and shuffle "
                            "are mutually exclusive)")

    def _loader(self, dataset: ArrayDataset, sampler: Any,
                training: bool = False) -> BatchLoader:
        weights = None
        if sampler == "weighted_random":
            weights = torch.as_tensor(
                self.source.sample_weights(dataset.indices), dtype=torch.float)
            weights = weights.repeat_interleave(dataset.patches_per_sample)
        options = dict(self.data_loader_kwargs)
        generator = options.pop("generator", None)
        seed = None if generator is None else int(torch.randint(
            2 ** 62, (1,), generator=generator).item())
        options.pop("shuffle", None)
        # a score on fewer rows than the set holds would be silently wrong
        drop_last = bool(options.pop("drop_last", False)) and training
        return BatchLoader(dataset, self.batch_size, sampler=sampler,
                           tensors=self.tensors, weights=weights,
                           continuous_labels=self.continuous_labels,
                           seed=seed, drop_last=drop_last, **options)

    @classmethod
    def from_numpy(cls, test_inputs=None, test_outputs=None, test_labels=None,
                   train_inputs=None, train_outputs=None, train_labels=None,
                   validation_inputs=None, validation_outputs=None,
                   validation_labels=None, batch_size: int = 1,
                   sampler: Any = "random",
                   input_transforms: Optional[Sequence[Transform]] = None,
                   output_transforms: Optional[Sequence[Transform]] = None,
                   data_augmentation_transforms: Optional[
                       Sequence[Transform]] = None,
                   add_input: bool = False,
                   label_mapping: Optional[Dict] = None,
                   patch_size: Any = None,
                   continuous_labels: bool = False,
                   in_memory: Optional[bool] = None,
                   **dataloader_kwargs: Any) -> "DataManager":
        """A DataManager of arrays already split into sets (one fold).

        pynet's signature, plus ``in_memory`` and the DataLoader options of
        :class:`DataManager`; the splitting arguments (test_size,
        stratify_label...) do not apply and are refused.
        """
        for name in sorted(set(dataloader_kwargs) & (
                set(SPLIT_ARGS) | {"input_path"})):
            raise bad_value(name, dataloader_kwargs[name], "not given to "
                            "from_numpy: its arrays are already split")
        if sampler == "weighted_random":
            raise bad_value("sampler", sampler, "None, 'random' or a Sampler "
                            "class with from_numpy ('weighted_random' takes "
                            "its weights from a DataManager's "
                            "stratify_label)")
        sets = {"train": (train_inputs, train_outputs, train_labels),
                "validation": (validation_inputs, validation_outputs,
                               validation_labels),
                "test": (test_inputs, test_outputs, test_labels)}
        return cls(input_path=sets, metadata_path=None,
                   batch_size=batch_size, sampler=sampler,
                   input_transforms=input_transforms,
                   output_transforms=output_transforms,
                   data_augmentation_transforms=data_augmentation_transforms,
                   add_input=add_input, label_mapping=label_mapping,
                   patch_size=patch_size, continuous_labels=continuous_labels,
                   in_memory=in_memory, **dataloader_kwargs)


def _refuse_split_args(given: Dict[str, Any]) -> None:
    """Arrays given per set: the splitting arguments must keep defaults."""
    for name, default in SPLIT_ARGS.items():
        if given[name] is not default and given[name] != default:
            raise bad_value(name, given[name], f"{default!r} when "
                            "input_path is a dict of sets (not split)")
