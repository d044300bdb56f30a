"""SIGINT/SIGTERM while training: the first is recorded, a second one gets
the previous handler; handlers are put back."""
import os
import signal
import threading

import pytest

from moevae.training.stop_signals import STOP_SIGNALS, StopSignals


class Previous(Exception):
    pass


def previous_handler(number, frame):
    raise Previous(number)


@pytest.fixture
def handlers():
    saved = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number in STOP_SIGNALS:
        signal.signal(number, previous_handler)
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_is_recorded_the_second_stops_at_once(handlers,
                                                               number):
    with StopSignals() as stop:
        assert not stop.requested
        os.kill(os.getpid(), number)
        assert stop.requested and stop.signal_number == number
        assert stop.name == signal.Signals(number).name
        other = ({signal.SIGINT, signal.SIGTERM} - {number}).pop()
        with pytest.raises(Previous):
            os.kill(os.getpid(), other)  # either signal, the second time
    assert signal.getsignal(number) is previous_handler


def test_handlers_are_put_back_and_a_new_block_starts_clear(handlers):
    stop = StopSignals()
    with stop:
        assert all(signal.getsignal(number) == stop._request
                   for number in STOP_SIGNALS)
        os.kill(os.getpid(), signal.SIGINT)
    assert all(signal.getsignal(number) is previous_handler
               for number in STOP_SIGNALS)
    with stop:
        assert not stop.requested
    with pytest.raises(Previous):
        os.kill(os.getpid(), signal.SIGTERM)


def test_handlers_are_put_back_when_the_block_raises(handlers):
    with pytest.raises(ZeroDivisionError), StopSignals():
        raise ZeroDivisionError
    assert signal.getsignal(signal.SIGINT) is previous_handler


def test_outside_the_main_thread_nothing_is_replaced(handlers):
    seen = []

    def run():
        with StopSignals() as stop:
            seen.append((stop.requested, signal.getsignal(signal.SIGINT)))
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [(False, previous_handler)]
