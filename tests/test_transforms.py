import numpy as np

from moevae.transforms import flatten


def test_flatten_gives_a_row_major_vector_and_keeps_the_dtype():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    vector = flatten(image)
    assert vector.shape == (12,) and vector.dtype == np.uint8
    assert vector.tolist() == list(range(12))
    vector[0] = 99  # a copy: the sample is not changed
    assert image[0, 0] == 0
    assert flatten(np.zeros((1, 28, 28), np.float32)).shape == (784,)
    assert flatten(np.float32(2.5)).tolist() == [2.5]
