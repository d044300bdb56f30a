"""The live board: a non-blocking Visdom client and training observers
(the clustering monitor is :class:`moevae.clustering.monitor.ClusteringMonitor`).

The names below are imported on first use (``from moevae.plotting import
Board`` works as in pynet), so that ``moevae replay`` reads its log
without importing torch.
"""
import importlib
from typing import Any

_SOURCES = {"AsyncVisdom": "client", "Board": "board",
            "ExpertUsage": "observers", "Reconstructions": "observers",
            "Sampling": "observers", "sampling": "observers",
            "show_config": "observers",
            "update_board": "observers"}
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
