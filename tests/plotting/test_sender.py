"""The sender under random values and names (hypothesis): it never dies,
never blocks past its timeouts, and posts nothing but strict JSON."""
import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from moevae.plotting import client as client_module
from moevae.plotting.client import AsyncVisdom
from tests.plotting.test_client import FakeTransport, reject_constant

floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [1e308, -1e308, 5e-324, 1e-45, 0.0, -0.0])
arrays = hnp.arrays(
    st.sampled_from([np.float64, np.float32, np.float16, np.int64,
                     np.uint8, np.bool_, np.complex64, np.str_, object]),
    hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4),
    elements=None) | st.lists(floats, max_size=6).map(np.array)
names = st.none() | st.text(max_size=8) | st.sampled_from(
    ["run #1", "a?b", "\x00\x1f", "é€😀", " ", "../x"])


@st.composite
def calls(draw):
    method = draw(st.sampled_from(["line", "append", "text", "images",
                                   "bar", "scatter"]))
    win, name = draw(names), draw(names)
    value = draw(arrays)
    if method in ("line", "append"):
        x = np.arange(np.size(value)) if draw(st.booleans()) else value
        return "line", dict(Y=value, X=x, win=win, name=name,
                            update="append" if method == "append" else None,
                            opts={"title": draw(names)})
    if method == "text":
        return "text", dict(text=draw(st.text(max_size=20)), win=win)
    if method == "scatter":
        return "scatter", dict(X=value, win=win)
    return method, {"X" if method == "bar" else "tensor": value, "win": win}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(calls(), min_size=1, max_size=12))
def test_random_values_never_kill_the_sender(monkeypatch_module, script):
    transport = FakeTransport()
    monkeypatch_module.setattr(client_module, "Transport",
                               lambda *a, **k: transport)
    viewer = AsyncVisdom(env="fuzz", queue_size=4)
    for method, kwargs in script:
        start = time.monotonic()
        getattr(viewer, method)(**kwargs)
        assert time.monotonic() - start < 1.0  # never waits for the server
    assert viewer.flush(10)
    assert viewer.sender._thread.is_alive()
    for _, message in transport.posts:
        json.loads(json.dumps(message, allow_nan=False),
                   parse_constant=reject_constant)
    viewer.close_client(1)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


metric_values = floats | st.integers(-10 ** 20, 10 ** 20) | st.builds(
    np.float32, st.floats(width=32)) | hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=0, max_dims=1, min_side=0,
                                 max_side=5))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(
    st.sampled_from(["loss", "val_loss", "kl", "psnr", "batch_loss"]),
    metric_values, max_size=4), min_size=1, max_size=4))
def test_any_metric_values_reach_the_board_as_strict_json(monkeypatch_module,
                                                          epochs):
    from moevae.plotting import Board
    transport = FakeTransport()
    monkeypatch_module.setattr(client_module, "Transport",
                               lambda *a, **k: transport)
    board = Board(port=1, host="http://127.0.0.1", env="metrics",
                  start_server=False)
    for epoch, values in enumerate(epochs):
        board.update_plots(values, epoch)
    assert board.close(10)
    for _, message in transport.posts:
        json.loads(json.dumps(message, allow_nan=False),
                   parse_constant=reject_constant)
    drawn = {m.get("win") for e, m in transport.posts}
    for values in epochs:
        for key, value in values.items():
            if np.size(value) == 1 or (key == "batch_loss" and
                                       np.size(value)):
                assert (key[4:] if key.startswith("val_") else key) in drawn
