"""Environments survive a restart of the board server (SIGTERM or SIGKILL),
and ``moevae board --stop`` stops it after saving them."""
import shlex
import signal
import time

import numpy as np
import pytest

from moevae.plotting import Board
from moevae.server import command as board_cli
from moevae.server.persist import SAVE_INTERVAL_S
from tests.support.helpers import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def draw_run(server, env="kept", epochs=3):
    board = Board(port=server.port, host="http://127.0.0.1", env=env,
                  start_server=False)
    for epoch in range(epochs):
        board.update_plots({"loss": 1.0 / (epoch + 1), "val_loss": 2.0,
                            "batch_loss": np.linspace(3, 1, 5)}, epoch)
        board.viewer.images(np.full((2, 1, 4, 4), epoch * 50.0),
                            win="sampling")
    assert board.close(10)  # nothing left to redraw after the restart
    return {win: pane["content"] for win, pane in
            server.windows(env).items()}


def points(content):
    return {win: [(trace["name"], trace["x"], trace["y"])
                  for trace in value["data"]]
            for win, value in content.items()
            if isinstance(value, dict) and "data" in value}


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_every_window_and_point_survives_a_restart(tmp_path, stop):
    server = Server(tmp_path / "env").start()
    try:
        before = draw_run(server)
        assert points(before)["loss"] == [
            ("train", [1.0, 2.0, 3.0], [1.0, 0.5, 1 / 3]),
            ("validation", [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])]
        if stop == "SIGKILL":  # at most the last save interval is lost
            time.sleep(SAVE_INTERVAL_S + 1.5)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(10)
        else:
            server.stop()
        server.start()
        after = {win: pane["content"] for win, pane in
                 server.windows("kept").items()}
    finally:
        server.stop()
    assert after == before
    assert "finished" in after["run_status"]


def test_board_stop_stops_the_board_it_names(tmp_path, capsys):
    server = Server(tmp_path / "env").start()
    try:
        draw_run(server, env="stopped", epochs=1)
        # the command the start-up line gives is the one that stops it
        serving = server.process.stdout.readline().decode()
        hint = serving.split("`")[1]
        assert (hint == f"moevae board --stop --port {server.port} "
            f"--env-path {tmp_path / 'env'}"), serving
        assert board_cli.main(shlex.split(hint)[2:]) == 0
        assert (f"stopped the board on port {server.port}" in
            capsys.readouterr().out)
        server.process.wait(10)
        assert (tmp_path / "env" / "stopped.json").is_file()
        assert not (tmp_path / "env" / f"board-{server.port}.pid").exists()
        assert board_cli.main(["--stop", "--port", str(server.port),
                               "--env-path", str(tmp_path / "env")]) == 1
        error = capsys.readouterr().err
        assert (f"no board is running on port {server.port}" in error and
                error.count("\n") == 1)
    finally:
        server.stop()


def test_board_stop_never_signals_a_process_that_is_not_a_board(tmp_path,
                                                               capsys):
    import subprocess
    other = subprocess.Popen(["sleep", "30"])  # a reused pid
    try:
        (tmp_path / "board-8111.pid").write_text(f"{other.pid}\n")
        assert board_cli.main(["--stop", "--port", "8111", "--env-path",
                               str(tmp_path)]) == 1
        assert "is not a moevae board (stale" in capsys.readouterr().err
        assert other.poll() is None  # still running
        assert not (tmp_path / "board-8111.pid").exists()
    finally:
        other.kill()
        other.wait()
