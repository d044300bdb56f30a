"""BatchLoader: mini-batches drawn by index, with a resumable order.

Two ways to build a batch, one sampling logic:
- tensor batching (the default whenever no transform must run per sample):
  the whole transformed arrays sit in one :class:`TensorData`, on the
  training device once ``to(device)`` was called, and a batch is one
  ``index_select`` per array: no per-sample Python, no collate;
- per-sample batching, as pynet does it, for augmentation and seeded
  transforms: ``dataset[i]`` for each sample, then ``collate``
  (:mod:`moevae.datasets` stacks them as pynet does), through a torch
  ``DataLoader`` when ``dataloader_kwargs`` (workers...) are given.

The order of an epoch comes from the loader's own ``torch.Generator``;
:meth:`BatchLoader.state_dict` records it with the epoch's order and the
samples drawn so far, so a run resumed from a checkpoint draws exactly the
samples it would have (with any batch size).
"""
import functools
import inspect
import math
from typing import Any, Dict, Iterator, NamedTuple, Optional, Tuple

import torch
from torch.utils.data import DataLoader, Sampler

from ..errors import MoEVAEValueError, bad_value
from .arrays import ArrayDataset, DataItem, collate


class BatchShare(NamedTuple):
    """This rank's rows ``start:stop`` of a global batch of ``size`` rows,
    cut over ``world_size`` ranks (the loader yields it with the batch)."""
    start: int
    stop: int
    size: int
    world_size: int

    @property
    def weight(self) -> float:
        """rows here x ranks / rows of the batch: 1.0 for even shares.
        A per-rank mean times this weight, averaged over the ranks (as DDP
        averages gradients), is the mean over the whole batch."""
        return (self.stop - self.start) * self.world_size / self.size


class TensorData:
    """Inputs, outputs and labels of a whole data set as tensors."""

    def __init__(self, inputs: torch.Tensor, outputs: Optional[torch.Tensor],
                 labels: Optional[torch.Tensor]):
        self.inputs, self.outputs, self.labels = inputs, outputs, labels
        self.device = inputs.device

    def to(self, device: torch.device) -> "TensorData":
        """Move every array to ``device`` (once; outputs may be inputs)."""
        device = torch.device(device)
        if device != self.device:
            shared = self.outputs is self.inputs
            self.inputs = self.inputs.to(device)
            self.outputs = self.inputs if shared else _move(self.outputs,
                                                            device)
            self.labels = _move(self.labels, device)
            self.device = device
        return self

    def batch(self, rows: torch.Tensor) -> DataItem:
        """The samples at dataset ``rows`` (a LongTensor on self.device)."""
        inputs = self.inputs.index_select(0, rows)
        if self.outputs is self.inputs:
            outputs = inputs
        else:
            outputs = _select(self.outputs, rows)
        return DataItem(inputs, outputs, _select(self.labels, rows))


def _move(tensor: Optional[torch.Tensor], device) -> Optional[torch.Tensor]:
    return None if tensor is None else tensor.to(device)


def _select(tensor: Optional[torch.Tensor], rows: torch.Tensor):
    return None if tensor is None else tensor.index_select(0, rows)


def sampler_order(sampler: type, dataset: ArrayDataset,
                  generator: Optional[torch.Generator] = None
                  ) -> torch.Tensor:
    """The positions a torch ``Sampler`` class draws from ``dataset``.

    pynet builds the class as ``sampler(dataset)``; a class that takes a
    ``generator`` (RandomSampler...) also gets the loader's, so its order is
    seeded and resumes like 'random'. The positions must be integers in
    [0, len(dataset)). Returns a 1-D int64 tensor. Raises MoEVAEValueError
    naming the class otherwise.
    """
    name = getattr(sampler, "__name__", repr(sampler))
    expected = ("a Sampler class built as sampler(dataset) that yields "
               f"positions in [0, {len(dataset)})")
    options = {}
    try:
        if "generator" in inspect.signature(sampler).parameters:
            options["generator"] = generator
    except (TypeError, ValueError):  # no signature to read
        pass
    try:
        order = torch.as_tensor(list(sampler(dataset, **options)))
    except (TypeError, ValueError, RuntimeError) as error:
        raise bad_value("sampler", name, f"{expected} ({error})") from None
    if len(order) == 0:
        return order.long()
    if (order.ndim != 1 or order.is_floating_point() or
            order.dtype == torch.bool):
        raise bad_value("sampler", name, f"{expected} (it drew a "
                        f"{order.dtype} tensor of shape {tuple(order.shape)})")
    outside = order[(order < 0) | (order >= len(dataset))]
    if len(outside):
        raise bad_value("sampler", name, f"{expected} (it drew position "
                        f"{int(outside[0])})")
    return order.long()


class BatchLoader:
    """Iterate over ``dataset`` in mini-batches of ``batch_size``.

    Parameters
    ----------
    dataset: the ArrayDataset (its ``indices`` select the rows).
    batch_size: samples per batch; the last batch may be smaller.
    sampler: None (in order), 'random', 'weighted_random' (needs
        ``weights``, one per sample) or a torch ``Sampler`` class.
    tensors: the whole arrays as tensors, for tensor batching; None for
        per-sample batching.
    seed: seeds the loader's generator (default: drawn from torch's RNG).
    drop_last: skip the last batch of an epoch when it is incomplete.
    dataloader_kwargs: torch DataLoader worker options (per-sample path).
    """

    def __init__(self, dataset: ArrayDataset, batch_size: int,
                 sampler: Any = None, tensors: Optional[TensorData] = None,
                 weights: Optional[torch.Tensor] = None,
                 continuous_labels: bool = False, seed: Optional[int] = None,
                 drop_last: bool = False, **dataloader_kwargs: Any):
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.tensors = tensors
        self.weights = weights
        self.collate_fn = functools.partial(
            collate, continuous_labels=continuous_labels)
        self.dataloader_kwargs = dataloader_kwargs
        if seed is None:
            seed = int(torch.randint(2 ** 62, (1,)).item())
        self.generator = torch.Generator().manual_seed(seed)
        self._rows: Optional[torch.Tensor] = None
        self._order: Optional[torch.Tensor] = None  # the current epoch's
        self._resume_order: Optional[torch.Tensor] = None
        self._resume_position = 0
        self.position = 0  # samples drawn in the current epoch
        self._share = (0, 1)  # (rank, number of ranks): see shard()

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.dataset) // self.batch_size
        batches = math.ceil(len(self.dataset) / self.batch_size)
        tail = len(self.dataset) % self.batch_size
        if 0 < tail < self._share[1]:
            batches -= 1  # skipped when sharded: see shard()
        return batches

    @property
    def device(self) -> torch.device:
        return self.tensors.device if self.tensors else torch.device("cpu")

    def to(self, device: torch.device) -> "BatchLoader":
        """Put the data on ``device`` (tensor batching only)."""
        if self.tensors is not None:
            self.tensors.to(device)
            self._rows = None
        return self

    def epoch_order(self) -> torch.Tensor:
        """Positions (into dataset.indices) of one epoch, in draw order."""
        size = len(self.dataset)
        if self.sampler is None:
            return torch.arange(size)
        if self.sampler == "random":
            return torch.randperm(size, generator=self.generator)
        if self.sampler == "weighted_random" and self.weights is not None:
            return torch.multinomial(self.weights, size, replacement=True,
                                     generator=self.generator)
        if inspect.isclass(self.sampler) and issubclass(self.sampler, Sampler):
            return sampler_order(self.sampler, self.dataset, self.generator)
        raise ValueError(f"sampler={self.sampler!r} is not supported")

    def shard(self, rank: int, world_size: int) -> "BatchLoader":
        """Yield only rank ``rank``'s share of each batch (torchrun).

        Every rank draws the same order (the generator must be in the same
        state on each: see moevae.training.distributed); each batch of
        ``batch_size`` positions is cut into ``world_size`` contiguous
        shares (sizes differing by one at most) and this rank takes its
        own, so that each sample is drawn once per epoch over all ranks. A
        last batch smaller than ``world_size`` is skipped (every rank must
        take the same number of steps). ``position`` still counts the
        samples of the whole batches, so checkpoints do not depend on the
        number of processes.
        """
        self._share = (rank, world_size)
        return self

    def __iter__(self) -> Iterator[DataItem]:
        for item, _ in self.shared_batches():
            yield item

    def shared_batches(self) -> Iterator[Tuple[DataItem, Optional[BatchShare]]]:
        """(batch, its share of the global batch) pairs; the share is None
        unless :meth:`shard` made this loader one rank's of several."""
        if self._resume_order is not None:
            order, start = self._resume_order, self._resume_position
            self._resume_order, self._resume_position = None, 0
        else:
            order, start = self.epoch_order(), 0
        self._order, self.position = order, start
        rest = order[start:]
        chunks = rest.split(self.batch_size) if len(rest) else ()
        if self.drop_last and chunks and len(chunks[-1]) < self.batch_size:
            chunks = chunks[:-1]
        rank, world = self._share
        if world > 1:
            chunks = [chunk for chunk in chunks if len(chunk) >= world]
            parts = [chunk.tensor_split(world) for chunk in chunks]
            sizes = [[len(part) for part in split] for split in parts]
            shares = [split[rank] for split in parts]
        else:
            sizes, shares = [], list(chunks)
        for index, (chunk, batch) in enumerate(zip(chunks,
                                                   self._batches(shares))):
            share = None
            if sizes:  # rows start:stop of the global batch are this rank's
                start = sum(sizes[index][:rank])
                share = BatchShare(start, start + sizes[index][rank],
                                   len(chunk), world)
            self.position += len(chunk)
            yield batch, share
        self._order, self.position = None, 0

    def _batches(self, chunks) -> Iterator[DataItem]:
        if not chunks:  # resumed after the epoch's last batch
            return
        if self.tensors is not None:
            rows = self._dataset_rows()
            # one host-to-device copy per epoch: the chunks become views
            ordered = rows[torch.cat(chunks).to(rows.device)]
            for rows_of_batch in ordered.split([len(c) for c in chunks]):
                yield self.tensors.batch(rows_of_batch)
        elif self.dataloader_kwargs:
            yield from DataLoader(
                self.dataset, batch_sampler=[c.tolist() for c in chunks],
                collate_fn=self.collate_fn, **self.dataloader_kwargs)
        else:
            for chunk in chunks:
                yield self.collate_fn([self.dataset[i] for i in chunk.tolist()])

    def _dataset_rows(self) -> torch.Tensor:
        if self._rows is None:
            self._rows = torch.as_tensor(self.dataset.indices).to(
                self.device)
        return self._rows

    def state_dict(self) -> Dict[str, Any]:
        """Generator state, and mid-epoch the epoch's order and the samples
        already drawn from it: a resumed epoch draws exactly the rest,
        whatever the batch size is then."""
        order = self._order if self.position > 0 else None
        return {"generator": self.generator.get_state(),
                "order": None if order is None else order.clone(),
                "samples": 0 if order is None else self.position}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` (at its sample, if mid-epoch).

        Raises MoEVAEValueError when the saved epoch's order does not fit
        this data set.
        """
        self.generator.set_state(state["generator"])
        if "samples" not in state:  # format 1: the batches drawn
            self._load_batch_position(state)
            return
        order = state.get("order")
        if order is None or not state["samples"]:
            return
        if len(order) and int(order.max()) >= len(self.dataset):
            raise MoEVAEValueError(
                f"the checkpoint's epoch draws sample {int(order.max())} but "
                f"this training set has {len(self.dataset)}; expected the "
                "same data as the saved run")
        self._resume_order = order
        self._resume_position = int(state["samples"])

    def _load_batch_position(self, state: Dict[str, Any]) -> None:
        batches = int(state["position"])
        if batches:  # the generator state was taken at the epoch start
            self._resume_order = self.epoch_order()
            self._resume_position = batches * self.batch_size
