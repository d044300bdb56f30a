"""What a run carries between epochs, and picking it up from a checkpoint.

:class:`RunState` holds the histories, the initial states every fold starts
from, the scheduler and the best validation loss; it writes checkpoints.
:class:`ResumePoint` reads the newest valid checkpoint back and tells the
training loop where to continue.
"""
import copy
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

from . import checkpoint as ckpt
from .engine import EpochTotals
from .errors import CheckpointError
from .history import History

logger = logging.getLogger("moevae")


class RunState:
    """Histories, initial states and best loss of one training() call."""

    def __init__(self, net, scheduler: Any, with_validation: bool,
                 folds: List[int], nb_epochs: int):
        self.net, self.scheduler = net, scheduler
        self.with_validation, self.folds = with_validation, folds
        self.nb_epochs = nb_epochs
        self.train = History(name="train")
        self.valid = History(name="validation")
        self.best: Optional[float] = None
        self.initial = {
            "model": copy.deepcopy(net.model.state_dict()),
            "optimizer": copy.deepcopy(net.optimizer.state_dict()),
            "scheduler": (copy.deepcopy(scheduler.state_dict())
                          if scheduler is not None else None)}

    def reset_to_initial(self) -> None:
        """Every fold starts from the same weights and optimizer state."""
        self.net.model.load_state_dict(self.initial["model"])
        self.net.optimizer.load_state_dict(self.initial["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(self.initial["scheduler"])

    def step_scheduler(self, loss: float) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler,
                      torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(loss)
        else:
            self.scheduler.step()

    def payload(self, loader: Any, totals: Optional[EpochTotals]
                ) -> Dict[str, Any]:
        net = self.net
        return {
            "model": net.model.state_dict(),
            "optimizer": net.optimizer.state_dict(),
            "scheduler": (self.scheduler.state_dict()
                          if self.scheduler is not None else None),
            "histories": {"train": self.train.to_dict(),
                          "validation": self.valid.to_dict()},
            "rng": ckpt.rng_states(),
            "loader": (loader.state_dict() if hasattr(loader, "state_dict")
                       else None),
            "partial": totals.state_dict() if totals is not None else None,
            "initial": self.initial,
            "best": self.best,
            "nb_epochs": self.nb_epochs,
        }

    def save(self, directory: Path, fold: int, epoch: int, loader: Any,
             val_loss: Optional[float],
             totals: Optional[EpochTotals] = None) -> Path:
        """Checkpoint now; keep the newest N and the best by val_loss."""
        improved = val_loss is not None and (self.best is None or
                                             val_loss < self.best)
        if improved:
            self.best = val_loss
        position = totals.batches if totals is not None else 0
        path = ckpt.save_checkpoint(directory, self.payload(loader, totals),
                                    fold, epoch, position)
        if improved:
            ckpt.copy_best(path)
        ckpt.prune(directory, self.net.keep_checkpoints)
        return path


class ResumePoint:
    """Where a resumed run continues: fold, epoch, batch and RNG states."""

    def __init__(self, path: Path, payload: Dict[str, Any]):
        self.path, self.payload = path, payload
        self.fold, self.epoch = payload["fold"], payload["epoch"]
        self.position = payload["position"]
        self.fold_done = (self.position == 0 and
                          self.epoch >= payload["nb_epochs"] - 1)

    @classmethod
    def find(cls, directory: Path, net, state: RunState
             ) -> Optional["ResumePoint"]:
        """Load the newest valid checkpoint into ``net`` and ``state``."""
        found = ckpt.newest_valid(directory)
        if found is None:
            logger.warning("resume: no valid checkpoint in %s; starting "
                           "from scratch", directory)
            return None
        point = cls(*found)
        point.restore(net, state)
        logger.info("resume: continuing from %s (fold %d, epoch %d%s)",
                    point.path.name, point.fold, point.epoch + 1,
                    f", batch {point.position}" if point.position else "")
        return point

    def restore(self, net, state: RunState) -> None:
        payload = self.payload
        ckpt.load_model_state(net.model, payload["model"], self.path)
        try:
            net.optimizer.load_state_dict(payload["optimizer"])
            if state.scheduler is not None and payload["scheduler"]:
                state.scheduler.load_state_dict(payload["scheduler"])
        except (ValueError, KeyError) as error:
            raise CheckpointError(f"{self.path}: optimizer or scheduler "
                                  f"state does not match ({error})") from None
        state.train = History.from_dict(payload["histories"]["train"])
        state.valid = History.from_dict(payload["histories"]["validation"])
        state.initial, state.best = payload["initial"], payload["best"]

    def skips_fold(self, fold: int) -> bool:
        return fold < self.fold or (fold == self.fold and self.fold_done)

    def within_fold(self, fold: int) -> bool:
        return fold == self.fold and not self.fold_done

    def restore_rng(self) -> None:
        ckpt.set_rng_states(self.payload["rng"])

    def enter_fold(self, loader: Any, device: torch.device
                   ) -> Tuple[int, Optional[EpochTotals]]:
        """Restore RNG and data order; return (first epoch, partial sums)."""
        self.restore_rng()
        if self.payload["loader"] is not None and hasattr(
                loader, "load_state_dict"):
            loader.load_state_dict(self.payload["loader"])
        if self.position:
            return self.epoch, EpochTotals.from_state(self.payload["partial"],
                                                      device)
        return self.epoch + 1, None
