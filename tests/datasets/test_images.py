import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

from moevae.datasets.images import image_side, model_inputs
from moevae.errors import DataError


@pytest.mark.parametrize("array, expected", [
    (np.array([[0, 255, 51]], np.uint8), [[0, 1, 0.2]]),
    (np.array([[0, 255, 51]], np.int64), [[0, 1, 0.2]]),
    (np.array([[True, False, True]]), [[1, 0, 1]]),
    (np.array([[0.0, 1.0, 0.25]]), [[0, 1, 0.25]]),
])
def test_values_are_scaled_to_unit_floats(array, expected):
    inputs = model_inputs("x", array, 3)
    assert inputs.dtype == np.float32
    np.testing.assert_allclose(inputs, expected, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(hnp.floating_dtypes() | hnp.integer_dtypes(),
                  hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)))
def test_any_array_is_taken_or_refused_with_one_line(array):
    try:
        inputs = model_inputs("x.npy", array, 4)
    except DataError as error:
        assert str(error).startswith("x.npy: ") and "\n" not in str(error)
    else:
        assert inputs.dtype == np.float32 and inputs.shape[1:] == (4,)
        assert len(inputs) >= 1
        assert inputs.min() >= 0 and inputs.max() <= 1


def test_non_square_models_take_flat_arrays_only():
    assert model_inputs("x", np.zeros((2, 10), np.uint8), 10).shape == (2, 10)
    with pytest.raises(DataError, match="not a square number of pixels"):
        image_side(10)
    assert image_side(784) == 28
