"""What a resumed run must share with the saved one."""
from pathlib import Path

import numpy as np
import pytest
import torch

from moevae.errors import MoEVAEValueError
from moevae.training.compatibility import check_compatible, fingerprint
from moevae.training.hyperparameters import group_settings

PATH = Path("model_0_epoch_4.pth")


def saved_settings(optimizer, folds=(0,), nb_epochs=5, prints=None):
    return {"folds": list(folds), "nb_epochs": nb_epochs,
            "fingerprints": prints or {"0": "10 rows/abc"},
            "optimizer": {"class": type(optimizer).__name__,
                          "groups": group_settings(optimizer)}}


def check(optimizer, saved, nb_epochs=10, folds=(0,), prints=None,
          fold=0, epoch=4, position=0):
    check_compatible(PATH, saved, fold, epoch, position, list(folds),
                     nb_epochs, prints or {0: "10 rows/abc"}, optimizer,
                     group_settings(optimizer))


@pytest.fixture
def optimizer():
    return torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=1e-3)


def test_the_same_run_with_more_epochs_is_accepted(optimizer):
    check(optimizer, saved_settings(optimizer))
    check(optimizer, saved_settings(optimizer), nb_epochs=4, position=30)


@pytest.mark.parametrize("nb_epochs, position, trained", [
    (4, 0, 5), (1, 0, 5), (3, 10, 4)])
def test_fewer_epochs_than_trained_are_refused(optimizer, nb_epochs,
                                               position, trained):
    with pytest.raises(MoEVAEValueError, match=(
            f"^nb_epochs={nb_epochs}: expected >= {trained}: "
            f"model_0_epoch_4.pth has already trained {trained} epoch")):
        check(optimizer, saved_settings(optimizer), nb_epochs=nb_epochs,
              position=position)


def test_other_data_is_refused_naming_both_fingerprints(optimizer):
    with pytest.raises(MoEVAEValueError, match=r"fold 0's training rows "
                       r"differ .*data 10 rows/xyz now, 10 rows/abc in"):
        check(optimizer, saved_settings(optimizer),
              prints={0: "10 rows/xyz"})


def test_another_optimizer_class_or_fold_is_refused(optimizer):
    sgd = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    with pytest.raises(MoEVAEValueError, match="^optimizer='SGD': expected "
                       "Adam, the optimizer of model_0_epoch_4.pth"):
        check(sgd, saved_settings(optimizer))
    with pytest.raises(MoEVAEValueError, match="^fold_index=1: expected "
                       "fold 0"):
        check(optimizer, saved_settings(optimizer), folds=(1,),
              prints={1: "x"})


def test_fingerprint_tells_rows_order_and_content_apart():
    class Rows:
        def __init__(self, indices, inputs):
            self.indices, self.inputs = indices, inputs

        def __len__(self):
            return len(self.indices)

    inputs = np.arange(20, dtype=np.float32).reshape(10, 2)
    base = fingerprint(Rows([0, 1, 2], inputs))
    assert base.startswith("3 rows/")
    assert fingerprint(Rows([0, 1, 2], inputs)) == base
    assert fingerprint(Rows([2, 1, 0], inputs)) != base
    assert fingerprint(Rows([0, 1, 2], inputs + 1)) != base
    assert fingerprint([1, 2, 3]).startswith("3 rows/")
