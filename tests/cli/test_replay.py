"""``moevae replay``: a crashed run's log is drawn but for its broken
lines; --board takes a running server's URL only."""
import json
import re
from unittest import mock

import pytest

from moevae.cli import main
from moevae.cli import replay as replay_cli
from moevae.plotting.transport import Transport

URL = "http://127.0.0.1:8097"


def window_lines(count, env="run"):
    """``count`` line windows, each created then given one more point."""
    lines = []
    for number in range(count):
        win = f"w{number}"
        lines.append(["events", {"eid": env, "win": win, "data": [
            {"x": [1], "y": [number], "name": "train"}]}])
        lines.append(["update", {"eid": env, "win": win, "append": True,
                                 "data": [{"x": [2], "y": [number]}]}])
    return [json.dumps(line) for line in lines]


@pytest.fixture
def transport(monkeypatch):
    """The transport replay posts through (autospec: no server needed)."""
    instance = mock.create_autospec(Transport, instance=True)
    monkeypatch.setattr(replay_cli, "Transport",
                        mock.create_autospec(Transport,
                                             return_value=instance))
    return instance


def drawn_windows(transport):
    return sorted({call.args[1]["win"] for call in
                   transport.post.call_args_list
                   if call.args[0] in ("events", "update")})


def test_a_last_line_cut_in_half_is_skipped_with_one_warning(
        tmp_path, transport, capsys):
    lines = window_lines(9)
    cut = json.dumps(["update", {"eid": "run", "win": "w0", "append": True,
                                 "data": [{"x": [3], "y": [0.5]}]}])
    log = tmp_path / "board.jsonl"
    log.write_text("\n".join(lines) + "\n" + cut[:len(cut) // 2])
    assert replay_cli.main([str(log), "--board", URL]) == 0
    out, err = capsys.readouterr()
    assert f"9 windows drawn: {URL}/env/run" in out
    assert err.count("warning") == 1
    assert f"board.jsonl:{len(lines) + 1}" in err and "skipped" in err
    assert drawn_windows(transport) == [f"w{n}" for n in range(9)]
    # every point of the complete lines was posted, none of the cut one
    points = sorted((c.args[1]["win"], x, y)
                    for c in transport.post.call_args_list
                    if c.args[0] in ("events", "update")
                    for trace in c.args[1]["data"]
                    for x, y in zip(trace["x"], trace["y"]))
    assert points == sorted((f"w{n}", x, n) for n in range(9)
                            for x in (1, 2))


def test_broken_lines_anywhere_are_skipped_and_named(tmp_path, transport,
                                                     capsys):
    lines = window_lines(3)
    lines[1] = lines[1][:10]
    lines.insert(3, "\x00\x00\x00")  # a crash can leave zeros mid-file
    log = tmp_path / "board.jsonl"
    log.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe\n")
    assert replay_cli.main([str(log), "--board", URL]) == 0
    out, err = capsys.readouterr()
    assert "3 windows drawn" in out
    assert err.count("\n") == 1 and "3 unreadable lines (2, 4, 8)" in err


@pytest.mark.parametrize("content", [b"", b"\n\n", b"not json\n",
                                     b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_a_file_without_any_log_line_is_refused(tmp_path, transport, capsys,
                                                content):
    log = tmp_path / "board.jsonl"
    log.write_bytes(content)
    assert replay_cli.main([str(log), "--board", URL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "board.jsonl: no visdom log line" in err
    transport.post.assert_not_called()


@pytest.mark.slow
@pytest.mark.integration
def test_a_crashed_runs_log_is_drawn_on_a_real_server(tmp_path, mnist_dir,
                                                      visdom_server, capsys):
    from moevae.cli import train as train_cli
    from tests.support.helpers import free_port
    offline = f"http://127.0.0.1:{free_port()}"
    assert train_cli.main(["--epochs", "1", "--board", offline,
                           "--datasetdir", str(mnist_dir), "--run-dir",
                           str(tmp_path / "crashed"), "--name", "crashed"]
                          ) == 0
    log = tmp_path / "crashed" / "board.jsonl"
    whole = log.read_bytes()
    complete = replay_cli.read_log(log)[0]
    log.write_bytes(whole + whole.splitlines(keepends=True)[-1][:40])
    capsys.readouterr()
    assert replay_cli.main([str(log), "--board", visdom_server.url]) == 0
    out, err = capsys.readouterr()
    windows = visdom_server.windows("crashed")
    assert (f"{len(complete.windows)} windows drawn: {visdom_server.url}"
            "/env/crashed") in out
    assert len(windows) == len(complete.windows) >= 9
    assert "skipped 1 unreadable line" in err


def test_a_line_appended_to_a_cut_one_is_still_drawn(tmp_path, transport,
                                                     capsys):
    first, second = window_lines(1, env="a"), window_lines(1, env="b")
    log = tmp_path / "board.jsonl"
    # the run crashed mid-line; its resumed run appended after the cut
    log.write_text(first[0] + "\n" + first[1][:25] + second[0] + "\n" +
                   second[1] + "\n")
    assert replay_cli.main([str(log), "--board", URL]) == 0
    out, err = capsys.readouterr()
    assert f"2 windows drawn: {URL}/env/a {URL}/env/b" in out
    assert "board.jsonl:2: skipped" in err
    posted = [(c.args[0], c.args[1]["eid"]) for c in
              transport.post.call_args_list if c.args[0] != "close"]
    assert ("events", "b") in posted


def test_a_window_the_server_refuses_does_not_stop_the_others(
        tmp_path, transport, capsys):
    from moevae.plotting.transport import RequestRefused

    def post(endpoint, message):
        if message.get("win") in ("w1", "w4"):
            raise RequestRefused(f"HTTP 500 from {URL}/{endpoint}", 500)
        return ""
    transport.post.side_effect = post
    log = tmp_path / "board.jsonl"
    log.write_text("\n".join(window_lines(6)) + "\n")
    assert replay_cli.main([str(log), "--board", URL]) == 0
    out, err = capsys.readouterr()
    assert "4 windows drawn" in out
    assert "refused 2 window(s): w1, w4" in err
    assert drawn_windows(transport) == [f"w{n}" for n in range(6)]


@pytest.mark.parametrize("failure, how", [
    ("HTTP 403 from x", "refuses every window"),
    ("connection refused", "does not answer")])
def test_no_window_drawn_is_a_failure(tmp_path, transport, capsys, failure,
                                      how):
    from moevae.plotting.transport import RequestRefused, ServerDown

    def post(endpoint, message):
        if endpoint in ("events", "update"):
            raise RequestRefused(failure, 403) if failure.startswith(
                "HTTP") else ServerDown(failure)
        return ""
    transport.post.side_effect = post
    log = tmp_path / "board.jsonl"
    log.write_text("\n".join(window_lines(2)) + "\n")
    assert replay_cli.main([str(log), "--board", URL]) == 1
    err = capsys.readouterr().err
    assert f"{how} ({failure})" in err and err.count("\n") == 1
    assert f"the Visdom server at {URL} " in err
    if how == "does not answer":
        assert "start one with `moevae board --port 8097`, then replay" in err


def test_a_missing_server_is_named_with_the_command_that_starts_it(
        tmp_path, capsys):
    from tests.support.helpers import free_port
    log = tmp_path / "board.jsonl"
    log.write_text("\n".join(window_lines(2)) + "\n")
    for port in (free_port(), free_port()):
        url = f"http://127.0.0.1:{port}"
        assert replay_cli.main([str(log), "--board", url]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"moevae replay: failed: the Visdom server at "
                              f"{url} does not answer")
        assert f"`moevae board --port {port}`" in err


@pytest.mark.parametrize("value, message", [
    ("notaurl", "'notaurl': expected a server URL such as "
                "http://localhost:8097"),
    ("off", "'off': expected a server URL .* run `moevae board` first"),
    ("auto", "'auto': expected a server URL .* run `moevae board` first"),
    ("http://localhost:99999", "expected a server URL"),
])
def test_bad_board_values_are_one_consistent_line(tmp_path, capsys, value,
                                                  message):
    log = tmp_path / "board.jsonl"
    log.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(log), "--board", value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert re.search(message, err), err
    assert "auto, off or" not in err


@pytest.mark.parametrize("given", ["run", "run/checkpoints", "run/board.jsonl"])
def test_a_run_folder_replays_its_board_log(tmp_path, transport, capsys,
                                            given):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "board.jsonl").write_text(
        "\n".join(window_lines(2)) + "\n")
    assert replay_cli.main([str(tmp_path / given), "--board", URL]) == 0
    assert drawn_windows(transport) == ["w0", "w1"]
    assert "2 windows drawn" in capsys.readouterr().out


@pytest.mark.parametrize("given, message", [
    ("empty", "a folder without board.jsonl; expected a run's board.jsonl "
              "or its run folder"),
    ("nowhere", "no such file or folder"),
])
def test_a_folder_without_a_log_is_refused_in_one_line(tmp_path, transport,
                                                       capsys, given,
                                                       message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as stop:
        replay_cli.main([str(tmp_path / given), "--board", URL])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    transport.post.assert_not_called()
