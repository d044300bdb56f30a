"""The running sums of an epoch, on the device, read once per epoch.

Under torchrun each rank sums its own share of every batch; a share's
values are weighted by its size (``weight`` = rows here x ranks / rows of
the global batch), so that :meth:`EpochTotals.all_reduce` gives every rank
the means of one process over the whole batch, also when the shares are
uneven.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch

from .distributed import Distributed


@dataclass
class EpochTotals:
    """Running sums of an epoch (device tensors), resumable mid-epoch."""
    batches: int = 0
    samples: int = 0
    kept: Optional[torch.Tensor] = None
    sums: Dict[str, torch.Tensor] = field(default_factory=dict)
    batch_losses: List[torch.Tensor] = field(default_factory=list)
    counted_flags: List[torch.Tensor] = field(default_factory=list)

    def add(self, loss: torch.Tensor, components: Dict[str, torch.Tensor],
            samples: int, finite: torch.Tensor, weight: float = 1.0) -> None:
        """Count a batch; a non-finite one adds nothing to the sums.

        loss, components: 0-d tensors; finite: a 0-d bool tensor; weight:
        this share's weight (1.0 outside torchrun, see the module doc).
        """
        self.batches += 1
        self.samples += samples
        # an even share (and one process) weighs 1: no extra kernel per value
        weigh = ((lambda value: value) if weight == 1.0 else
                 (lambda value: value * weight))
        loss = loss.detach().float()
        self.batch_losses.append(weigh(loss))
        self.counted_flags.append(finite)
        self.kept = finite.float() if self.kept is None else (
            self.kept + finite)
        for name, value in (("loss", loss), *components.items()):
            value = torch.where(finite, weigh(value.detach().float()), 0.0)
            self.sums[name] = (self.sums[name] + value if name in self.sums
                               else value)

    def all_reduce(self, distributed: Distributed) -> "EpochTotals":
        """The sums over every rank, in place (one all-reduce): every rank
        then reports the same means. Nothing to do with one process."""
        if not distributed.active or self.kept is None:
            return self
        names = list(self.sums)
        losses = torch.stack(self.batch_losses)
        flat = torch.cat([self.kept.reshape(1).float(),
                          torch.stack([self.sums[n] for n in names]),
                          torch.tensor([float(self.samples)],
                                       device=losses.device), losses])
        flat = distributed.sum(flat)
        self.samples = int(flat[len(names) + 1])
        flat = flat / distributed.world_size  # every rank counts each batch
        self.kept = flat[0]
        self.sums = dict(zip(names, flat[1:len(names) + 1].unbind()))
        self.batch_losses = list(flat[len(names) + 2:].unbind())
        return self

    @property
    def counted(self) -> int:
        """Batches whose loss was finite (one host sync)."""
        return 0 if self.kept is None else int(self.kept.item())

    def means(self) -> Dict[str, float]:
        """Mean of each component over the counted batches (one sync)."""
        if self.kept is None:
            return {}
        names = list(self.sums)
        values = torch.stack([self.kept] + [self.sums[n] for n in names]
                             ).cpu().tolist()
        kept = max(values[0], 1.0)
        return {name: value / kept for name, value in
                zip(names, values[1:])}

    def first_nonfinite(self) -> Optional[int]:
        """1-based index (in this process's batches) of the first batch
        that did not count (a non-finite loss or gradient), or None."""
        if not self.counted_flags:
            return None
        bad = (~torch.stack(self.counted_flags)).nonzero()
        return int(bad[0]) + 1 if len(bad) else None

    def state_dict(self) -> Dict[str, Any]:
        return {"batches": self.batches, "samples": self.samples,
                "kept": None if self.kept is None else self.kept.cpu(),
                "sums": {k: v.cpu() for k, v in self.sums.items()},
                "batch_losses": [v.cpu() for v in self.batch_losses]}

    @classmethod
    def from_state(cls, state: Dict[str, Any], device: torch.device
                   ) -> "EpochTotals":
        kept = state.get("kept")
        if kept is None and state["batches"]:  # format-1 checkpoints
            kept = torch.tensor(float(state["batches"]))
        return cls(state["batches"], state["samples"],
                   None if kept is None else kept.to(device),
                   {k: v.to(device) for k, v in state["sums"].items()},
                   [v.to(device) for v in state["batch_losses"]])
