"""pynet's test()/testing() arrays from a pass's outputs."""
import numpy as np
import pytest
import torch

from moevae.datasets import DataManager
from moevae.errors import MoEVAEValueError
from moevae.training.prediction import arrays_of_test_set, check_logit_function, finish


def test_finish_concatenates_and_applies_the_logit_function():
    batches = [torch.tensor([[0.0, 1.0]]), torch.tensor([[2.0, 0.0]])]
    raw = finish(batches, False, "softmax", False)
    assert raw.dtype == np.float32 and raw.tolist() == [[0, 1], [2, 0]]
    soft = finish(batches, True, "softmax", False)
    np.testing.assert_allclose(soft.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    sigmoid = finish(batches, True, "sigmoid", False)
    np.testing.assert_allclose(sigmoid[0], [0.5, 1 / (1 + np.exp(-1))],
                               rtol=1e-6)
    assert finish(batches, True, "softmax", True).tolist() == [1, 0]
    assert finish([], True, "softmax", True) is None


@pytest.mark.parametrize("name", ["relu", "Softmax", ""])
def test_an_unknown_logit_function_is_refused(name):
    with pytest.raises(MoEVAEValueError, match=f"^logit_function={name!r}: "
                       "expected 'softmax' or 'sigmoid'"):
        check_logit_function(name)


def test_the_test_sets_arrays_are_its_inputs_and_targets_in_order():
    inputs = np.arange(12, dtype=np.float32).reshape(6, 2)
    labels = np.arange(6)
    manager = DataManager.from_numpy(test_inputs=inputs, test_labels=labels,
                                     batch_size=4)
    X, y_true = arrays_of_test_set(manager.get_dataloader(test=True).test)
    np.testing.assert_array_equal(X, inputs)
    np.testing.assert_array_equal(y_true, labels)
