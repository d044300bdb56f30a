"""AsyncVisdom: queueing, dropping, offline log and catch-up (no server)."""
import json
import logging
import threading
import time
from unittest import mock

import numpy as np
import pytest

from moevae.plotting import client as client_module
from moevae.plotting import sender as sender_module
from moevae.plotting.client import AsyncVisdom
from moevae.plotting.transport import RequestRefused, ServerDown, Transport


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
            raise ServerDown("connection refused or lost")
        self.posts.append((endpoint, message))
        return "ok"


@pytest.fixture
def fake(monkeypatch):
    transport = FakeTransport()
    monkeypatch.setattr(client_module, "Transport", lambda *a, **k: transport)
    monkeypatch.setattr(sender_module, "BACKOFF_S", (0.05,))
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
    sent = [m for e, m in fake.posts if e == "update"]
    # every loss point, in order; pending appends merged into one request
    assert [y for m in sent for y in m["data"][0]["y"]] == list(range(10))
    assert len(sent) <= 2
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
    # every point, merged into one request per window
    loss = [m for e, m in redraw if m.get("win") == "loss"]
    assert len(loss) == 1 and loss[0]["data"][0]["y"] == [0, 1, 2, 3, 4]
    images = [m for e, m in redraw if m.get("win") == "sampling"]
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
    assert [r for r in caplog.records if "images(...) for window" in r.message
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


def reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


def strict(message):
    """The message as the server receives it, parsed strictly."""
    return json.loads(json.dumps(message, allow_nan=False),
                      parse_constant=reject_constant)


def test_non_finite_values_are_gaps_in_strict_json(fake, tmp_path):
    log = tmp_path / "board.jsonl"
    viewer = AsyncVisdom(env="nan", log_path=log)
    viewer.line(Y=np.array([1.0, np.inf, np.nan, -np.inf, 2.0]),
                X=np.arange(5), win="psnr", name="train")
    viewer.line(Y=np.array([np.inf]), X=np.array([5]), win="psnr",
                name="train", update="append")
    assert viewer.flush(5)
    created, appended = [strict(m) for e, m in fake.posts
                         if e in ("events", "update")]
    assert created["data"][0]["y"] == [1.0, None, None, None, 2.0]
    assert appended["data"][0]["y"] == [None]
    for line in log.read_text().splitlines():
        json.loads(line, parse_constant=reject_constant)
    viewer.close_client(1)


class RefusingTransport(FakeTransport):
    """Answers HTTP 500 to every request about window 'bad'."""

    def __init__(self):
        super().__init__()
        self.refused = 0

    def post(self, endpoint, message):
        if message.get("win") == "bad":
            self.refused += 1
            raise RequestRefused("HTTP 500 Internal Server Error", 500)
        return super().post(endpoint, message)


def test_a_refused_request_is_dropped_after_one_warning(monkeypatch, caplog):
    transport = RefusingTransport()
    monkeypatch.setattr(client_module, "Transport", lambda *a, **k: transport)
    viewer = AsyncVisdom(env="r")
    with caplog.at_level(logging.WARNING, logger="moevae"):
        for epoch in range(5):
            viewer.text(f"epoch {epoch}", win="bad")
            viewer.line(Y=np.array([1.0]), X=np.array([epoch]), win="ok",
                        update="append", name="train")
            # False: the server does not have them all (it refused one)
            assert viewer.flush(5) is False
    assert transport.refused == 5  # each request once: never retried
    assert viewer.connected
    warnings = [r.message for r in caplog.records]
    assert (len(warnings) == 1 and "refused" in warnings[0] and
        "HTTP 500" in warnings[0] and "not answering" not in warnings[0])
    assert sum(len(m["data"][0]["y"]) for e, m in transport.posts
               if m.get("win") == "ok") == 5
    viewer.line(Y=np.array([2.0]), X=np.array([9]), win="ok",
                update="append", name="train")
    assert viewer.flush(5) is True  # nothing refused since the last flush
    viewer.close_client(1)


def test_the_sender_survives_any_exception(fake, caplog):
    viewer = AsyncVisdom(env="x")
    boom = mock.Mock(side_effect=[RuntimeError("bug"), "ok", "ok", "ok",
                                  "ok", "ok"])
    with caplog.at_level(logging.WARNING, logger="moevae"):
        assert viewer.flush(5)
        fake.post = boom
        viewer.text("lost", win="a")
        viewer.text("kept", win="b")
        viewer.line(Y=np.array([1.0]), X=np.array([0.0]), win="c")
        assert viewer.flush(5)
    assert [c.args[1]["win"] for c in boom.call_args_list] == ["a", "b", "c"]
    assert any("RuntimeError" in r.message for r in caplog.records)
    viewer.close_client(1)


def test_flush_honours_its_timeout_with_a_hung_server(fake):
    viewer = AsyncVisdom(env="h")
    assert viewer.flush(5)
    fake.release.clear()  # every post now hangs
    viewer.text("x", win="t")
    start = time.monotonic()
    assert not viewer.flush(0.3)
    assert time.monotonic() - start < 0.6
    fake.release.set()
    assert viewer.flush(5)
    viewer.close_client(1)


def test_the_call_that_creates_a_window_is_never_dropped(fake):
    fake.release.clear()
    viewer = AsyncVisdom(env="f", queue_size=1)
    viewer.line(Y=np.array([3.0]), X=np.array([1.0]), win="loss",
                name="train")
    for index in range(20):
        viewer.images(np.zeros((1, 1, 2, 2)), win=None)
        viewer.text(str(index))
    fake.release.set()
    assert viewer.flush(5)
    assert ("events", "loss") in windows(fake.posts)
    viewer.close_client(1)


def test_the_queue_stays_bounded_and_calls_return_at_once(fake):
    fake.release.clear()
    viewer = AsyncVisdom(env="b", queue_size=8)
    start = time.monotonic()
    for epoch in range(2000):
        viewer.line(Y=np.array([1.0, 2.0]), X=np.array([epoch, epoch + .5]),
                    win="batch_loss", update="append", name="train")
        viewer.line(Y=np.array([1.0]), X=np.array([epoch]), win="loss",
                    update="append", name="validation")
        viewer.images(np.zeros((1, 1, 2, 2)), win="sampling")
        viewer.text("note")  # no window: droppable
        viewer.bar(X=np.ones(3), win=f"bars{epoch % 5}")
    assert time.monotonic() - start < 20
    assert viewer.backlog() <= 8 + 8  # droppable + one per window/trace
    fake.release.set()
    assert viewer.flush(10)
    points = [y for e, m in fake.posts if m.get("win") == "batch_loss"
              for y in m["data"][0]["y"]]
    assert len(points) == 4000
    viewer.close_client(1)


@pytest.mark.parametrize("status, error", [
    (500, RequestRefused), (400, RequestRefused), (413, RequestRefused),
    (502, ServerDown), (503, ServerDown), (504, ServerDown)])
def test_http_errors_are_refusals_unless_a_gateway_says_down(status, error):
    transport = Transport("http://localhost", 8097)
    session = mock.Mock()
    session.post.return_value = mock.Mock(status_code=status, reason="R",
                                          text="")
    transport._session = session
    with pytest.raises(error, match=f"HTTP {status} R from"):
        transport.post("events", {"y": [float("nan")]})
    assert session.post.call_args.kwargs["data"] == '{"y": [null]}'


def test_a_bfloat16_tensor_is_taken_as_its_values():
    """numpy has no bfloat16: the call must not fail in the caller."""
    import numpy as np
    import torch

    from moevae.plotting.client import _copy
    copied = _copy(torch.tensor([1.5, float("inf")], dtype=torch.bfloat16))
    assert copied.dtype == np.float64 and copied[0] == 1.5
