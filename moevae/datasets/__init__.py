"""Data: MNIST fetching, the DataManager and its loaders (pynet's API).

The names below are imported on first use (``from moevae.datasets import
DataManager`` works as in pynet), so that a light submodule
(:mod:`~moevae.datasets.defaults`) loads without torch.
"""
import importlib
from typing import Any

_SOURCES = {"ArrayDataset": "arrays", "DataItem": "arrays",
            "SetItem": "arrays", "BatchLoader": "loaders",
            "TensorData": "loaders", "DataManager": "manager",
            "Item": "mnist", "MNISTFallbackWarning": "mnist",
            "fetch_minst": "mnist", "fetch_mnist": "mnist"}
__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__),
                    name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
