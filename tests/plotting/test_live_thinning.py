"""A thinned line window on a real Visdom server: x order and bound."""
import time

import numpy as np
import pytest

from moevae.plotting import Board

pytestmark = [pytest.mark.integration]


def _check(windows, window, bound):
    traces = windows[window]["content"]["data"]
    for trace in traces:
        assert trace["x"] == sorted(trace["x"]), (trace["name"], trace["x"])
    assert sum(len(trace["x"]) for trace in traces) <= bound
    return traces


@pytest.mark.parametrize("slow_server", [False, True])
def test_thinned_curves_on_the_server_are_in_order_and_bounded(
        visdom_server, slow_server, monkeypatch):
    """20 epochs of 10 per-batch points with max_points=40 (the reported
    case); the same while a slow server lets appends merge in the queue;
    and two traces of one window thinned together (train and validation
    with uneven point counts)."""
    board = Board(port=visdom_server.port, host="http://127.0.0.1",
                  env="thin", max_points=40, start_server=False)
    if slow_server:
        post = board.viewer.sender.transport.post

        def slow_post(*args, **kwargs):
            time.sleep(0.02)
            return post(*args, **kwargs)
        monkeypatch.setattr(board.viewer.sender.transport, "post", slow_post)
    rng = np.random.default_rng(1)
    for epoch in range(20):
        board.update_plots({"batch_loss": rng.random(10)}, epoch)
        board.append_point("pair", "train", epoch, rng.random(7))
        board.append_point("pair", "validation", epoch, rng.random(3))
    assert board.close(30)
    windows = visdom_server.windows("thin")
    traces = _check(windows, "batch_loss", 40)
    assert traces[0]["x"][-1] == pytest.approx(20.0)
    assert traces[0]["x"][0] == pytest.approx(0.1)
    _check(windows, "pair", 40)
