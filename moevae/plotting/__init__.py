"""The live board: a non-blocking Visdom client and training observers."""
from .board import Board
from .client import AsyncVisdom
from .clustering import ClusteringMonitor
from .observers import ExpertUsage, Reconstructions, sampling, show_config, \
    update_board

__all__ = ["AsyncVisdom", "Board", "ClusteringMonitor", "ExpertUsage",
           "Reconstructions", "sampling", "show_config", "update_board"]
