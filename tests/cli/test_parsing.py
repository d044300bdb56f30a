"""One-line argparse errors and the argument types the commands share."""
import argparse

import pytest

from moevae.cli.parsing import (
    DEFAULT_BOARD,
    BoardAddress,
    OneLineParser,
    board_address,
    env_name,
    integer_in_range,
    port_number,
    running_server,
)


def test_an_error_is_one_line_with_exit_status_2(capsys):
    parser = OneLineParser(prog="moevae x")
    parser.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--n", "two"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == ("moevae x: error: argument --n: invalid int value: 'two' "
                   "(see --help)\n")


def test_help_drops_the_docstrings_double_backticks():
    parser = OneLineParser(prog="p", description="run ``moevae board``")
    assert "run moevae board" in parser.format_help()
    assert "``" not in parser.format_help()


@pytest.mark.parametrize("text, port", [("1", 1), ("8097", 8097),
                                        ("65535", 65535), (" 80 ", 80)])
def test_port_numbers(text, port):
    assert port_number(text) == port


@pytest.mark.parametrize("text, message", [
    ("0", "0 is out of range (expected 1-65535)"),
    ("65536", "65536 is out of range"), ("-1", "-1 is out of range"),
    ("http", "'http' is not a port number (expected 1-65535)"),
    ("80.0", "'80.0' is not a port number")])
def test_bad_port_numbers(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace(
            "(", r"\(").replace(")", r"\)")):
        port_number(text)


@pytest.mark.parametrize("text, address", [
    ("auto", DEFAULT_BOARD), ("off", None),
    ("http://localhost:8097", BoardAddress("http://localhost", 8097)),
    ("https://boards.example.org", BoardAddress("https://boards.example.org",
                                                443)),
    ("http://10.0.0.2:9000/path", BoardAddress("http://10.0.0.2/path",
                                               9000))])
def test_board_addresses(text, address):
    assert board_address(text) == address


@pytest.mark.parametrize("text", ["localhost:8097", "ftp://host", "http://",
                                  "http://host:99999", "http://host:x", ""])
def test_bad_board_addresses(text):
    with pytest.raises(argparse.ArgumentTypeError, match=rf"^{text!r}: "
                       "expected auto, off or a URL such as "):
        board_address(text)


def test_a_server_url_must_name_a_running_server():
    assert running_server("http://h:1") == BoardAddress("http://h", 1, False)
    for text in ("auto", "off"):
        with pytest.raises(argparse.ArgumentTypeError,
                           match="this command starts no server"):
            running_server(text)
    with pytest.raises(argparse.ArgumentTypeError,
                       match=r"^'h:1': expected a server URL such as"):
        running_server("h:1")


def test_env_names_are_checked_as_visdom_needs():
    assert env_name("my run") == "my run"
    for text in ("a/b", "", "x.json"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"^name="):
            env_name(text)


@pytest.mark.parametrize("maximum, good, bad, expected", [
    (None, ["2", "100"], ["1", "x", "2.5"], "an integer >= 2"),
    (9, ["2", "9"], ["10", "1", ""], "an integer from 2 to 9")])
def test_integers_in_a_range(maximum, good, bad, expected):
    parse = integer_in_range(2, maximum)
    assert [parse(text) for text in good] == [int(text) for text in good]
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError,
                           match=rf"^{text!r}: expected {expected}$"):
            parse(text)


def test_help_never_breaks_a_hyphenated_name_across_lines():
    import re

    from moevae.cli.options import build_parser
    from moevae.clustering.recipes import RECIPES
    text = build_parser().format_help()
    assert not re.search(r"\w-\n", text), "a name broken at its hyphen"
    words = set(re.findall(r"[\w-]+", text))
    assert set(RECIPES) <= words  # each recipe name whole, as typed
