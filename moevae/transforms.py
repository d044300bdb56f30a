"""Per-sample transforms for DataManager (pynet's callables on arrays)."""
import numpy as np


def flatten(arr: np.ndarray) -> np.ndarray:
    """The seed's transform: an image as a 1-D vector."""
    return arr.flatten()
