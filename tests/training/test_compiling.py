"""torch.compile of forward + loss: falls back only when compiling fails."""
import warnings

import numpy as np
import pytest
import torch

from moevae.training.compiling import CompiledForward
from tests.test_interfaces import linear_interface, regression_manager


class Broken(torch.nn.Module):
    """A model whose own forward fails (a shape mismatch)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.linear(x)  # x has 3 features


def test_a_model_error_is_raised_not_hidden_by_a_fallback():
    interface = linear_interface(model=Broken(), compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "training without it" warning
        with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
            interface.training(regression_manager(), nb_epochs=1,
                               with_validation=False)
    assert not interface.step.compiled.fell_back


def test_compiled_training_with_a_partial_last_batch_and_validation():
    eager = linear_interface()
    compiled = linear_interface(compile=True)
    results = []
    for net in (eager, compiled):
        torch.manual_seed(1)
        results.append(net.training(regression_manager(batch_size=5),
                                    nb_epochs=2, with_validation=True))
    assert not compiled.step.compiled.fell_back
    for eager_history, compiled_history in zip(*results):
        np.testing.assert_allclose(eager_history["loss"][1],
                                   compiled_history["loss"][1], rtol=1e-4)


def test_a_compile_failure_is_retried_from_the_same_random_state():
    draws = []

    def noisy(x):
        draws.append(torch.rand(1))
        return x * 2
    compiled = CompiledForward(noisy)

    def failing(*args):
        torch.rand(5)  # the failed attempt drew numbers
        raise RuntimeError("inductor: no C++ compiler")
    compiled.function = failing
    torch.manual_seed(3)
    with pytest.warns(RuntimeWarning, match="no C.. compiler"):
        compiled(torch.ones(2))
    torch.manual_seed(3)
    assert torch.equal(draws[-1], torch.rand(1))
    assert compiled.fell_back
