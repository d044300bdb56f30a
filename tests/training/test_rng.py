"""RNG states: saved, restored, and kept around a block."""
import random

import numpy as np
import pytest
import torch

from moevae.training.rng import preserved_rng, rng_states, set_rng_states


def draws():
    return torch.rand(2), np.random.rand(2), random.random()


def assert_same_draws(first, second):
    assert torch.equal(first[0], second[0])
    assert np.array_equal(first[1], second[1]) and first[2] == second[2]


def test_rng_states_round_trip():
    states = rng_states()
    expected = draws()
    set_rng_states(states)
    assert_same_draws(draws(), expected)


def test_preserved_rng_puts_every_stream_back_even_on_error():
    states = rng_states()
    expected = draws()
    set_rng_states(states)
    with pytest.raises(ZeroDivisionError), preserved_rng():
        draws()
        raise ZeroDivisionError
    assert_same_draws(draws(), expected)


def test_an_earlier_release_list_of_gpu_states_is_read(monkeypatch):
    """Checkpoints of the first release saved every visible GPU's state:
    resuming on a machine with fewer GPUs takes the training device's."""
    calls = []
    monkeypatch.setattr(torch.cuda, "set_rng_state",
                        lambda state, device: calls.append((state, device)))
    states = dict(rng_states(), cuda=["gpu0", "gpu1", "gpu2"])
    set_rng_states(states, torch.device("cuda:1"))
    set_rng_states(states, torch.device("cuda:5"))  # fewer GPUs now
    set_rng_states(states, torch.device("cpu"))
    assert calls == [("gpu1", torch.device("cuda:1")),
                     ("gpu0", torch.device("cuda:5"))]
