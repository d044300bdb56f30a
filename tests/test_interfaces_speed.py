"""The speed an epoch reports counts the samples drawn in it, also when a
resumed run finishes an epoch begun before."""
import os
import signal

import pytest

from moevae.errors import TrainingInterrupted
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager
from tests.support.helpers import seed_manager


def interface() -> DeepLearningInterface:
    return DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                 optimizer_name="Adam", learning_rate=1e-3)


def drawn_per_epoch(net):
    """[(epoch, samples/s x seconds)] of each epoch's report."""
    seen = []
    net.add_observer("after_epoch", lambda s: seen.append(
        (s.epoch, s.samples_per_second * s.epoch_time)))
    return seen


@pytest.fixture(scope="module")
def per_epoch(tmp_path_factory):
    """Samples of one whole epoch (fold 0, batches of 50)."""
    from tests.support.helpers import write_mnist_idx
    mnist = write_mnist_idx(tmp_path_factory.mktemp("speed") / "mnist")
    whole = interface()
    seen = drawn_per_epoch(whole)
    whole.training(seed_manager(mnist, 50), nb_epochs=1, checkpointdir=None,
                   fold_index=0, with_validation=False)
    return mnist, seen[0][1]


def stopped_after(batch: int, mnist, folder, epochs: int) -> None:
    """A run stopped by SIGTERM after ``batch`` (0-based) of its first
    epoch: its mid-epoch checkpoint is in ``folder``."""
    broken = interface()

    def stop(signal_object):
        if signal_object.batch == batch:
            os.kill(os.getpid(), signal.SIGTERM)
    broken.add_observer("after_batch", stop)
    with pytest.raises(TrainingInterrupted):
        broken.training(seed_manager(mnist, 50), nb_epochs=epochs,
                        checkpointdir=str(folder), fold_index=0,
                        with_validation=False)


@pytest.mark.parametrize("stop_after_batch", [1, 4, 8])
def test_a_resumed_epoch_counts_only_its_remaining_samples(
        tmp_path, per_epoch, stop_after_batch):
    mnist, whole = per_epoch
    stopped_after(stop_after_batch, mnist, tmp_path, epochs=1)
    resumed = interface()
    seen = drawn_per_epoch(resumed)
    resumed.training(seed_manager(mnist, 50), nb_epochs=1,
                     checkpointdir=str(tmp_path), fold_index=0,
                     with_validation=False, resume=True)
    assert [epoch for epoch, _ in seen] == [0]
    assert seen[0][1] == pytest.approx(whole - (stop_after_batch + 1) * 50)


def test_a_resume_after_the_last_batch_reports_no_speed(tmp_path, per_epoch):
    """Stopped after an epoch's last batch (before its end): the resumed
    attempt draws nothing, so it reports no time and no speed (no 0)."""
    mnist, whole = per_epoch
    batches = -(-round(whole) // 50)  # the last batch may be short
    stopped_after(batches - 1, mnist, tmp_path, epochs=2)
    resumed = interface()
    reports = []
    resumed.add_observer("after_epoch", lambda s: reports.append(
        (s.epoch, "samples_per_second" in s.keys, "epoch_time" in s.keys)))
    resumed.training(seed_manager(mnist, 50), nb_epochs=2,
                     checkpointdir=str(tmp_path), fold_index=0,
                     with_validation=False, resume=True)
    assert reports == [(0, False, False), (1, True, True)]
