"""The live board: a non-blocking Visdom client and training observers
(the clustering monitor is :class:`moevae.clustering.monitor.ClusteringMonitor`)."""
from .board import Board
from .client import AsyncVisdom
from .observers import (ExpertUsage, Reconstructions, sampling, show_config,
                        update_board)

__all__ = ["AsyncVisdom", "Board", "ExpertUsage", "Reconstructions",
           "sampling", "show_config", "update_board"]
