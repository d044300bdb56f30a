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
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, List, Optional, \
    Tuple

import numpy as np
import torch

from .checkpoint import Checkpointer, checkpoint_name, load_model_state
from ..errors import (CheckpointError, MoEVAEValueError, bad_value,
                      check_positive_int)
from ..history import History
from .hyperparameters import (apply_changed_groups, check_group_changes,
                              group_settings, scheduler_settings)
from .rng import rng_states, set_rng_states
from .step import EpochTotals

logger = logging.getLogger("moevae")



@dataclass
class Run:
    """What one ``training()`` call was asked for and where it stands."""
    folds: List[int]
    nb_epochs: int
    scheduler: Any = None
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
    def plan(cls, net: Any, manager: Any, nb_epochs: int,
             checkpointdir: Optional[str], fold_index: Optional[int],
             scheduler: Any, with_validation: bool, save_after_epochs: int,
             resume: bool) -> "Run":
        """Check every setting of a ``training()`` call; raise one line."""
        check_positive_int("nb_epochs", nb_epochs)
        check_positive_int("save_after_epochs", save_after_epochs)
        if not isinstance(with_validation, bool):
            raise bad_value("with_validation", with_validation, "True/False")
        folds = fold_list(manager, fold_index)
        for fold in folds:
            if not len(manager["train"][fold]):
                raise MoEVAEValueError(f"fold {fold}'s training set is empty")
            if with_validation and not len(manager["validation"][fold]):
                raise MoEVAEValueError(
                    f"with_validation=True but fold {fold}'s validation set "
                    "is empty: pass with_validation=False, or build the "
                    "DataManager with validation data")
        if scheduler is not None and not hasattr(scheduler, "step"):
            raise bad_value("scheduler", scheduler, "None or a torch "
                            "learning-rate scheduler")
        if scheduler is not None and getattr(scheduler, "optimizer", None) \
                not in (None, net.optimizer):
            raise bad_value("scheduler", type(scheduler).__name__,
                            "a scheduler of this interface's optimizer")
        if checkpointdir is None and resume:
            raise bad_value("resume", resume, "a checkpointdir to resume "
                            "from")
        checkpointer = None if checkpointdir is None else Checkpointer(
            checkpointdir, net.keep_checkpoints)
        if checkpointer is not None and not resume and checkpointer.existing():
            raise bad_value("checkpointdir", str(checkpointer.directory),
                            "an empty folder or resume=True (it holds the "
                            f"checkpoints of a run: "
                            f"{checkpointer.existing()[0].name})")
        run = cls(folds, nb_epochs, scheduler, with_validation,
                  save_after_epochs, checkpointer)
        run.fingerprints = {fold: fingerprint(manager["train"][fold])
                            for fold in folds}
        run.settings = run.current_settings(net)
        return run

    def current_settings(self, net: Any) -> Dict[str, Any]:
        """The settings asked for now (before any state is loaded): what a
        checkpoint records, to compare on resume."""
        return {"nb_epochs": self.nb_epochs, "folds": list(self.folds),
                "fingerprints": dict(self.fingerprints),
                "optimizer": {"class": type(net.optimizer).__name__,
                              "groups": group_settings(net.optimizer)},
                "scheduler": scheduler_settings(self.scheduler)}

    def folder_held(self, net: Any) -> ContextManager[Any]:
        """The checkpoint folder, held by rank 0 while it trains."""
        if self.checkpointer is None or not net.distributed.is_main:
            return contextlib.nullcontext()
        return self.checkpointer.held()

    # -- start -------------------------------------------------------------
    def begin(self, net: Any) -> None:
        """A fresh run: remember (and write) what every fold starts from."""
        self.initial = copy.deepcopy(
            {"model": net.model.state_dict(),
             "optimizer": net.optimizer.state_dict(),
             "scheduler": (self.scheduler.state_dict()
                           if self.scheduler is not None else None)})
        if self.checkpointer is not None and net.distributed.is_main:
            self.checkpointer.save_initial(self.initial)
        net.distributed.barrier()

    def resume(self, net: Any) -> None:
        """Continue from the newest complete checkpoint (else begin)."""
        found = self.checkpointer.newest()
        existing = self.checkpointer.existing()
        if found is None and existing:
            raise CheckpointError(
                f"{self.checkpointer.directory}: none of its checkpoints "
                f"({', '.join(p.name for p in existing[:3])}"
                f"{', ...' if len(existing) > 3 else ''}) is a complete "
                "moevae checkpoint; expected a moevae run's folder (nothing "
                "was changed)")
        if found is None:
            logger.warning("resume: no complete checkpoint in %s; starting "
                           "from the beginning", self.checkpointer.directory)
            self.begin(net)
            return
        path, payload = found
        saved = payload.get("settings")
        fold, epoch, position = (payload["fold"], payload["epoch"],
                                 payload["position"])
        self.check_compatible(path, saved, fold, epoch, position, net)
        before = copy.deepcopy((net.model.state_dict(),
                                net.optimizer.state_dict()))
        try:  # a refusal leaves the interface as it was
            load_model_state(net.model, payload["model"], path)
            net.optimizer.load_state_dict(payload["optimizer"])
        except (ValueError, KeyError) as error:
            net.model.load_state_dict(before[0])
            net.optimizer.load_state_dict(before[1])
            if isinstance(error, CheckpointError):
                raise
            raise CheckpointError(f"{path}: the optimizer state does not "
                                  f"match this optimizer ({error})") from None
        changed = [] if saved is None else apply_changed_groups(
            net.optimizer, saved["optimizer"]["groups"],
            self.settings["optimizer"]["groups"])
        self.restore_scheduler(payload.get("scheduler"), saved)
        if "lr" in changed and hasattr(self.scheduler, "base_lrs"):
            self.scheduler.base_lrs = [group.get("initial_lr", group["lr"])
                                       for group in net.optimizer.param_groups]
        self.train = History.from_dict(payload["histories"]["train"])
        self.valid = History.from_dict(payload["histories"]["validation"])
        self.checkpointer.best = payload.get("best")
        self.initial = payload.get("initial") or \
            self.checkpointer.load_initial()
        legacy = payload["format"].endswith("-1")
        done = position == 0 and epoch + 1 >= self.nb_epochs
        ranks = payload.get("rng_of_ranks") or [payload["rng"]]
        rng = ranks[net.distributed.rank] if len(ranks) == \
            net.distributed.world_size else payload["rng"]
        self.start = {"fold": fold, "epoch": epoch if position else epoch + 1,
                      "rng": rng, "loader": payload["loader"],
                      "partial": payload.get("partial") if position else None,
                      "fold_done": done}
        if self.initial is None and (done or self.folds_to_train()[1:]):
            raise CheckpointError(
                f"{self.checkpointer.directory}: no initial.pth, which the "
                f"folds after fold {fold} start from; expected the run's "
                "checkpoint folder")
        logger.info("resume: continuing from %s (fold %d, epoch %d%s) to "
                    "epoch %d", path.name, fold, epoch + 1,
                    f", sample {position}" if position and not legacy
                    else "", self.nb_epochs)

    def check_compatible(self, path: Path, saved: Optional[Dict[str, Any]],
                         fold: int, epoch: int, position: int,
                         net: Any) -> None:
        """Refuse, in one line, what cannot take effect on resume."""
        trained = epoch + (0 if position else 1)
        if self.nb_epochs < trained:
            raise bad_value("nb_epochs", self.nb_epochs,
                            f">= {trained}: {path.name} has already trained "
                            f"{trained} epoch(s) of fold {fold}")
        if fold not in self.folds:
            raise bad_value("fold_index", self.folds[0] if
                            len(self.folds) == 1 else None,
                            f"fold {fold} (or None): {path.name} is of fold "
                            f"{fold}")
        if saved is None:
            logger.warning("resume: %s comes from an earlier release and "
                           "records no settings; its optimizer settings "
                           "are used", path.name)
            return
        earlier = self.folds[:self.folds.index(fold)]
        before = [f for f in earlier if f not in saved["folds"]]
        if before:
            raise bad_value("fold_index", None, f"the saved run's folds "
                            f"{saved['folds']}: folds {before} come before "
                            f"fold {fold} and were never trained")
        if earlier and self.nb_epochs > saved["nb_epochs"]:
            raise bad_value("nb_epochs", self.nb_epochs,
                            f"{saved['nb_epochs']}, as the saved run: its "
                            f"folds {earlier} are done with "
                            f"{saved['nb_epochs']} epochs and would stay "
                            "shorter (train more epochs on one fold with "
                            "fold_index)")
        old, new = saved["fingerprints"].get(str(fold),
                                             saved["fingerprints"].get(fold)
                                             ), self.fingerprints[fold]
        if old is not None and old != new:
            raise MoEVAEValueError(
                f"resume: fold {fold}'s training rows differ from the saved "
                f"run's (data {new} now, {old} in {path.name}); expected "
                "the same DataManager (data, folds, seed) as the saved run")
        old_class = saved["optimizer"]["class"]
        if old_class != type(net.optimizer).__name__:
            raise bad_value("optimizer", type(net.optimizer).__name__,
                            f"{old_class}, the optimizer of {path.name}")
        check_group_changes(saved["optimizer"]["groups"],
                            self.settings["optimizer"]["groups"], path.name)

    def restore_scheduler(self, state: Optional[Dict[str, Any]],
                          saved: Optional[Dict[str, Any]]) -> None:
        now = self.settings["scheduler"]
        before = saved["scheduler"] if saved else (
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
        changed = {key: value for key, value in now["settings"].items()
                   if before["settings"].get(key) != value}
        for key, value in changed.items():
            logger.info("resume: scheduler %s %r (the saved run had %r)",
                        key, value, before["settings"].get(key))
            setattr(self.scheduler, key, copy.deepcopy(fresh[key]))

    # -- the loop's questions ----------------------------------------------
    def folds_to_train(self) -> List[int]:
        if self.start is None:
            return list(self.folds)
        index = self.folds.index(self.start["fold"])
        return self.folds[index + (1 if self.start["fold_done"] else 0):]

    def enter_fold(self, fold: int, net: Any,
                   make_loaders: Callable[[int], Any]
                   ) -> Tuple[Any, int, Optional[EpochTotals]]:
        """Set up ``fold``: (its loaders, first epoch, partial sums).

        The RNG streams are restored where an uninterrupted run had them:
        before the loaders draw their seeds when the fold starts afresh,
        after it when the fold is resumed.
        """
        start, self.start = self.start, None
        within = start is not None and start["fold"] == fold and \
            not start["fold_done"]
        if not within:
            if start is not None:
                set_rng_states(start["rng"], net.device)
            self.reset_to_initial(net)
            return make_loaders(fold), 0, None
        loaders = make_loaders(fold)
        set_rng_states(start["rng"], net.device)
        if start["loader"] is not None and hasattr(loaders.train,
                                                   "load_state_dict"):
            loaders.train.load_state_dict(start["loader"])
        partial = start["partial"]
        return loaders, start["epoch"], None if partial is None else \
            EpochTotals.from_state(partial, net.device)

    def reset_to_initial(self, net: Any) -> None:
        """Every fold starts from the same weights and optimizer state."""
        net.model.load_state_dict(self.initial["model"])
        net.optimizer.load_state_dict(self.initial["optimizer"])
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

    def save(self, net: Any, fold: int, epoch: int, loader: Any,
             totals: Optional[EpochTotals] = None,
             val_loss: Optional[float] = None) -> Path:
        """Checkpoint the run (mid-epoch when ``totals`` is given); under
        torchrun rank 0 writes it, with every rank's RNG states."""
        rng_of_ranks = net.distributed.gathered(rng_states(net.device))
        if not net.distributed.is_main:  # the others wait for the file
            net.distributed.barrier()
            return self.checkpointer.directory / checkpoint_name(
                fold, epoch, loader.position if totals is not None else 0)
        loader_state = loader.state_dict() if hasattr(loader, "state_dict") \
            else None
        position = loader_state["samples"] if totals is not None and \
            loader_state else 0
        payload = {
            "model": net.model.state_dict(),
            "optimizer": net.optimizer.state_dict(),
            "scheduler": (self.scheduler.state_dict()
                          if self.scheduler is not None else None),
            "histories": {"train": self.train.to_dict(),
                          "validation": self.valid.to_dict()},
            "rng": rng_of_ranks[0], "loader": loader_state,
            "partial": totals.state_dict() if totals is not None else None,
            "settings": self.settings}
        if len(rng_of_ranks) > 1:
            payload["rng_of_ranks"] = rng_of_ranks
        path = self.checkpointer.save(payload, fold, epoch, position,
                                      val_loss)
        net.distributed.barrier()
        return path


def fold_list(manager: Any, fold_index: Optional[int]) -> List[int]:
    count = len(manager["train"])
    if count == 0:
        raise MoEVAEValueError("the DataManager has no training set")
    if fold_index is None:
        return list(range(count))
    if isinstance(fold_index, bool) or not isinstance(
            fold_index, (int, np.integer)) or not 0 <= fold_index < count:
        raise bad_value("fold_index", fold_index,
                        f"None or an integer in [0, {count})")
    return [int(fold_index)]


FINGERPRINT_SAMPLES = 64  # rows whose content is hashed, evenly spaced


def fingerprint(dataset: Any) -> str:
    """A short hash of a data set: which rows, in which order, and the
    content of up to 64 of them (their raw inputs), so that other data with
    the same row numbers is told apart."""
    rows = np.asarray(getattr(dataset, "indices", range(len(dataset))),
                      dtype=np.int64)
    digest = hashlib.sha1(rows.tobytes())
    inputs = getattr(dataset, "inputs", None)
    if inputs is not None and len(rows):
        picked = rows[np.linspace(0, len(rows) - 1, min(
            len(rows), FINGERPRINT_SAMPLES)).astype(int)]
        try:
            digest.update(np.ascontiguousarray(inputs[picked]).tobytes())
        except (TypeError, IndexError, ValueError):
            pass  # inputs that cannot be indexed so: rows only
    return f"{len(rows)} rows/{digest.hexdigest()[:12]}"
