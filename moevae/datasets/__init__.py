"""Data: MNIST fetching, the DataManager and its loaders (pynet's API)."""
from .arrays import ArrayDataset, DataItem, SetItem
from .loaders import BatchLoader, TensorData
from .manager import DataManager
from .mnist import Item, MNISTFallbackWarning, fetch_minst, fetch_mnist

__all__ = ["ArrayDataset", "BatchLoader", "DataItem", "DataManager", "Item",
           "MNISTFallbackWarning", "SetItem", "TensorData", "fetch_minst",
           "fetch_mnist"]
