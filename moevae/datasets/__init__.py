"""Data: MNIST fetching, the DataManager and its loaders (pynet's API).

The names below are imported on first use (``from moevae.datasets import
DataManager`` works as in pynet), so that a light submodule
(:mod:`~moevae.datasets.defaults`) loads without torch.
"""
from .. import lazy_exports

_SOURCES = {"ArrayDataset": "arrays", "DataItem": "arrays",
            "SetItem": "arrays", "BatchLoader": "loaders", "BatchShare": "loaders",
            "TensorData": "loaders", "DataManager": "manager",
            "Item": "mnist", "MNISTFallbackWarning": "mnist",
            "fetch_minst": "mnist", "fetch_mnist": "mnist"}
__all__ = sorted(_SOURCES)


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, globals())
