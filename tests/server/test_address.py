"""Every URL form a user gives for the board's server (one parser)."""
import argparse

import pytest

from moevae.cli.options import board_text
from moevae.cli.parsing import board_address
from moevae.errors import MoEVAEError
from moevae.plotting import Board
from moevae.plotting.transport import Transport
from moevae.server.address import parse_server_url
from moevae.server.launch import server_url


@pytest.mark.parametrize("text, port, url", [
    ("http://127.0.0.1/visdom", 8123, "http://127.0.0.1:8123/visdom"),
    ("https://board.example.org/visdom", None,
     "https://board.example.org:443/visdom"),
    ("https://board.example.org", None, "https://board.example.org:443"),
    ("http://localhost", None, "http://localhost:8097"),
    ("http://host:9000", None, "http://host:9000"),
    ("http://host:9000/", 9000, "http://host:9000"),
    ("http://[::1]:8097", None, "http://[::1]:8097"),
    ("http://[::1]/a/b/", 9, "http://[::1]:9/a/b"),
    ("http://user:p%40ss@host:81/v", None, "http://host:81/v"),
])
def test_every_url_form_is_kept(text, port, url):
    address = parse_server_url(text, port)
    assert address.url == url
    assert "p@ss" not in address.url


def test_a_login_in_the_url_is_used_and_never_shown():
    address = parse_server_url("http://me:s%3Acret@127.0.0.1:81")
    assert (address.username, address.password) == ("me", "s:cret")
    assert address.saved_url == "http://me@127.0.0.1:81"
    transport = Transport("http://me:s3cret@127.0.0.1/visdom", 81)
    assert (transport.username, transport.password) == ("me", "s3cret")
    assert transport.base == "http://127.0.0.1:81/visdom"
    with pytest.raises(MoEVAEError, match="password"):
        Transport("http://me@127.0.0.1", 81)


@pytest.mark.parametrize("text, port", [
    ("ftp://host", None), ("localhost", None), ("http://", None),
    ("http://host?x=1", None), ("http://host/#frag", None),
    ("http://host:0", None), ("http://host:99999", None),
    ("http://host:80", 81), ("http://host/a/../b", None),
    ("http://host//v", None), ("http://:pw@host", None),
    ("http://host name", None), (None, None), ("http://host", 70000),
])
def test_anything_else_is_refused_in_one_line(text, port):
    with pytest.raises(MoEVAEError) as error:
        parse_server_url(text, port)
    assert "\n" not in str(error.value) and "expected" in str(error.value)


@pytest.mark.parametrize("text, secret", [
    ("http://me:s3cret@host?x", "s3cret"),
    ("http://me:pa/ss@localhost:8533?x", "pa/ss"),   # a / in the password
    ("http://me:p@ss@host:1/x?y", "p@ss"),           # an @ in it
])
def test_a_refused_url_hides_its_password(text, secret):
    with pytest.raises(MoEVAEError) as error:
        parse_server_url(text)
    assert secret not in str(error.value) and "me:***@" in str(error.value)


def test_board_keeps_the_path_and_the_scheme_port(mock_viewer):
    board = Board(host="http://127.0.0.1/visdom", port=8123,
                  client=mock_viewer, env="r 1")
    assert board.url == "http://127.0.0.1:8123/visdom"
    assert board.env_url == "http://127.0.0.1:8123/visdom/env/r%201"
    board = Board(host="https://board.example.org/visdom",
                  client=mock_viewer)
    assert board.port == 443
    assert (Board(host="http://[::1]:9000", client=mock_viewer).env_url ==
        "http://[::1]:9000/env/main")


@pytest.mark.parametrize("text, port, saved", [
    ("https://board.example.org/visdom", 443,
     "https://board.example.org:443/visdom"),
    ("http://127.0.0.1:9000/visdom/", 9000, "http://127.0.0.1:9000/visdom"),
    ("http://u:pw@[::1]", 8097, "http://u@[::1]:8097"),
])
def test_the_cli_board_option_parses_every_form(text, port, saved):
    address = board_address(text)
    assert address.port == port and not address.auto
    assert board_text(address) == saved
    assert board_address(saved).port == port


@pytest.mark.parametrize("text", ["ftp://x", "http://x?y", "http://x:0",
                                  "localhost:8097"])
def test_the_cli_refuses_other_forms(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        board_address(text)


def test_server_url_of_a_bare_host_and_a_prefix():
    assert server_url("localhost", 8097) == "http://localhost:8097"
    assert (server_url("http://127.0.0.1/visdom", 5) ==
        "http://127.0.0.1:5/visdom")


def test_a_server_slow_to_answer_is_not_started_twice(monkeypatch):
    """Something listens but answers after more than 1 s: it is a server
    (a second one would fail on the port), so none is started; a port where
    nothing listens, and a non-local host, still start none / one."""
    import socket

    from moevae.server import launch
    started = []
    monkeypatch.setattr("moevae.plotting.board.start_local_server",
                        lambda *args: started.append(args))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        assert launch.answers(f"http://127.0.0.1:{port}/visdom")
        board = Board(host="http://127.0.0.1", port=port, env="slow",
                      queue_size=1)
        board.close(0.1)
    assert started == []
    listener_gone = port
    assert not launch.answers("http://127.0.0.1", listener_gone)


def test_the_cli_keeps_the_login_for_the_board():
    address = board_address("http://me:p%40ss@127.0.0.1:81/visdom")
    assert address == ("http://me:p%40ss@127.0.0.1/visdom", 81, False)
    parsed = parse_server_url(address.host, address.port)
    assert (parsed.username, parsed.password) == ("me", "p@ss")
