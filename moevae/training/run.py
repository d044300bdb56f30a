"""One training run: its settings, where it stands, and resuming it.

A :class:`Run` carries what ``training()`` was asked for (folds, epochs,
scheduler, validation, checkpoint folder), the histories, and where the
loop starts (fold, epoch, partial sums). Its settings are checked before
any batch runs. Resuming from a checkpoint restores the saved state, and
then every setting given now either takes effect or is refused with one
line naming the saved and the new value (see :meth:`Run.resume`):

- ``nb_epochs``: the run trains up to the new count (more epochs continue
  a finished run); fewer than already trained is refused;
- optimizer hyper-parameters (learning rate, weight decay...): a value
  that differs from the one the saved run was built with replaces the
  saved one; an unchanged one keeps the saved (possibly scheduled) value;
- scheduler: the same class continues from its saved state, with changed
  settings applied; another class (or none) starts from now;
- batch size, validation, save interval, board, observers: take effect;
  a mid-epoch resume draws exactly the samples left in that epoch;
- the data (each fold's training rows), the fold, the model and the
  optimizer class must be the saved run's: refused otherwise.
"""
import contextlib
import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager, Dict, List, Optional, Tuple

import torch

from ..datasets import DataManager
from ..errors import CheckpointError, MoEVAEValueError, bad_value, check_positive_int
from ..history import History
from .checkpoint import Checkpointer, checkpoint_name
from .compatibility import check_compatible, fingerprint
from .distributed import Distributed
from .folds import checked_folds
from .hyperparameters import apply_changed_groups, group_settings, scheduler_settings
from .loading import load_model_state
from .rng import rng_states, set_rng_states
from .totals import EpochTotals

logger = logging.getLogger("moevae")
Scheduler = torch.optim.lr_scheduler.LRScheduler  # ReduceLROnPlateau too


@dataclass
class Run:
    """What one ``training()`` call was asked for and where it stands.

    It works on ``model`` and ``optimizer`` (their states are saved,
    restored and reset per fold), on ``device`` (RNG streams), and with
    ``distributed`` (rank 0 writes, every rank's RNG is saved).
    """
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    distributed: Distributed
    folds: List[int]
    nb_epochs: int
    scheduler: Optional[Scheduler] = None
    with_validation: bool = True
    save_after_epochs: int = 1
    checkpointer: Optional[Checkpointer] = None
    fingerprints: Dict[int, str] = field(default_factory=dict)
    train: History = field(default_factory=lambda: History(name="train"))
    valid: History = field(
        default_factory=lambda: History(name="validation"))
    initial: Dict[str, Any] = field(default_factory=dict)
    settings: Dict[str, Any] = field(default_factory=dict)
    # where the loop starts: (fold, first epoch) and a mid-epoch state
    start: Optional[Dict[str, Any]] = None

    # -- before any work ---------------------------------------------------
    @classmethod
    def plan(cls, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             device: torch.device, distributed: Distributed,
             manager: DataManager,
             nb_epochs: int, checkpointdir: Optional[str],
             fold_index: Optional[int], scheduler: Optional[Scheduler],
             with_validation: bool, save_after_epochs: int, resume: bool,
             keep_checkpoints: int = 2) -> "Run":
        """Check every setting of a ``training()`` call; raise one line.

        Nothing is written or changed: a refusal leaves everything as it
        was. Raises MoEVAEValueError.
        """
        check_positive_int("nb_epochs", nb_epochs)
        check_positive_int("save_after_epochs", save_after_epochs)
        if not isinstance(with_validation, bool):
            raise bad_value("with_validation", with_validation, "True/False")
        folds = checked_folds(manager, fold_index, with_validation,
                              distributed)
        if scheduler is not None and not hasattr(scheduler, "step"):
            raise bad_value("scheduler", scheduler, "None or a torch "
                            "learning-rate scheduler")
        if scheduler is not None and getattr(scheduler, "optimizer",
                                             None) not in (None, optimizer):
            raise bad_value("scheduler", type(scheduler).__name__,
                            "a scheduler of this interface's optimizer")
        if checkpointdir is None and resume:
            raise bad_value("resume", resume, "a checkpointdir to resume "
                            "from")
        checkpointer = None if checkpointdir is None else Checkpointer(
            checkpointdir, keep_checkpoints, single_fold=len(folds) == 1)
        if checkpointer is not None and not resume and checkpointer.existing():
            raise bad_value("checkpointdir", str(checkpointer.directory),
                            "an empty folder or resume=True (it holds the "
                            f"checkpoints of a run: "
                            f"{checkpointer.existing()[0].name})")
        run = cls(model, optimizer, device, distributed, folds, nb_epochs,
                  scheduler, with_validation, save_after_epochs, checkpointer)
        run.fingerprints = {fold: fingerprint(manager["train"][fold])
                            for fold in folds}
        run.settings = run.current_settings()
        return run

    def current_settings(self) -> Dict[str, Any]:
        """The settings asked for now (before any state is loaded): what a
        checkpoint records, to compare on resume."""
        return {"nb_epochs": self.nb_epochs, "folds": list(self.folds),
                "fingerprints": dict(self.fingerprints),
                "optimizer": {"class": type(self.optimizer).__name__,
                              "groups": group_settings(self.optimizer)},
                "scheduler": scheduler_settings(self.scheduler)}

    def folder_held(self) -> ContextManager[Any]:
        """The checkpoint folder, held by rank 0 while it trains."""
        if self.checkpointer is None or not self.distributed.is_main:
            return contextlib.nullcontext()
        return self.checkpointer.held()

    # -- start -------------------------------------------------------------
    def begin(self) -> None:
        """A fresh run: remember (and write) what every fold starts from."""
        self.initial = copy.deepcopy(
            {"model": self.model.state_dict(),
             "optimizer": self.optimizer.state_dict(),
             "scheduler": (self.scheduler.state_dict()
                           if self.scheduler is not None else None)})
        if self.checkpointer is not None and self.distributed.is_main:
            self.checkpointer.save_initial(self.initial)
        self.distributed.barrier()

    @property
    def folder(self) -> Checkpointer:
        """The checkpointer, for what needs one (resume, save): plan()
        refuses resume=True without a checkpointdir, and the loop saves
        only with one. Raises MoEVAEValueError otherwise."""
        if self.checkpointer is None:
            raise MoEVAEValueError("this run has no checkpointdir: nothing "
                                   "to resume or save")
        return self.checkpointer

    def resume(self) -> None:
        """Continue from the newest complete checkpoint (else begin)."""
        found = self.folder.newest()
        existing = self.folder.existing()
        if found is None and existing:
            raise CheckpointError(
                f"{self.folder.directory}: none of its checkpoints "
                f"({', '.join(p.name for p in existing[:3])}"
                f"{', ...' if len(existing) > 3 else ''}) is a complete "
                "moevae checkpoint; expected a moevae run's folder (nothing "
                "was changed)")
        if found is None:
            logger.warning("resume: no complete checkpoint in %s; starting "
                           "from the beginning", self.folder.directory)
            self.begin()
            return
        path, payload = found
        saved = payload.get("settings")
        fold, epoch, position = (payload["fold"], payload["epoch"],
                                 payload["position"])
        check_compatible(path, saved, fold, epoch, position, self.folds,
                         self.nb_epochs, self.fingerprints, self.optimizer,
                         self.settings["optimizer"]["groups"])
        before = copy.deepcopy((self.model.state_dict(),
                                self.optimizer.state_dict()))
        try:  # a refusal leaves the model and optimizer as they were
            load_model_state(self.model, payload["model"], path)
            self.optimizer.load_state_dict(payload["optimizer"])
        except (ValueError, KeyError) as error:
            self.model.load_state_dict(before[0])
            self.optimizer.load_state_dict(before[1])
            if isinstance(error, CheckpointError):
                raise
            raise CheckpointError(f"{path}: the optimizer state does not "
                                  f"match this optimizer ({error})") from None
        changed = [] if saved is None else apply_changed_groups(
            self.optimizer, saved["optimizer"]["groups"],
            self.settings["optimizer"]["groups"])
        self.restore_scheduler(payload.get("scheduler"), saved)
        if "lr" in changed and self.scheduler is not None and hasattr(
                self.scheduler, "base_lrs"):
            self.scheduler.base_lrs = [group.get("initial_lr", group["lr"])
                                       for group in self.optimizer.param_groups]
        self.train = History.from_dict(payload["histories"]["train"])
        self.valid = History.from_dict(payload["histories"]["validation"])
        self.folder.best = payload.get("best")
        self.initial = (payload.get("initial") or self.folder.load_initial()
                        or {})
        legacy = payload["format"].endswith("-1")
        done = position == 0 and epoch + 1 >= self.nb_epochs
        ranks = payload.get("rng_of_ranks") or [payload["rng"]]
        rng = (ranks[self.distributed.rank]
               if len(ranks) == self.distributed.world_size
               else payload["rng"])
        self.start = {"fold": fold, "epoch": epoch if position else epoch + 1,
                      "rng": rng, "loader": payload["loader"],
                      "partial": payload.get("partial") if position else None,
                      "fold_done": done}
        if not self.initial and (done or self.folds_to_train()[1:]):
            raise CheckpointError(
                f"{self.folder.directory}: no initial.pth, which the "
                f"folds after fold {fold} start from; expected the run's "
                "checkpoint folder")
        where = (f"{position} samples into epoch {epoch + 1}" if position
                 and not legacy else f"within epoch {epoch + 1}" if position
                 else f"after epoch {epoch + 1}")
        logger.info("resume: continuing from %s (fold %d, %s: file names "
                    "count epochs from 0, as pynet's) up to epoch %d",
                    path.name, fold, where, self.nb_epochs)

    def restore_scheduler(self, state: Optional[Dict[str, Any]],
                          saved: Optional[Dict[str, Any]]) -> None:
        now = self.settings["scheduler"]
        before: Optional[Dict[str, Any]] = saved["scheduler"] if saved else (
            {"class": None} if state is None else None)
        if self.scheduler is None:
            if before is None or before["class"] is not None:
                logger.info("resume: the saved run's scheduler is not given "
                            "now; training goes on without one")
            return
        if state is None or (before is not None and
                             before["class"] != now["class"]):
            logger.info("resume: scheduler %s starts now (the saved run "
                        "had %s)", now["class"], before and before["class"])
            return
        fresh = self.scheduler.state_dict()
        self.scheduler.load_state_dict(state)
        if before is None:
            return
        settings_before: Dict[str, Any] = before["settings"]
        changed = {key: value for key, value in now["settings"].items()
                   if settings_before.get(key) != value}
        for key, value in changed.items():
            logger.info("resume: scheduler %s %r (the saved run had %r)",
                        key, value, settings_before.get(key))
            setattr(self.scheduler, key, copy.deepcopy(fresh[key]))

    # -- the loop's questions ----------------------------------------------
    def folds_to_train(self) -> List[int]:
        if self.start is None:
            return list(self.folds)
        index = self.folds.index(self.start["fold"])
        return self.folds[index + (1 if self.start["fold_done"] else 0):]

    def enter_fold(self, fold: int) -> Optional[Dict[str, Any]]:
        """Set up ``fold`` before its loaders are made; returns the saved
        position within it (for :meth:`position_in_fold`), or None when
        the fold starts afresh.

        The RNG streams are restored where an uninterrupted run had them:
        before the loaders draw their seeds when the fold starts afresh,
        after it when the fold is resumed (see :meth:`position_in_fold`).
        """
        start, self.start = self.start, None
        if start is not None and start["fold"] == fold and (
                not start["fold_done"]):
            return start
        if start is not None:
            set_rng_states(start["rng"], self.device)
        self.reset_to_initial()
        return None

    def position_in_fold(self, start: Optional[Dict[str, Any]],
                         train_loader: Any
                         ) -> Tuple[int, Optional[EpochTotals]]:
        """(first epoch, the partial sums of a mid-epoch checkpoint) of a
        fold whose training loader was just made; the RNG streams and the
        loader's order are put where the checkpoint left them."""
        if start is None:
            return 0, None
        set_rng_states(start["rng"], self.device)
        if start["loader"] is not None and hasattr(train_loader,
                                                   "load_state_dict"):
            train_loader.load_state_dict(start["loader"])
        partial = start["partial"]
        return start["epoch"], None if partial is None else (
            EpochTotals.from_state(partial, self.device))

    def reset_to_initial(self) -> None:
        """Every fold starts from the same weights and optimizer state."""
        self.model.load_state_dict(self.initial["model"])
        self.optimizer.load_state_dict(self.initial["optimizer"])
        if self.scheduler is not None and self.initial["scheduler"]:
            self.scheduler.load_state_dict(self.initial["scheduler"])

    def step_scheduler(self, loss: float) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler,
                      torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(loss)
        else:
            self.scheduler.step()

    def should_save(self, epoch: int) -> bool:
        return self.checkpointer is not None and (
            epoch % self.save_after_epochs == 0 or
            epoch == self.nb_epochs - 1)

    def save(self, fold: int, epoch: int, loader: Any,
             totals: Optional[EpochTotals] = None,
             val_loss: Optional[float] = None) -> Path:
        """Checkpoint the run (mid-epoch when ``totals`` is given); under
        torchrun rank 0 writes it, with every rank's RNG states."""
        rng_of_ranks = self.distributed.gathered(rng_states(self.device))
        if not self.distributed.is_main:  # the others wait for the file
            self.distributed.barrier()
            return self.folder.directory / checkpoint_name(
                fold, epoch, loader.position if totals is not None else 0)
        loader_state = (loader.state_dict() if hasattr(loader, "state_dict")
            else None)
        position = (loader_state["samples"] if totals is not None and
            loader_state else 0)
        payload = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": (self.scheduler.state_dict()
                          if self.scheduler is not None else None),
            "histories": {"train": self.train.to_dict(),
                          "validation": self.valid.to_dict()},
            "rng": rng_of_ranks[0], "loader": loader_state,
            "partial": totals.state_dict() if totals is not None else None,
            "settings": self.settings}
        if len(rng_of_ranks) > 1:
            payload["rng_of_ranks"] = rng_of_ranks
        path = self.folder.save(payload, fold, epoch, position,
                                      val_loss)
        self.distributed.barrier()
        return path
