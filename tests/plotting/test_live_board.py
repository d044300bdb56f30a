"""The board against a real offline Visdom server on 127.0.0.1."""
import json
import logging

import pytest

from moevae.cli import replay as replay_cli
from moevae.cli import train as train_cli
from moevae.plotting import Board
from tests.support.helpers import Server, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LINE_WINDOWS = ("loss", "expected_expert_loss", "balancing_loss", "lr",
                "epoch_time", "samples_per_second")
OTHER_WINDOWS = ("sampling", "reconstructions", "expert_usage", "config",
                 "batch_loss")


def train(tmp_path, mnist_dir, board, epochs=2, name="itest"):
    args = ["--epochs", str(epochs), "--board", board, "--datasetdir",
            str(mnist_dir), "--run-dir", str(tmp_path / name), "--name", name,
            "--seed", "1"]
    return train_cli.main(args)


def points(window):
    """{trace name: number of points} of a line window."""
    return {trace["name"]: len(trace["x"])
            for trace in window["content"]["data"]}


def check_board(windows, epochs, name):
    for key in LINE_WINDOWS:
        assert points(windows[key]) == {"train": epochs}, key
    for key in OTHER_WINDOWS:
        assert key in windows, key
    assert sum(points(windows["batch_loss"]).values()) == 7 * epochs
    assert windows["sampling"]["type"] == "image"
    assert windows["config"]["type"] == "text"
    assert name in windows["config"]["content"]


def test_a_run_draws_every_panel(tmp_path, mnist_dir, visdom_server):
    assert train(tmp_path, mnist_dir, visdom_server.url) == 0
    check_board(visdom_server.windows("itest"), 2, "itest")
    log = tmp_path / "itest" / "board.jsonl"
    assert all(json.loads(line)[0] in ("events", "update", "close")
               for line in log.read_text().splitlines())


def test_server_killed_mid_run_then_back(tmp_path, mnist_dir, monkeypatch,
                                         caplog):
    server = Server(tmp_path / "env").start()
    original = train_cli.attach_board

    def attach_with_outage(interface, *args):
        original(interface, *args)

        def outage(signal):
            if signal.epoch == 0:
                server.stop()
            if signal.epoch == 2:
                server.start()
        interface.add_observer("after_epoch", outage)
    monkeypatch.setattr(train_cli, "attach_board", attach_with_outage)
    try:
        with caplog.at_level(logging.INFO, logger="moevae"):
            assert train(tmp_path, mnist_dir, server.url, epochs=4) == 0
        check_board(server.windows("itest"), 4, "itest")
    finally:
        server.stop()
    down = [r for r in caplog.records if "not answering" in r.message]
    assert len(down) == 1
    assert any("answers again" in r.message for r in caplog.records)


def test_no_server_then_replay_into_a_fresh_one(tmp_path, mnist_dir, caplog,
                                                capsys):
    url = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="moevae"):
        assert train(tmp_path, mnist_dir, url, name="offline") == 0
    assert len([r for r in caplog.records if "not answering" in r.message]
               ) == 1
    server = Server(tmp_path / "fresh")
    server.port = int(url.rsplit(":", 1)[1])
    server.start()
    try:
        log = tmp_path / "offline" / "board.jsonl"
        assert replay_cli.main([str(log), "--board", url]) == 0
        assert f"windows drawn: {url}/env/offline" in capsys.readouterr().out
        check_board(server.windows("offline"), 2, "offline")
    finally:
        server.stop()


def test_replay_errors(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('not json\n')
    assert replay_cli.main([str(bad), "--board",
                            f"http://127.0.0.1:{free_port()}"]) == 2
    assert "bad.jsonl: no visdom log line" in capsys.readouterr().err
    good = tmp_path / "good.jsonl"
    good.write_text('["events", {"win": "a", "eid": "e"}]\n')
    assert replay_cli.main([str(good), "--board",
                            f"http://127.0.0.1:{free_port()}"]) == 1
    assert "does not answer" in capsys.readouterr().err


def test_board_starts_a_local_server_when_none_answers(tmp_path, monkeypatch):
    from moevae.plotting import board as board_module
    monkeypatch.setattr(board_module, "DEFAULT_ENV_PATH", tmp_path / "env")
    port = free_port()
    board = Board(port=port, host="http://localhost", env="auto",
                  log_path=False)
    try:
        assert board.server is not None and board.server.poll() is None
        board.viewer.text("hello", win="note")
        assert board.flush(10)
        watcher = Server(tmp_path / "unused")
        watcher.port = port
        assert "note" in watcher.windows("auto")
    finally:
        board.close()
        board.stop_server()


def test_replay_refuses_an_env_name_the_page_cannot_open(tmp_path, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text('["events", {"win": "a", "eid": "e"}]\n')
    with pytest.raises(SystemExit) as stop:
        replay_cli.main([str(good), "--env", "run #1"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert ("name='run #1': expected a name" in error and
        error.count("\n") == 1)


def test_a_resumed_run_keeps_its_curves_so_far(tmp_path, mnist_dir,
                                               visdom_server):
    """Resuming with more epochs continues the board's curves: the points
    of the epochs before the resume are still there."""
    assert train(tmp_path, mnist_dir, visdom_server.url, epochs=1) == 0
    assert train_cli.main(["--resume", str(tmp_path / "itest"), "--epochs",
                           "2"]) == 0
    windows = visdom_server.windows("itest")
    for key in LINE_WINDOWS:
        assert points(windows[key]) == {"train": 2}, key
    assert sum(points(windows["batch_loss"]).values()) == 7 * 2


@pytest.mark.parametrize("env, names", [
    ("main2", ["a"]),          # an environment that does not exist yet
    ("appended", ["a", "b"]),  # two traces, each appended first
])
def test_appending_to_a_window_the_server_lacks_creates_it(
        tmp_path, visdom_server, env, names):
    import numpy as np
    board = Board(host="http://127.0.0.1", port=visdom_server.port,
                  env="owner")
    for x in (1.0, 2.0, 3.0):
        for offset, name in enumerate(names):
            board.viewer.line(X=np.array([x]), Y=np.array([x + offset]),
                              env=env, win="test", update="append",
                              name=name)
    assert board.flush(10)  # nothing was refused
    window = visdom_server.windows(env)["test"]
    traces = {trace["name"]: (trace["x"], trace["y"])
              for trace in window["content"]["data"]}
    assert traces == {name: ([1.0, 2.0, 3.0], [1.0 + k, 2.0 + k, 3.0 + k])
                      for k, name in enumerate(names)}
    board.close()


def test_appending_to_an_existing_window_keeps_its_points(tmp_path,
                                                          visdom_server):
    import numpy as np
    board = Board(host="http://127.0.0.1", port=visdom_server.port,
                  env="kept")
    board.viewer.line(X=np.array([0.0]), Y=np.array([5.0]), env="kept",
                      win="w", name="a")
    board.viewer.line(X=np.array([1.0]), Y=np.array([6.0]), env="kept",
                      win="w", update="append", name="a")
    assert board.flush(10)
    trace = visdom_server.windows("kept")["w"]["content"]["data"][0]
    assert (trace["x"], trace["y"]) == ([0.0, 1.0], [5.0, 6.0])
    board.close()
