"""More than one process: torchrun's environment, PyTorch's process group
and DistributedDataParallel (nothing home-made).

``torchrun --nproc_per_node N script.py`` starts N copies of a script and
sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in each. A
DeepLearningInterface built there joins the process group (gloo on the
CPU, NCCL on CUDA with one GPU per local rank) and trains a
DistributedDataParallel copy of its model; outside torchrun nothing of this
is used. The rules (see also moevae.datasets.loaders.BatchLoader.shard):

- every rank draws the same epoch order and takes a disjoint share of each
  global batch (``batch_size`` stays the global batch); the loader yields
  each share with its :class:`~moevae.datasets.BatchShare`;
- the loss of a share (a mean over its rows) is weighted by the share's
  size before backward
  (:attr:`~moevae.datasets.BatchShare.weight`), so DDP's average
  of the ranks' gradients is the gradient of the whole batch's mean, also
  for uneven shares; a last batch with fewer rows than ranks is refused
  before training starts (:meth:`Distributed.check_shares`);
- a loss term that is a statistic of the whole batch (the balancing term of
  :class:`moevae.losses.ManagerLoss`) uses
  :func:`moevae.models.global_batch.batch_sum`, an all-reduce that carries
  gradients, and the experts' noise is drawn for the whole batch
  (:func:`moevae.models.global_batch.batch_noise`), so N processes train
  the objective of one;
- an epoch's loss sums are all-reduced once: every rank logs the same
  numbers;
- only rank 0 runs side-effect observers (the board), writes checkpoints
  and files; the others wait at a barrier where needed.
"""
import atexit
import datetime
import logging
import os
from dataclasses import dataclass
from typing import Any, List

import torch
import torch.distributed as dist

from ..errors import MoEVAEValueError

logger = logging.getLogger("moevae")


TIMEOUT = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class Distributed:
    """This process's place among torchrun's: rank, local rank, world."""
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @classmethod
    def from_environment(cls) -> "Distributed":
        """torchrun's variables; one process (rank 0 of 1) without them."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            if world <= 1:
                return cls()
            return cls(int(os.environ["RANK"]),
                       int(os.environ.get("LOCAL_RANK", "0")), world)
        except (KeyError, ValueError) as error:
            raise MoEVAEValueError(
                f"torchrun's environment is incomplete ({error}): expected "
                "integers in RANK, LOCAL_RANK and WORLD_SIZE") from None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One GPU per local rank; the CPU stays the CPU."""
        if self.active and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def join(self, device: torch.device) -> None:
        """Initialise the process group (once per process)."""
        if not self.active or dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or "0"
        if restart == "0" or "MASTER_PORT" not in os.environ:
            dist.init_process_group(backend, timeout=TIMEOUT)
        else:  # keys of the failed attempt can linger in the agent's store
            # and send gloo to a dead peer: each attempt gets its own prefix
            agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
            store = dist.TCPStore(
                os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                self.world_size, is_master=not agent and self.is_main,
                timeout=TIMEOUT, multi_tenant=not agent)
            dist.init_process_group(
                backend, store=dist.PrefixStore(f"moevae/restart_{restart}",
                                                store),
                rank=self.rank, world_size=self.world_size, timeout=TIMEOUT)
        # the group moevae created is taken down before the interpreter
        # ends: left to destructors, gloo's threads can abort the process
        atexit.register(leave_process_group)
        logger.debug("rank %d of %d joined the process group", self.rank,
                     self.world_size)

    def wrap(self, model: torch.nn.Module, device: torch.device
             ) -> torch.nn.Module:
        """A DistributedDataParallel copy of ``model`` (itself alone)."""
        if not self.active:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model,
                                                         device_ids=ids)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def all(self, flag: torch.Tensor) -> torch.Tensor:
        """A bool tensor, True where it is True on every rank."""
        if not self.active:
            return flag
        value = flag.to(torch.float32).clone()
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return value.bool()

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when ``flag`` is True on one of them."""
        if not self.active:
            return flag
        value = torch.tensor(float(flag), device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` summed over every rank (a new tensor; the same
        tensor with one process)."""
        if not self.active:
            return values
        total = values.clone()
        dist.all_reduce(total)
        return total

    def check_shares(self, rows: int, batch_size: int, drop_last: bool,
                     fold: int) -> None:
        """Refuse a batch size, or a training set whose last batch, has
        fewer rows than there are ranks: some rank would get no row of it,
        and skipping it would train another objective than one process.

        Raises MoEVAEValueError naming the sizes and the ways out.
        """
        if self.active and batch_size < self.world_size:
            raise MoEVAEValueError(
                f"batch_size={batch_size}: fewer rows in a batch than the "
                f"{self.world_size} processes (some would train on none); "
                f"expected a batch size of at least {self.world_size}")
        tail = rows % batch_size
        if self.active and not drop_last and 0 < tail < self.world_size:
            raise MoEVAEValueError(
                f"batch_size={batch_size}: fold {fold}'s {rows} training "
                f"rows leave a last batch of {tail} row(s), fewer than the "
                f"{self.world_size} processes; expected a batch size that "
                "leaves no such batch, or drop_last=True in the "
                "DataManager's dataloader options")

    def gathered(self, value: Any) -> List[Any]:
        """[value of rank 0, of rank 1, ...] on every rank."""
        if not self.active:
            return [value]
        values: List[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def same_as_main(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (any picklable object)."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def leave_process_group() -> None:
    """Destroy the default process group, if there still is one."""
    if dist.is_available() and dist.is_initialized():
        try:  # every rank leaves together (a peer gone: 30 s at most)
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=datetime.timedelta(seconds=30))
            dist.destroy_process_group()
        except Exception as error:  # exiting: say it, never raise
            logger.debug("process group not destroyed cleanly: %s", error)


def restarted_by_torchrun() -> bool:
    """True in a worker that torchrun's agent restarted after a failure."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0) > 0
