"""AsyncVisdom: queueing, dropping, offline log and catch-up (no server)."""
import json
import logging
import threading
from unittest import mock

import numpy as np
import pytest

from moevae.plotting import client as client_module
from moevae.plotting.client import AsyncVisdom
from moevae.plotting.transport import Transport, TransportError


class FakeTransport:
    """Records posts; can be 'down' or hold every post until released."""

    def __init__(self, *args, **kwargs):
        self.base = "http://fake:1"
        self.posts = []
        self.down = False
        self.release = threading.Event()
        self.release.set()

    def post(self, endpoint, message):
        self.release.wait(10)
        if self.down:
            raise TransportError("connection refused or lost")
        self.posts.append((endpoint, message))
        return "ok"


@pytest.fixture
def fake(monkeypatch):
    transport = FakeTransport()
    monkeypatch.setattr(client_module, "Transport", lambda *a, **k: transport)
    monkeypatch.setattr(client_module, "BACKOFF_S", (0.05,))
    return transport


def windows(posts, endpoint=None):
    return [(e, m.get("win")) for e, m in posts
            if endpoint is None or e == endpoint]


def test_wrong_signature_fails_at_the_call(fake):
    viewer = AsyncVisdom(env="t")
    with pytest.raises(TypeError):
        viewer.line(Y=[1], bogus=3)
    with pytest.raises(AttributeError, match="forwards"):
        viewer.get_window_data()
    viewer.close_client(1)


def test_calls_are_sent_in_order_with_a_clean_env_first(fake, tmp_path):
    log = tmp_path / "board.jsonl"
    viewer = AsyncVisdom(env="run", log_path=log)
    array = np.zeros((2, 1, 4, 4))
    assert viewer.images(array, win="imgs") == "imgs"
    array += 1  # changed after the call: the queued copy is unaffected
    viewer.line(Y=np.array([1.0]), X=np.array([0.0]), win="loss",
                update="append", name="train")
    assert viewer.flush(5)
    assert windows(fake.posts)[:2] == [("env/run", None), ("close", None)]
    assert windows(fake.posts)[2:] == [("events", "imgs"), ("update", "loss")]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [entry[0] for entry in logged] == ["events", "update"]
    assert logged[1][1]["eid"] == "run"
    assert viewer.close_client(1)


def test_full_queue_drops_oldest_images_never_lines(fake):
    fake.release.clear()  # the sender blocks on its first post
    viewer = AsyncVisdom(env="q", queue_size=3)
    for epoch in range(10):
        viewer.images(np.zeros((1, 1, 2, 2)), win=f"img{epoch}")
        viewer.line(Y=np.array([float(epoch)]), X=np.array([epoch]),
                    win="loss", update="append")
    assert viewer.dropped >= 5
    fake.release.set()
    assert viewer.flush(5)
    sent = windows(fake.posts, "update")
    assert len(sent) == 10  # every loss point
    images = [w for e, w in windows(fake.posts, "events")]
    assert images[-3:] == ["img7", "img8", "img9"] and len(images) <= 5
    viewer.close_client(1)


def test_server_down_warns_once_then_catches_up(fake, caplog):
    fake.down = True
    viewer = AsyncVisdom(env="d")
    with caplog.at_level(logging.WARNING, logger="moevae"):
        for epoch in range(5):
            viewer.line(Y=np.array([float(epoch)]), X=np.array([epoch]),
                        win="loss", update="append", name="train")
            viewer.images(np.full((1, 1, 2, 2), epoch), win="sampling")
        assert not viewer.flush(0.5)
    warnings = [r for r in caplog.records if "not answering" in r.message]
    assert len(warnings) == 1 and "training goes on" in warnings[0].message
    fake.down = False
    with caplog.at_level(logging.INFO, logger="moevae"):
        assert viewer.flush(5)
    assert any("answers again" in r.message for r in caplog.records)
    redraw = fake.posts[fake.posts.index(("close", {"win": None,
                                                    "eid": "d"})):]
    assert len(windows(redraw, "update")) == 5  # every point
    images = [m for e, m in redraw if e == "events"]
    assert len(images) == 1  # only the latest image
    viewer.close_client(1)


def test_bad_data_is_skipped_and_logged_once(fake, caplog):
    viewer = AsyncVisdom(env="b")
    with caplog.at_level(logging.WARNING, logger="moevae"):
        for _ in range(3):
            viewer.images(np.zeros(5), win="bad")  # not an image
        viewer.line(Y=np.array([1.0]), X=np.array([0.0]), win="ok",
                    update="append")
        assert viewer.flush(5)
    assert [r for r in caplog.records if "images(...) failed" in r.message
            ] and len([r for r in caplog.records if "failed" in r.message]) == 1
    assert windows(fake.posts, "update") == [("update", "ok")]


def test_transport_uses_timeouts():
    transport = Transport("http://localhost", 8097, timeout=3)
    session = mock.Mock()
    session.post.return_value = mock.Mock(status_code=200, text="ok")
    transport._session = session
    transport.post("events", {"a": 1})
    assert session.post.call_args.kwargs["timeout"] == (2.0, 3)
    assert session.post.call_args.args[0] == "http://localhost:8097/events"
