"""Which folds a ``training()`` call trains, checked against the data
before any batch runs, and each fold's loaders."""
import warnings
from typing import List, Optional

import numpy as np
import torch

from ..datasets import DataManager
from ..datasets.arrays import SetItem
from ..errors import MoEVAEValueError, bad_value
from .distributed import Distributed


def checked_folds(manager: DataManager, fold_index: Optional[int],
                  with_validation: bool, distributed: Distributed
                  ) -> List[int]:
    """The folds to train (all, or ``fold_index`` alone), each with rows
    for its batches and, when asked, a validation set.

    Raises MoEVAEValueError in one line; nothing is changed.
    """
    folds = fold_list(manager, fold_index)
    batch_size = getattr(manager, "batch_size", 1)
    drop_last = bool(getattr(manager, "data_loader_kwargs", {}).get(
        "drop_last", False))
    for fold in folds:
        rows = len(manager["train"][fold])
        if not rows:
            raise MoEVAEValueError(f"fold {fold}'s training set is empty")
        check_batch_size(rows, batch_size, drop_last, fold,
                         say=distributed.is_main)
        if with_validation and not len(manager["validation"][fold]):
            raise MoEVAEValueError(
                f"with_validation=True but fold {fold}'s validation set "
                "is empty: pass with_validation=False, or build the "
                "DataManager with validation data")
        distributed.check_shares(rows, batch_size, drop_last, fold)
    return folds


def fold_list(manager: DataManager, fold_index: Optional[int]) -> List[int]:
    """Every fold's index, or ``fold_index`` alone once checked."""
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


def check_batch_size(rows: int, batch_size: int, drop_last: bool,
                     fold: int, say: bool = True) -> None:
    """Refuse a fold that drop_last leaves without a batch; warn (when
    ``say``: rank 0 alone under torchrun) when one batch, smaller than
    asked, holds a fold's whole training set. A warning, not a log line:
    a pynet script shows it before training has set up the console log.
    Raises MoEVAEValueError."""
    if rows >= batch_size:
        return
    if drop_last:
        raise MoEVAEValueError(
            f"batch_size={batch_size} with drop_last=True: fold {fold}'s "
            f"{rows} training rows make no full batch; expected a batch "
            f"size of at most {rows}, or drop_last=False")
    if say:
        warnings.warn(f"batch_size={batch_size} is more than fold {fold}'s "
                      f"{rows} training rows: each epoch trains one batch of "
                      f"{rows}", stacklevel=2)


def fold_loaders(manager: DataManager, fold: int, with_validation: bool,
                 device: torch.device, distributed: Distributed) -> SetItem:
    """The fold's loaders, their data on the training device; under
    torchrun one epoch order for all and a share of it for each rank."""
    loaders = manager.get_dataloader(
        train=True, validation=with_validation, fold_index=fold)
    for loader in (loaders.train, loaders.validation):
        if hasattr(loader, "to"):
            loader.to(device)
    if distributed.active:
        train = loaders.train
        train.generator.set_state(distributed.same_as_main(
            train.generator.get_state()))
        train.shard(distributed.rank, distributed.world_size)
    return loaders
