"""What a resumed run must share with the saved one, checked before any
state is loaded: each refusal is one line naming the saved and the new
value, and changes nothing.

- ``nb_epochs``: at least what the checkpoint already trained;
- the fold, the folds before it, the data of the fold (its rows and the
  content of up to 64 of them: :func:`fingerprint`);
- the optimizer class and its parameter groups
  (:func:`~moevae.training.hyperparameters.check_group_changes`).
"""
import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from ..errors import MoEVAEValueError, bad_value
from .hyperparameters import check_group_changes

logger = logging.getLogger("moevae")
FINGERPRINT_SAMPLES = 64  # rows whose content is hashed, evenly spaced


def check_compatible(path: Path, saved: Optional[Dict[str, Any]],
                     fold: int, epoch: int, position: int, folds: List[int],
                     nb_epochs: int, fingerprints: Dict[int, str],
                     optimizer: torch.optim.Optimizer,
                     groups_now: List[Dict[str, Any]]) -> None:
    """Refuse, in one line, what cannot take effect on resume.

    path: the checkpoint; saved: the settings it records (None: format 1);
    fold, epoch, position: where it stands; the rest: what is asked now.
    Raises MoEVAEValueError.
    """
    trained = epoch + (0 if position else 1)
    if nb_epochs < trained:
        raise bad_value("nb_epochs", nb_epochs,
                        f">= {trained}: {path.name} has already trained "
                        f"{trained} epoch(s) of fold {fold}")
    if fold not in folds:
        raise bad_value("fold_index", folds[0] if len(folds) == 1 else None,
                        f"fold {fold} (or None): {path.name} is of fold "
                        f"{fold}")
    if saved is None:
        logger.warning("resume: %s is a format-1 checkpoint, which "
                       "records no settings; its optimizer settings "
                       "are used", path.name)
        return
    earlier = folds[:folds.index(fold)]
    before = [f for f in earlier if f not in saved["folds"]]
    if before:
        raise bad_value("fold_index", None, f"the saved run's folds "
                        f"{saved['folds']}: folds {before} come before "
                        f"fold {fold} and were never trained")
    if earlier and nb_epochs > saved["nb_epochs"]:
        raise bad_value("nb_epochs", nb_epochs,
                        f"{saved['nb_epochs']}, as the saved run: its "
                        f"folds {earlier} are done with "
                        f"{saved['nb_epochs']} epochs and would stay "
                        "shorter (train more epochs on one fold with "
                        "fold_index)")
    old = saved["fingerprints"].get(str(fold),
                                    saved["fingerprints"].get(fold))
    new = fingerprints[fold]
    if old is not None and old != new:
        raise MoEVAEValueError(
            f"resume: fold {fold}'s training rows differ from the saved "
            f"run's (data {new} now, {old} in {path.name}); expected "
            "the same DataManager (data, folds, seed) as the saved run")
    old_class = saved["optimizer"]["class"]
    if old_class != type(optimizer).__name__:
        raise bad_value("optimizer", type(optimizer).__name__,
                        f"{old_class}, the optimizer of {path.name}")
    check_group_changes(saved["optimizer"]["groups"], groups_now, path.name)


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
        # inputs that cannot be indexed so: the rows only
        with contextlib.suppress(TypeError, IndexError, ValueError):
            digest.update(np.ascontiguousarray(inputs[picked]).tobytes())
    return f"{len(rows)} rows/{digest.hexdigest()[:12]}"
