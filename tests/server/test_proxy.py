"""A board served under a path, behind a reverse proxy (and on IPv6)."""
import json
import socket

import numpy as np
import pytest
import requests
import visdom

from moevae.cli import replay as replay_cli
from moevae.plotting import Board
from tests.support.helpers import free_port, start_server, stop_server
from tests.support.proxy import Proxy

pytestmark = pytest.mark.integration
PREFIX = "/visdom"


@pytest.fixture
def prefixed_server(tmp_path):
    port = free_port()
    process = start_server(port, tmp_path / "env", args=("--base-url",
                                                         PREFIX + "/"))
    yield port
    stop_server(process)


def windows(port, env, host="127.0.0.1"):
    client = visdom.Visdom(server=f"http://{host}", port=port, env=env,
                           base_url=PREFIX, use_incoming_socket=False,
                           raise_exceptions=True)
    return json.loads(client.get_window_data(env=env))


def draw(board):
    board.update_plots({"loss": 3.0, "batch_loss": np.ones(4)}, 0)
    board.update_plots({"loss": 2.0, "batch_loss": np.ones(4)}, 1)
    assert board.close(20)


def test_a_board_behind_a_proxy_under_a_path_draws(prefixed_server,
                                                   tmp_path, caplog):
    proxy_port = free_port()
    with Proxy(proxy_port, PREFIX, f"http://127.0.0.1:{prefixed_server}"):
        assert requests.get(f"http://127.0.0.1:{proxy_port}/env/x",
                            timeout=5).status_code == 404
        caplog.set_level("INFO", "moevae")
        board = Board(host=f"http://127.0.0.1{PREFIX}", port=proxy_port,
                      env="proxied", start_server=False,
                      log_path=tmp_path / "board.jsonl")
        draw(board)
        assert f"127.0.0.1:{proxy_port}{PREFIX}/env/proxied" in caplog.text
        # the offline log replays through the proxy too (the CLI's form)
        assert replay_cli.main([str(tmp_path / "board.jsonl"), "--env",
                                "again", "--board", f"http://127.0.0.1:"
                                f"{proxy_port}{PREFIX}/"]) == 0
    for env in ("proxied", "again"):
        drawn = windows(prefixed_server, env)
        assert drawn["loss"]["content"]["data"][0]["x"] == [1, 2]
        assert "run_status" in drawn
    page = requests.get(f"http://127.0.0.1:{prefixed_server}{PREFIX}/",
                        timeout=5)
    assert page.status_code == 200


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6(), reason="no IPv6 loopback")
def test_an_ipv6_board_under_a_path(tmp_path):
    port = free_port()
    process = start_server(port, tmp_path / "env",
                           args=("--base-url", PREFIX), host="::1")
    try:
        draw(Board(host=f"http://[::1]:{port}{PREFIX}", env="six",
                   start_server=False))
        drawn = windows(port, "six", host="[::1]")
        assert drawn["loss"]["content"]["data"][0]["y"] == [3.0, 2.0]
    finally:
        stop_server(process)
