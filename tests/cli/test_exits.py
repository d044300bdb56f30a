"""Every command ends a full disk (RLIMIT_FSIZE) or an unwritable output
with one line and exit 1, and Ctrl-C with one line and exit 130."""
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from moevae.cli import main as moevae_main
from tests.support.helpers import free_port

pytestmark = pytest.mark.integration


def limited(bytes_allowed):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (bytes_allowed, bytes_allowed))
    return apply


def moevae(*args, preexec=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "moevae", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec)


def one_line_failure(result, code):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines()
             if "warning" not in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_disk_full_for_each_command(tmp_path, tiny_checkpoints, mnist_dir):
    checkpoint = tiny_checkpoints["fused"]
    images = tmp_path / "in.npy"
    np.save(images, np.zeros((3, 28, 28), dtype=np.uint8))
    runs = {
        "evaluate": ("evaluate", checkpoint, "--datasetdir", mnist_dir,
                     "--json", tmp_path / "e" / "r.json"),
        "sample": ("sample", checkpoint, "--out", tmp_path / "s" / "s.png",
                   "--device", "cpu"),
        "predict": ("predict", checkpoint, images, "--out",
                    tmp_path / "p" / "p.csv", "--device", "cpu"),
    }
    # (evaluate caches MNIST first: let it, then fill the disk)
    assert moevae(*runs["evaluate"][:4], "--json",
                  tmp_path / "warm.json").returncode == 0
    for name, args in runs.items():
        result = moevae(*args, preexec=limited(100))
        line = one_line_failure(result, 1)
        assert line.startswith(f"moevae {name}: failed: ")
        assert "File too large" in line
        leftovers = [p for p in (tmp_path / name[0]).rglob("*")
                     if p.is_file()] if (tmp_path / name[0]).exists() else []
        assert leftovers == [], leftovers  # nothing half-written


def test_assets_on_a_full_disk_is_one_line_and_writes_nothing(tmp_path):
    result = moevae("assets", "--static", tmp_path / "static",
                    preexec=limited(100))
    assert one_line_failure(result, 1) == ("moevae assets: failed: File too "
                                           "large")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("env_path", ["file/env", "file"])
def test_board_with_an_unusable_env_folder_is_one_line(tmp_path, env_path):
    (tmp_path / "file").write_text("not a folder")
    result = moevae("board", "--port", free_port(), "--env-path",
                    tmp_path / env_path, timeout=60)
    line = one_line_failure(result, 1)
    assert line.startswith("moevae board: failed: ")
    assert (tmp_path / "file").read_text() == "not a folder"


def test_unwritable_output_is_one_line(tmp_path, tiny_checkpoints):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: permissions do not hold")
        result = moevae("sample", tiny_checkpoints["fused"], "--out",
                        folder / "s.png", "--device", "cpu")
        assert one_line_failure(result, 1).startswith("moevae sample: ")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("command", ["evaluate", "sample", "predict"])
def test_ctrl_c_in_process_is_one_line_and_130(monkeypatch, capsys,
                                               tiny_checkpoints, command,
                                               tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    # the commands import the loader once their arguments are checked
    monkeypatch.setattr("moevae.training.loading.load_trained_model",
                        interrupted)
    images = tmp_path / "in.npy"
    np.save(images, np.zeros((1, 28, 28), dtype=np.uint8))
    extra = [str(images)] if command == "predict" else []
    code = moevae_main([command, str(tiny_checkpoints["fused"]), *extra])
    error = capsys.readouterr().err
    assert code == 130 and error == f"moevae {command}: interrupted\n"


def test_sigint_during_replay_is_one_line_and_130(tmp_path):
    """A real Ctrl-C while replay waits on a server that never answers."""
    log = tmp_path / "board.jsonl"
    log.write_text('["events", {"eid": "r", "win": "w", "data": []}]\n')
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        # Ctrl-C reaches the child as in a terminal, also when these tests
        # run in the background (which starts children ignoring SIGINT)
        process = subprocess.Popen(
            [sys.executable, "-m", "moevae", "replay", str(log), "--board",
             f"http://127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # replay has connected
            listener.settimeout(1)
            try:
                connection, _ = listener.accept()
                break
            except TimeoutError:
                continue
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        connection.close()
    assert process.returncode == 130, stderr
    assert stderr == "moevae replay: interrupted\n"
