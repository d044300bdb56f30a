"""The clustering monitor: held-out scores each epoch, drawn on the board."""
from unittest import mock

import numpy as np
import torch

from moevae.clustering.monitor import ClusteringMonitor
from moevae.models import FusedManager
from moevae.observable import SignalObject


def signal_for(board, model, **values):
    interface = mock.Mock(board=board, device=torch.device("cpu"),
                          model=model)
    return SignalObject(object=interface, signal="after_epoch", **values)


def test_clustering_monitor_scores_and_draws(mock_board, mock_viewer):
    torch.manual_seed(0)
    model = FusedManager()
    inputs = torch.rand(50, 784)
    labels = np.arange(50) % 10
    monitor = ClusteringMonitor(inputs, labels)
    monitor(signal_for(mock_board, model=model, epoch=4))
    scores = monitor.history[-1]
    assert 0.1 <= scores.acc <= 1 and len(scores.usage) == 10
    assert sum(scores.usage) == 1.0
    lines = mock_viewer.line.call_args_list
    assert [c.kwargs["name"] for c in lines] == ["ACC", "NMI", "ARI"]
    assert all(c.kwargs["win"] == "clustering" and
               c.kwargs["X"].tolist() == [5] for c in lines)
    heatmap = mock_viewer.heatmap.call_args
    assert heatmap.kwargs["X"].shape == (10, 10)
    assert heatmap.kwargs["X"].sum() == 50


def test_without_a_board_the_monitor_still_keeps_its_history():
    torch.manual_seed(0)
    monitor = ClusteringMonitor(torch.rand(20, 784), np.arange(20) % 10)
    for epoch in range(3):
        monitor(signal_for(None, model=FusedManager(), epoch=epoch))
    assert len(monitor.history) == 3
    assert all(sum(s.usage) == 1.0 for s in monitor.history)


def test_images_of_any_layout_are_flattened():
    monitor = ClusteringMonitor(np.zeros((4, 1, 28, 28), np.float32),
                                [0, 1, 2, 3])
    assert monitor.inputs.shape == (4, 784)
