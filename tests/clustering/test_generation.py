import math

import numpy as np
import pytest
import torch

from moevae.clustering.generation import decode_samples, grid_columns, sample_grid
from moevae.errors import MoEVAEError
from moevae.models import FusedManager


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return FusedManager(784, 8, 3, 4).eval()


def test_an_expert_draws_the_same_alone_or_with_the_others(model):
    every = decode_samples(model, 6, seed=4)
    assert every.shape == (4, 6, 784) and every.dtype == np.float32
    np.testing.assert_array_equal(decode_samples(model, 6, [2, 0], seed=4),
                                  every[[2, 0]])
    assert not np.array_equal(decode_samples(model, 6, seed=5), every)


@pytest.mark.parametrize("experts, count", [(4, 6), (1, 7), (1, 1), (2, 3)])
def test_grid_size_follows_the_layout(experts, count):
    samples = np.random.default_rng(0).random((experts, count, 784),
                                              dtype=np.float32)
    grid = sample_grid(samples)
    columns = grid_columns(experts, count)
    rows = math.ceil(experts * count / columns)
    assert grid.dtype == np.uint8
    assert grid.shape == (rows * 30 + 2, columns * 30 + 2)
    assert columns == (count if experts > 1 else math.ceil(math.sqrt(count)))


@pytest.mark.parametrize("kwargs, message", [
    ({"experts": [4]}, "expert=4: expected an expert index 0-3"),
    ({"experts": [True]}, "expert=True"),
    ({"count": 0}, "count=0: expected an integer >= 1"),
    ({"count": 10_001}, "count=10001: expected at most 10000"),
    ({"seed": -1}, "seed=-1: expected an integer >= 0"),
])
def test_bad_requests_are_named(model, kwargs, message):
    kwargs = dict({"count": 2}, **kwargs)
    with pytest.raises(MoEVAEError, match=message):
        decode_samples(model, **kwargs)
