"""moevae board / the image's entry command, run directly on the host."""
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import requests

from moevae.plotting.transport import Transport, TransportError
from tests.support.helpers import ROOT, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.integration


def run_board(*args, env=None, timeout=30):
    """`moevae board ARGS` on a free port (8097 may hold a running board)."""
    if "--port" not in args:
        args = (*args, "--port", str(free_port()))
    return subprocess.run([sys.executable, "-m", "moevae.server", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def dockerfile_command():
    """The image's CMD and ENV, as the Dockerfile declares them."""
    lines = (ROOT / "docker" / "Dockerfile").read_text().splitlines()
    command = json.loads(next(line for line in lines
                              if line.startswith("CMD "))[4:])
    text = (ROOT / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    env_line = next(line for line in text.splitlines()
                    if line.startswith("ENV "))
    env = dict(item.split("=", 1) for item in env_line[4:].split())
    return command, env


def test_image_entry_command_serves_offline(tmp_path):
    command, env = dockerfile_command()
    assert command == ["python", "-m", "moevae.server"]
    assert env["MOEVAE_BOARD_HOST"] == "0.0.0.0"
    port = free_port()
    env.update(MOEVAE_BOARD_HOST="127.0.0.1", MOEVAE_BOARD_PORT=str(port),
               MOEVAE_BOARD_ENV_PATH=str(tmp_path / "data"))
    env.pop("PIP_CONSTRAINT", None)
    env.pop("PATH", None)  # the image's virtual environment
    process = subprocess.Popen([sys.executable] + command[1:],
                               env=dict(os.environ, **env),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        server = Server(tmp_path / "data")
        server.port = port
        assert _wait(port), process.stdout.read1().decode()
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "visdom" in page.text.lower()
        script = requests.get(f"http://127.0.0.1:{port}/static/js/"
                              "plotly-plotly.min.js", timeout=5)
        assert script.status_code == 200 and len(script.content) > 10 ** 6
        server.client("saved").text("kept", win="note")
        server.client("saved").save(["saved"])
        assert (tmp_path / "data" / "saved.json").is_file()
    finally:
        stop_server(process)


def _wait(port, seconds=60):
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def test_binds_127_0_0_1_only(visdom_server):
    assert requests.get(visdom_server.url, timeout=5).status_code == 200
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.2", visdom_server.port)) != 0


def test_port_in_use_is_a_one_line_error(visdom_server):
    result = run_board("--port", str(visdom_server.port))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"--port {visdom_server.port}: already in use" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "70000 is out of range"),
    (["--host", "example.org"], "expected an IP address"),
    (["--enable-login"], "VISDOM_USERNAME and VISDOM_PASSWORD"),
    (["--colour"], "unknown option --colour"),
    (["--prot", "8000"], "unknown option --prot; did you mean --port?"),
])
def test_bad_options(args, message, tmp_path):
    result = run_board(*args, "--env-path", str(tmp_path),
                       env={"VISDOM_USERNAME": "", "VISDOM_PASSWORD": ""})
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_login(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # visdom's cookie file
    port = free_port()
    process = start_server(port, tmp_path / "env", extra_env={
        "VISDOM_USERNAME": "ada", "VISDOM_PASSWORD": "secret",
        "VISDOM_COOKIE": "c00k1e", "HOME": str(tmp_path)},
        args=["--enable-login"])
    try:
        message = {"eid": "main", "win": "w", "data": [], "layout": {}}
        with pytest.raises(TransportError, match="HTTP 400"):
            Transport("http://127.0.0.1", port).post("events", message)
        with pytest.raises(TransportError):
            Transport("http://127.0.0.1", port, "ada", "wrong").post(
                "events", message)
        answer = Transport("http://127.0.0.1", port, "ada", "secret").post(
            "events", {"eid": "main", "win": "w", "title": "", "i": 0,
                       "data": [{"content": "hi", "type": "text"}]})
        assert answer == "w"
    finally:
        stop_server(process)


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed")
def test_compose_file_is_valid_and_local_only():
    result = subprocess.run(["docker-compose", "config"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "127.0.0.1:8097:8097" in result.stdout
    assert "healthcheck" in result.stdout and "board-data" in result.stdout
    assert "restart: unless-stopped" in result.stdout


def test_login_can_be_asked_from_the_environment(tmp_path):
    result = run_board("--env-path", str(tmp_path), env={
        "MOEVAE_BOARD_LOGIN": "1", "VISDOM_USERNAME": "",
        "VISDOM_PASSWORD": ""})
    assert result.returncode == 2 and "--enable-login" in result.stderr


def test_foreground_board_logs_no_line_per_request(tmp_path):
    port = free_port()
    process = start_server(port, tmp_path / "env")
    try:
        for path in ("/", "/", "/env/main", "/user/style.css"):
            requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)
    finally:
        output = stop_server(process)
    assert "moevae board: serving" in output
    assert "GET /" not in output  # (not "200": a random port may hold it)
    assert "Could not open static file" not in output
    # serving, and on SIGTERM the save summary; nothing per request
    lines = [line for line in output.strip().splitlines()
             if not line.startswith("moevae board: ")]
    assert lines == [], output


def test_image_keeps_no_sources_and_runs_unprivileged():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM "):]  # the stage that is the image
    assert "COPY moevae" not in final and "/src" not in final
    assert "npm" not in final.replace("npm,", "")
    user = [line.split()[1] for line in final.splitlines()
            if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*")] == "*"  # only what is listed after
    allowed = {line[1:].rstrip("/") for line in ignored
               if line.startswith("!")}
    copied = {word.rstrip("/") for line in text.splitlines()
              if line.startswith("COPY ") and "--from" not in line
              for word in line.split()[1:-1]}
    assert copied <= allowed and not {".git", ".venv", "runs"} & allowed
