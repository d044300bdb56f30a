"""An epoch's running sums: kept batches, share weights, ranks."""
from unittest import mock

import pytest
import torch

from moevae.training.distributed import Distributed
from moevae.training.totals import EpochTotals


def totals_of(values, finite=None, weights=None):
    totals = EpochTotals()
    for index, value in enumerate(values):
        totals.add(torch.tensor(float(value)), {"kl": torch.tensor(1.0)},
                   samples=10,
                   finite=torch.tensor(True if finite is None
                                       else finite[index]),
                   weight=1.0 if weights is None else weights[index])
    return totals


def test_means_count_only_finite_batches():
    totals = totals_of([1.0, float("nan"), 3.0], finite=[True, False, True])
    assert totals.batches == 3 and totals.counted == 2
    assert totals.samples == 30
    assert totals.means() == {"loss": 2.0, "kl": 1.0}
    assert totals.first_nonfinite() == 2


def test_an_empty_epoch_has_no_means():
    assert EpochTotals().means() == {} and EpochTotals().counted == 0
    assert EpochTotals().first_nonfinite() is None


def fake_ranks(world_size, other_ranks_sum):
    """A process group whose other ranks add ``other_ranks_sum``."""
    group = mock.create_autospec(Distributed, instance=True)
    group.active, group.world_size = True, world_size
    group.sum.side_effect = lambda flat: flat + other_ranks_sum(flat)
    return group


def test_all_reduce_gives_the_weighted_mean_of_uneven_shares():
    """Batch of 3 rows split 2/1: rank 0's mean weighs 2x2/3, rank 1's
    1x2/3; the reduced loss is the mean over the 3 rows."""
    rank0 = totals_of([4.0], weights=[4 / 3])   # rows 0-1, mean 4
    rank1 = totals_of([1.0], weights=[2 / 3])   # row 2, value 1
    theirs = rank1.state_dict()
    flat_theirs = torch.cat([theirs["kept"].reshape(1),
                             torch.stack(list(theirs["sums"].values())),
                             torch.tensor([float(theirs["samples"])]),
                             torch.stack(theirs["batch_losses"])])
    group = fake_ranks(2, lambda flat: flat_theirs)
    rank0.all_reduce(group)
    means = rank0.means()
    assert means["loss"] == pytest.approx((4.0 * 2 + 1.0) / 3)
    assert means["kl"] == pytest.approx(1.0)
    assert rank0.samples == 20 and rank0.counted == 1
    assert float(rank0.batch_losses[0]) == pytest.approx(3.0)


def test_one_process_reduces_nothing():
    totals = totals_of([2.0])
    group = mock.create_autospec(Distributed, instance=True)
    group.active = False
    assert totals.all_reduce(group) is totals
    group.sum.assert_not_called()
    assert totals.means()["loss"] == 2.0


def test_state_round_trips_and_reads_format_1():
    totals = totals_of([1.0, 2.0])
    again = EpochTotals.from_state(totals.state_dict(), torch.device("cpu"))
    assert again.means() == totals.means() and again.batches == 2
    old = totals.state_dict()
    old.pop("kept")  # format 1 kept no count: every batch counted
    assert EpochTotals.from_state(old, torch.device("cpu")).counted == 2
