"""The live board: a non-blocking Visdom client and training observers
(the clustering monitor is :class:`moevae.clustering.monitor.ClusteringMonitor`).

The names below are imported on first use (``from moevae.plotting import
Board`` works as in pynet), so that ``moevae replay`` reads its log
without importing torch.
"""
from .. import lazy_exports

_SOURCES = {"AsyncVisdom": "client", "Board": "board",
            "ExpertUsage": "observers", "Reconstructions": "observers",
            "Sampling": "observers", "sampling": "observers",
            "show_config": "observers",
            "update_board": "observers"}
__all__ = sorted(_SOURCES)


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, globals())
