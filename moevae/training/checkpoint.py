"""Checkpoints that survive a crash at any instant, and exact resume.

A checkpoint is one file, ``model_<fold>_epoch_<epoch>.pth`` (pynet's name;
``_sample_<n>`` is added for a run interrupted mid-epoch after n samples;
format 1 wrote ``_batch_<n>``), written with
:func:`moevae.fileio.atomic_write`. It holds the
model, optimizer and scheduler states, the histories, the RNG states
(:mod:`moevae.training.rng`), the loader's order and position, and the run's
settings, so a resumed run continues with the very samples and random draws
it would have had, and a changed setting is seen. The weights every fold
starts from are written once per run, to ``initial.pth``.
:class:`Checkpointer` owns the folder. Loading uses
``torch.load(weights_only=True)``: a checkpoint can never run code.
"""
import contextlib
import fcntl
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch

from ..errors import CheckpointError, CheckpointWriteError, MoEVAEValueError, bad_value
from ..fileio import atomic_save, atomic_write
from .names import (  # noqa: F401
    BEST_NAME,
    BEST_OF_FOLD,
    INITIAL_NAME,
    LOCK_NAME,
    NAME,
    best_name,
    checkpoint_fold,
    checkpoint_name,
    is_mid_epoch,
    list_checkpoints,
)

logger = logging.getLogger("moevae")
FORMAT = "moevae-checkpoint-2"
FORMATS = ("moevae-checkpoint-1", FORMAT)  # both are read
INITIAL_FORMAT = "moevae-initial-1"


def save_checkpoint(directory: Path, payload: Dict[str, Any], fold: int,
                    epoch: int, position: int = 0) -> Path:
    """Write a checkpoint atomically; raise CheckpointError if impossible."""
    path = Path(directory) / checkpoint_name(fold, epoch, position)
    payload = dict(payload, format=FORMAT, fold=fold, epoch=epoch,
                   position=position)
    try:
        atomic_save(path, lambda handle: torch.save(payload, handle))
    except OSError as error:
        previous = [p.name for p in list_checkpoints(directory)]
        kept = f"; {previous[0]} is intact" if previous else ""
        raise CheckpointWriteError(f"cannot write checkpoint {path}: "
                              f"{error.strerror or error}{kept}") from None
    return path


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files left by a write that was killed midway."""
    for path in Path(directory).glob(".*.pth.*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            logger.info("removed %s, left by an interrupted write", path.name)


def prune(directory: Path, keep_last: int) -> None:
    """Per fold, delete all but the ``keep_last`` newest checkpoints, and
    every mid-epoch one older than the fold's newest complete epoch
    (superseded): each fold keeps its final model."""
    stale = []
    folds = {checkpoint_fold(p) for p in list_checkpoints(directory)}
    for fold in sorted(fold for fold in folds if fold is not None):
        found = [path for path in list_checkpoints(directory)
                 if checkpoint_fold(path) == fold]
        complete = [index for index, path in enumerate(found)
                    if not is_mid_epoch(path)]
        superseded = [path for path in found[complete[0]:]
                      if is_mid_epoch(path)] if complete else []
        kept = [path for path in found if path not in superseded]
        stale += superseded + kept[keep_last:]
    for path in stale:
        try:
            path.unlink()
        except OSError as error:
            logger.warning("could not delete old checkpoint %s: %s", path,
                           error)


def copy_best(source: Path, name: str = BEST_NAME) -> None:
    """Copy a checkpoint to ``name`` (atomically; failures only logged)."""
    target = source.with_name(name)
    try:
        with open(source, "rb") as reader, atomic_write(target) as writer:
            shutil.copyfileobj(reader, writer)
    except OSError as error:
        logger.warning("could not update %s: %s; training goes on", target,
                       error)


def load_checkpoint(path: Path, map_location: Any = "cpu",
                    trusted: bool = False) -> Dict[str, Any]:
    """Read a checkpoint (or a bare state dict) without running its code.

    The file is read with ``torch.load(weights_only=True)``, with numpy
    scalars, arrays and dtypes allowed for that call only
    (``torch.serialization.safe_globals``): a pynet checkpoint that saved an
    ``np.int64`` epoch loads. A file holding other pickled objects, such as
    a whole model written by ``torch.save(model)``, is refused with one
    line saying how to convert it. ``trusted=True`` is the explicit opt-in
    for a file whose origin you trust: it is unpickled in full
    (``weights_only=False``, which can run code from the file) and a whole
    model gives its ``state_dict()``.

    Raises CheckpointError (one line): no such file, unreadable file,
    pickled objects (unless trusted), or neither a dict nor a model.
    """
    import pickle

    from .safe_loading import first_line, numpy_globals, refused_pickle
    try:
        if trusted:
            payload = torch.load(path, map_location=map_location,
                                 weights_only=False)
        else:
            with torch.serialization.safe_globals(numpy_globals()):
                payload = torch.load(path, map_location=map_location,
                                     weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except pickle.UnpicklingError as error:
        raise CheckpointError(refused_pickle(path, error)) from None
    except Exception as error:  # zip, torch and unpickling errors alike
        raise CheckpointError(f"{path}: unreadable checkpoint "
                              f"({type(error).__name__}: "
                              f"{first_line(error)})") from None
    if trusted and isinstance(payload, torch.nn.Module):
        payload = payload.state_dict()
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: holds a {type(payload).__name__}, "
                              "expected a checkpoint or a state dict")
    return payload


def newest_valid(directory: Path, map_location: Any = "cpu"
                 ) -> Optional[Tuple[Path, Dict[str, Any]]]:
    """The newest readable full checkpoint; corrupt ones are skipped."""
    for path in list_checkpoints(directory):
        try:
            payload = load_checkpoint(path, map_location)
        except CheckpointError as error:
            logger.warning("%s; falling back to the previous checkpoint",
                           error)
            continue
        if payload.get("format") in FORMATS:
            return path, payload
        logger.warning("%s: not a moevae checkpoint; skipped", path)
    return None


def model_state(payload: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """The model weights of a checkpoint, a pynet one or a bare state dict."""
    state = payload.get("model", payload)
    if not isinstance(state, dict) or not all(
            torch.is_tensor(value) for value in state.values()):
        raise CheckpointError("the checkpoint holds no model state dict")
    return state


class Checkpointer:
    """The checkpoint folder of one run.

    Writes every checkpoint atomically, keeps the ``keep_last`` newest and
    a copy of the best by validation loss (``best.pth``), writes the run's
    initial states once (``initial.pth``), finds where to resume, and is
    held by one training process at a time (:meth:`held`).

    Raises MoEVAEValueError when the folder cannot be created.
    """

    def __init__(self, directory: Any, keep_last: int = 2,
                 single_fold: bool = True):
        self.directory = Path(directory).expanduser()
        self.keep_last = keep_last
        self.best: Optional[float] = None  # of the fold being trained
        self.best_fold: Optional[int] = None
        self.single_fold = single_fold
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise bad_value("checkpointdir", str(self.directory),
                            f"a writable folder ({error.strerror})") from None

    def __repr__(self) -> str:
        return f"Checkpointer({str(self.directory)!r})"

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the folder for this process while it trains: a second
        process training into it is refused (one line) instead of both
        pruning each other's checkpoints. An advisory lock (``flock``),
        released when the process ends, however it ends."""
        path = self.directory / LOCK_NAME
        # held open while training runs: closing it would release the lock
        handle = open(path, "a+")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise MoEVAEValueError(
                f"checkpointdir={str(self.directory)!r}: expected a folder "
                f"no other process trains into (held by {holder})") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            remove_stale_temporaries(self.directory)  # nobody else writes
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def existing(self) -> List[Path]:
        """The checkpoints already in the folder, newest first."""
        return list_checkpoints(self.directory)

    def save(self, payload: Dict[str, Any], fold: int, epoch: int,
             position: int = 0, val_loss: Optional[float] = None) -> Path:
        """Checkpoint now; keep the newest N and the best by val_loss.

        Raises CheckpointWriteError when the file cannot be written (the
        previous checkpoints are then intact).
        """
        if self.best_fold is not None and fold != self.best_fold:
            self.best = None  # another fold: another validation set
        self.best_fold = fold
        improved = val_loss is not None and (self.best is None or
                                             val_loss < self.best)
        if improved:
            self.best = val_loss
        path = save_checkpoint(self.directory, dict(payload, best=self.best),
                               fold, epoch, position)
        if improved:
            copy_best(path, best_name(fold, self.single_fold))
        prune(self.directory, self.keep_last)
        return path

    def save_initial(self, states: Dict[str, Any]) -> Path:
        """Write the states every fold of the run starts from."""
        path = self.directory / INITIAL_NAME
        payload = dict(states, format=INITIAL_FORMAT)
        try:
            return atomic_save(path, lambda handle: torch.save(payload,
                                                               handle))
        except OSError as error:
            raise CheckpointWriteError(f"cannot write {path}: "
                                       f"{error.strerror or error}") from None

    def load_initial(self) -> Optional[Dict[str, Any]]:
        """The run's initial states, or None when the folder has none."""
        path = self.directory / INITIAL_NAME
        if not path.is_file():
            return None
        payload = load_checkpoint(path)
        if payload.get("format") != INITIAL_FORMAT:
            raise CheckpointError(f"{path}: not a moevae initial-state file")
        return payload

    def newest(self) -> Optional[Tuple[Path, Dict[str, Any]]]:
        """The newest complete checkpoint (corrupt ones skipped), or None;
        its fold is the one its ``best`` belongs to."""
        found = newest_valid(self.directory)
        if found is not None:
            self.best_fold = found[1].get("fold")
        return found
