"""Starting and stopping a board server process: addresses, pid files,
SIGTERM to our own board only."""
import http.server
import logging
import os
import subprocess
import sys
import threading
from unittest import mock

import pytest

from moevae.server import launch
from moevae.server.launch import (
    DEFAULT_ENV_PATH,
    StopError,
    answers,
    pid_file,
    remove_pid_file,
    server_url,
    start_local_server,
    stop_board,
    stop_command,
    write_pid_file,
)
from tests.support.helpers import free_port

# a process whose command line names moevae, as `moevae board`'s does
BOARD_LIKE = "import signal, time; {}time.sleep(30)  # moevae"


@pytest.mark.parametrize("host, port, url", [
    ("http://localhost", 8097, "http://localhost:8097"),
    ("localhost", 9000, "http://localhost:9000"),
    ("https://example.org:1234", 80, "https://example.org:80"),
    ("http://[::1]", 8097, "http://[::1]:8097"),
    ("http://127.0.0.1/visdom", 81, "http://127.0.0.1:81/visdom"),
    ("http://", 8097, "http://localhost:8097"),
])
def test_server_url_joins_the_host_and_the_given_port(host, port, url):
    assert server_url(host, port) == url


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_answers_tells_a_listening_port_from_a_free_one(http_server):
    assert answers("http://127.0.0.1", http_server) is True
    assert answers("http://127.0.0.1", free_port(), timeout=0.5) is False


def test_a_remote_host_gets_no_server_and_a_warning(tmp_path, caplog):
    popen = mock.create_autospec(subprocess.Popen)
    with (mock.patch.object(launch.subprocess, "Popen", popen),
            caplog.at_level(logging.WARNING, logger="moevae")):
        assert start_local_server("http://example.org", 8097,
                                  tmp_path / "envs") is None
    popen.assert_not_called()
    assert not (tmp_path / "envs").exists()
    assert "http://example.org:8097" in caplog.text
    assert "not local; no server started" in caplog.text


def test_a_server_that_exits_at_once_is_reported_with_its_log(tmp_path,
                                                               caplog):
    process = mock.create_autospec(subprocess.Popen, instance=True)
    process.poll.return_value = 1  # exited
    envs = tmp_path / "envs"

    def popen(command, stdout, **options):
        stdout.write(b"starting\nOSError: [Errno 98] Address in use\n")
        return process
    with (mock.patch.object(launch.subprocess, "Popen", side_effect=popen),
            caplog.at_level(logging.WARNING, logger="moevae")):
        assert start_local_server("http://localhost", 8097, envs) is None
    assert ("could not start a Visdom server on port 8097 (OSError: "
        "[Errno 98] Address in use)" in caplog.text)
    process.terminate.assert_not_called()


def test_a_server_that_never_answers_is_stopped_and_reaped(tmp_path,
                                                           monkeypatch):
    """A real child that never listens: after the timeout it is
    terminated and waited for (no zombie, no ResourceWarning)."""
    monkeypatch.setattr(launch, "SERVER_START_TIMEOUT_S", 0.5)
    monkeypatch.setattr(launch, "answers", lambda *args, **kwargs: False)
    started = []
    real_popen = subprocess.Popen

    def sleeper(command, **options):
        started.append(real_popen([sys.executable, "-c",
                                   "import time; time.sleep(60)"], **options))
        return started[0]
    monkeypatch.setattr(launch.subprocess, "Popen", sleeper)
    assert start_local_server("http://localhost", free_port(),
                              tmp_path) is None
    assert started[0].returncode == -15  # SIGTERM, and reaped


def test_the_stop_hint_names_the_folder_only_when_it_must(tmp_path,
                                                          monkeypatch):
    monkeypatch.delenv("MOEVAE_BOARD_ENV_PATH", raising=False)
    assert (stop_command(DEFAULT_ENV_PATH, 8097) ==
        "moevae board --stop --port 8097")
    folder = tmp_path / "my boards"
    assert (stop_command(folder, 9000) ==
        f"moevae board --stop --port 9000 --env-path '{folder}'")
    monkeypatch.setenv("MOEVAE_BOARD_ENV_PATH", str(folder))
    assert stop_command(folder, 9000) == "moevae board --stop --port 9000"
    assert stop_command(tmp_path, 9000).endswith(f"--env-path {tmp_path}")


@pytest.mark.parametrize("content", [None, "", "not a pid\n"])
def test_stop_without_a_readable_pid_file_is_one_line(tmp_path, content):
    from tests.support.helpers import free_port
    port = free_port()
    if content is not None:
        pid_file(tmp_path, port).write_text(content)
    with pytest.raises(StopError) as error:  # nothing there
        stop_board(tmp_path, port)
    assert str(error.value) == f"no board is running on port {port}"
    with (mock.patch.object(launch, "answers", return_value=True),
          pytest.raises(StopError, match=rf"^a server answers on port "
                        rf"{port}, but no readable pid file .*board-{port}"
                        r"\.pid says it is ours") as error):
        stop_board(tmp_path, port)
    assert "\n" not in str(error.value)


def test_a_stale_pid_file_is_removed_and_nothing_is_signalled(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    path = write_pid_file(tmp_path, 8097)
    path.write_text(f"{gone.pid}\n")
    with (mock.patch.object(launch.os, "kill", wraps=os.kill) as kill,
            pytest.raises(StopError, match=f"its process {gone.pid} is gone")):
        stop_board(tmp_path, 8097)
    assert not path.exists()
    assert all(call.args[1] == 0 for call in kill.call_args_list)


def test_a_reused_pid_of_another_program_is_not_signalled(tmp_path):
    other = subprocess.Popen(["sleep", "30"])
    try:
        pid_file(tmp_path, 8097).write_text(f"{other.pid}\n")
        with pytest.raises(StopError, match="is not a moevae board"):
            stop_board(tmp_path, 8097)
        assert other.poll() is None  # still running
        assert not pid_file(tmp_path, 8097).exists()
    finally:
        other.kill()
        other.wait()


def test_stop_sends_sigterm_to_the_board_and_waits_for_it(tmp_path):
    board = subprocess.Popen([sys.executable, "-c", BOARD_LIKE.format("")])
    try:
        pid_file(tmp_path, 8097).write_text(f"{board.pid}\n")
        assert stop_board(tmp_path, 8097, timeout=10) == board.pid
        assert board.wait(timeout=5) == -15  # SIGTERM
    finally:
        board.kill()
        board.wait()


def test_a_board_ignoring_sigterm_is_reported_after_the_timeout(tmp_path):
    board = subprocess.Popen([sys.executable, "-c", BOARD_LIKE.format(
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True)"
        "; ")], stdout=subprocess.PIPE)
    try:
        board.stdout.readline()  # the handler is in place
        pid_file(tmp_path, 8097).write_text(f"{board.pid}\n")
        with pytest.raises(StopError, match=rf"the board on port 8097 \(pid "
                           rf"{board.pid}\) did not stop in 0.3 s"):
            stop_board(tmp_path, 8097, timeout=0.3)
        assert board.poll() is None
    finally:
        board.kill()
        board.wait()
        board.stdout.close()


def test_only_our_own_pid_file_is_removed(tmp_path):
    path = write_pid_file(tmp_path / "new", 8097)
    assert path == tmp_path / "new" / "board-8097.pid"
    assert path.read_text() == f"{os.getpid()}\n"
    remove_pid_file(path)
    assert not path.exists()
    path = write_pid_file(tmp_path, 8097)
    path.write_text("1\n")  # a later server wrote over it
    remove_pid_file(path)
    assert path.read_text() == "1\n"
    remove_pid_file(tmp_path / "missing.pid")  # nothing to do, no error
