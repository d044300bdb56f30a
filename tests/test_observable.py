import logging

import numpy as np
import pytest
import torch

from moevae.errors import MoEVAEError
from moevae.observable import Observable, Signal, SignalObject, side_effect
from tests.support.training import data, interface, same_weights, train, with_board


@pytest.fixture
def notifier():
    return Observable(signals=["before_epoch", Signal.AFTER_EPOCH])


def test_strings_and_enum_both_register(notifier):
    calls = []
    notifier.add_observer("before_epoch", lambda s: calls.append(s.signal))
    notifier.add_observer(Signal.AFTER_EPOCH, lambda s: calls.append(s.epoch))
    notifier.notify_observers("before_epoch", epoch=1)
    notifier.notify_observers(Signal.AFTER_EPOCH, epoch=2)
    assert calls == ["before_epoch", 2]
    assert notifier.allowed_signals == ["before_epoch", "after_epoch"]


@pytest.mark.parametrize("signal", ["after_epoc", "regularizer", 3])
def test_unknown_or_undeclared_signal_rejected(notifier, signal):
    with pytest.raises(MoEVAEError, match="signal="):
        notifier.add_observer(signal, lambda s: None)


@pytest.mark.parametrize("observer", [42, lambda: None, lambda a, b: None])
def test_bad_observers_rejected_at_registration(notifier, observer):
    with pytest.raises(MoEVAEError, match="observer"):
        notifier.add_observer("before_epoch", observer)


def test_handle_removes_and_context_manager(notifier):
    calls = []
    handle = notifier.add_observer("before_epoch", calls.append)
    notifier.notify_observers("before_epoch")
    handle.remove()
    notifier.notify_observers("before_epoch")
    with notifier.add_observer("before_epoch", calls.append):
        notifier.notify_observers("before_epoch")
    notifier.notify_observers("before_epoch")
    assert len(calls) == 2


def test_signal_object_carries_values(notifier):
    received = []
    notifier.add_observer("after_epoch", received.append)
    notifier.notify_observers("after_epoch", epoch=3, fold=0, loss=1.5,
                              kl_loss=0.5)
    signal = received[0]
    assert isinstance(signal, SignalObject) and signal.object is notifier
    assert signal.keys == ["epoch", "fold", "loss", "kl_loss"]
    assert (signal.epoch, signal.loss, signal.kl_loss) == (3, 1.5, 0.5)


def test_failing_side_effect_logged_once_and_others_run(notifier, caplog):
    calls = []

    def broken(signal):
        raise RuntimeError("plot failed")
    notifier.add_observer("before_epoch", broken, side_effect=True)
    notifier.add_observer("before_epoch", calls.append)
    with caplog.at_level(logging.ERROR, logger="moevae"):
        for _ in range(3):
            notifier.notify_observers("before_epoch")
    assert len(calls) == 3
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and "training goes on" in failures[0].message


def test_a_callback_that_changes_training_raises(notifier):
    def set_epoch(signal):
        raise RuntimeError("schedule failed")
    notifier.add_observer("before_epoch", set_epoch)
    with pytest.raises(RuntimeError, match="schedule failed"):
        notifier.notify_observers("before_epoch")


def test_side_effect_attribute_marks_an_observer(notifier, caplog):
    @side_effect
    def plot(signal):
        raise RuntimeError("plot failed")

    class Drawing:
        side_effect = True

        def __call__(self, signal):
            raise RuntimeError("drawing failed")
    notifier.add_observer("after_epoch", plot)
    notifier.add_observer("after_epoch", Drawing())
    with caplog.at_level(logging.ERROR, logger="moevae"):
        notifier.notify_observers("after_epoch")
    assert (len([r for r in caplog.records if "failed" in r.getMessage()])
        == 2)


def test_side_effect_must_be_a_bool(notifier):
    with pytest.raises(TypeError, match="side_effect='yes'"):
        notifier.add_observer("after_epoch", print, side_effect="yes")


def test_strict_notification_propagates(notifier):
    notifier.add_observer("before_epoch", lambda s: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        notifier.notify_observers("before_epoch", strict=True)


def test_results_are_returned(notifier):
    notifier.add_observer("before_epoch", lambda s: 5)
    notifier.add_observer("before_epoch", lambda s: None)
    assert notifier.notify_observers("before_epoch") == [5]


# -- observers of a training run leave shared state as they found it -------
def test_a_failing_side_effect_leaves_the_model_in_train_mode(caplog):
    net = interface()

    def plot(signal):
        signal.object.model.eval()
        torch.set_grad_enabled(False)
        raise RuntimeError("plot failed")
    net.add_observer("after_epoch", plot, side_effect=True)
    train(net, None, 2)
    assert net.model.training and net.model.dropout.training
    assert torch.is_grad_enabled()
    assert sum("plot failed" in r.getMessage() or "failed" in r.getMessage()
               for r in caplog.records) == 1


def test_training_returns_the_model_in_the_mode_it_was_given():
    net = interface()
    train(net, None, 1, with_validation=True, manager=data())
    assert net.model.training


def test_a_failing_callback_that_changes_training_stops_it():
    net = interface()

    def set_epoch(signal):
        raise RuntimeError("schedule failed")
    net.add_observer("before_epoch", set_epoch)
    with pytest.raises(RuntimeError, match="schedule failed"):
        train(net, None, 2)


def test_observers_drawing_random_numbers_do_not_change_training():
    quiet = interface()
    train(quiet, None, 2)
    noisy = with_board(interface())
    noisy.add_observer("after_batch", lambda s: np.random.rand(2))
    train(noisy, None, 2)
    assert same_weights(quiet, noisy)
