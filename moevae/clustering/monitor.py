"""ClusteringMonitor: ACC/NMI/ARI of the manager after every epoch.

Scores a fixed held-out subset (cheap: one manager pass), logs one line,
keeps the scores in ``history`` and, when the interface has a board, draws
the curves and the expert x digit confusion heatmap, so a collapse is seen
as it happens.
"""
import logging
from typing import List, Union

import numpy as np
import torch

from ..models import experts_of
from ..plotting.board import PANE_SIZE, plot_opts
from .scores import ClusteringScores, manager_clusters, score_clustering

logger = logging.getLogger("moevae")


class ClusteringMonitor:
    """An ``after_epoch`` observer scoring the manager's clusters."""
    side_effect = True  # scores and plots: errors logged, training goes on

    def __init__(self, inputs: Union[torch.Tensor, np.ndarray],
                 labels: np.ndarray):
        self.inputs = torch.as_tensor(inputs).reshape(len(inputs), -1)
        self.labels = np.asarray(labels)
        self.history: List[ClusteringScores] = []

    def __call__(self, signal) -> None:
        interface = signal.object
        clusters = manager_clusters(interface.model, self.inputs)
        scores = score_clustering(self.labels, clusters,
                                  len(experts_of(interface.model)))
        self.history.append(scores)
        logger.info("clustering (held-out %d): ACC %.3f NMI %.3f ARI %.3f, "
                    "%d expert(s) under 2%%", len(self.labels), scores.acc,
                    scores.nmi, scores.ari, scores.collapsed)
        if interface.board is not None:
            self.draw(interface.board, signal.epoch, scores)

    @staticmethod
    def draw(board, epoch: int, scores: ClusteringScores) -> None:
        for name in ("acc", "nmi", "ari"):
            board.append_point("clustering", name.upper(), epoch,
                               getattr(scores, name),
                               title="clustering (held-out)")
        confusion = np.asarray(scores.confusion, dtype=np.float64)
        # category axes: every digit and expert labelled (plotly reads
        # "0".."9" as numbers and would tick only 0 and 5)
        board.viewer.heatmap(
            X=confusion, win="confusion",
            opts={"title": f"expert x digit (held-out, epoch {epoch + 1})",
                  "columnnames": [str(c) for c in range(confusion.shape[1])],
                  "rownames": [str(k) for k in range(confusion.shape[0])],
                  "colormap": "Viridis", **PANE_SIZE,
                  **plot_opts(xaxis={"title": "digit", "type": "category",
                                     "dtick": 1},
                              yaxis={"title": "expert", "type": "category",
                                     "dtick": 1, "autorange": "reversed"})})
