"""The folds a training() call trains, checked before any batch."""
import warnings

import numpy as np
import pytest
import torch

from moevae.datasets import DataManager
from moevae.errors import MoEVAEValueError
from moevae.training.distributed import Distributed
from moevae.training.folds import check_batch_size, checked_folds, fold_list
from tests.support.training import data

THREE = Distributed(rank=0, local_rank=0, world_size=3)


def manager(rows: int, **options) -> DataManager:
    inputs = np.zeros((rows, 3), np.float32)
    return DataManager.from_numpy(train_inputs=inputs, train_outputs=inputs,
                                  **options)


def test_the_shares_check_reads_the_data_managers_drop_last():
    """61 rows in batches of 20 on 3 processes: the last batch of 1 row
    is refused, unless drop_last=True skips it."""
    with pytest.raises(MoEVAEValueError, match="a last batch of 1 row"):
        checked_folds(manager(61, batch_size=20), None, False, THREE)
    assert checked_folds(manager(61, batch_size=20, drop_last=True), None,
                         False, THREE) == [0]


@pytest.mark.parametrize("fold_index, message", [
    (1, r"fold_index=1: expected None or an integer in \[0, 1\)"),
    (True, "fold_index=True"), (0.0, "fold_index=0.0")])
def test_a_fold_that_is_not_there_is_refused(fold_index, message):
    with pytest.raises(MoEVAEValueError, match=message):
        fold_list(manager(8), fold_index)
    assert fold_list(manager(8), np.int64(0)) == [0]


def test_an_empty_validation_set_is_refused_only_when_asked_for():
    with pytest.raises(MoEVAEValueError, match="validation set is empty"):
        checked_folds(manager(8), None, True, Distributed())
    assert checked_folds(data(validation=True), None, True,
                         Distributed()) == [0]


@pytest.mark.parametrize("rows, batch, drop_last", [(64, 64, True),
                                                    (65, 64, False),
                                                    (5, 64, False)])
def test_batch_sizes_that_give_batches_pass(rows, batch, drop_last):
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        check_batch_size(rows, batch, drop_last, fold=0)
        check_batch_size(rows, batch, drop_last, fold=0, say=False)
    assert len(said) == (rows < batch)  # said (once), not refused


def test_drop_last_leaving_no_batch_is_refused():
    with pytest.raises(MoEVAEValueError, match=(
            r"^batch_size=64 with drop_last=True: fold 2's 63 training rows "
            r"make no full batch; expected a batch size of at most 63, or "
            r"drop_last=False$")):
        check_batch_size(63, 64, True, fold=2)



def test_a_folds_loaders_hold_its_rows_once_each():
    from moevae.training.folds import fold_loaders
    loaders = fold_loaders(data(batch_size=8), 0, True, torch.device("cpu"),
                           Distributed())
    ids = sorted(int(row) for item in loaders.train
                 for row in item.inputs[:, 0])
    assert ids == list(range(48))  # column 0 is each row's id
    assert sum(len(item.inputs) for item in loaders.validation) == 16


@pytest.mark.parametrize("drop_last", [False, True])
def test_a_batch_smaller_than_the_process_count_is_refused(drop_last):
    """Batches of 2 rows on 3 processes: one process gets no row of any
    batch (it ended in 'every batch was skipped (non-finite losses)')."""
    with pytest.raises(MoEVAEValueError, match=(
            r"^batch_size=2: fewer rows in a batch than the 3 processes "
            r"\(some would train on none\); expected a batch size of at "
            r"least 3$")):
        checked_folds(manager(12, batch_size=2, drop_last=drop_last), None,
                      False, THREE)
    assert checked_folds(manager(12, batch_size=3), None, False,
                         THREE) == [0]
