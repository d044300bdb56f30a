"""Start and stop a board server process (``python -m moevae.server``).

A running ``moevae board`` writes ``board-<port>.pid`` in its environment
folder; ``moevae board --stop`` (:func:`stop_board`) reads it and ends that
process with SIGTERM, which saves every environment first.
"""
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Optional

import requests

from .address import join_server_url

logger = logging.getLogger("moevae")
DEFAULT_ENV_PATH = Path.home() / ".moevae" / "visdom"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SERVER_START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class BoardServerStarted(UserWarning):
    """A Board started a Visdom server that keeps running after training."""


class StopError(RuntimeError):
    """No board of ours to stop (one line, for ``moevae board --stop``)."""


def server_url(host: str, port: Optional[int] = None) -> str:
    """'http://localhost', 8097 -> 'http://localhost:8097' (a path prefix
    kept, a login dropped; see :mod:`moevae.server.address`)."""
    return join_server_url(host, port).url


def answers(host: str, port: Optional[int] = None,
            timeout: float = 1.0) -> bool:
    """True if something answers HTTP at the address."""
    try:
        requests.get(server_url(host, port) + "/", timeout=timeout)
    except requests.ReadTimeout:
        return True  # connected: a server is there, slow to answer
    except requests.RequestException:
        return False
    return True


def pid_file(env_path: Path, port: int) -> Path:
    return Path(env_path).expanduser() / f"board-{port}.pid"


def start_local_server(host: str, port: Optional[int] = None,
                       env_path: Optional[Path] = None
                       ) -> Optional[subprocess.Popen]:
    """Start ``python -m moevae.server`` in the background, detached (it
    keeps running after training); None (and a warning) if it cannot."""
    env_path = Path(env_path or DEFAULT_ENV_PATH).expanduser()
    address = join_server_url(host, port)
    port = address.port
    if address.hostname not in LOCAL_HOSTS or address.scheme != "http":
        logger.warning("board: nothing answers at %s and it is not %s; no "
                       "server started", address.url, "local"
                       if address.hostname not in LOCAL_HOSTS else "http")
        return None
    env_path.mkdir(parents=True, exist_ok=True)
    log_file = env_path / f"server-{port}.log"
    listen = "::1" if address.hostname == "::1" else "127.0.0.1"
    command = [sys.executable, "-m", "moevae.server", "--port", str(port),
               "--host", listen, "--env-path", str(env_path)]
    if address.path:
        command += ["--base-url", address.path]
    with open(log_file, "ab") as output:
        process = subprocess.Popen(command, stdout=output,
                                   stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if answers(host, port, timeout=0.5):
            # a process outlives the script: said where a script sees it
            # (a warning), not in a log line it may not show
            warnings.warn(f"board: started a Visdom server at {address.url} "
                          f"(pid {process.pid}, log {log_file}); it keeps "
                          "running after training: "
                          f"`{stop_command(env_path, port)}` stops it",
                          BoardServerStarted, stacklevel=3)
            return process
        time.sleep(0.2)
    tail = log_file.read_text(errors="replace").strip().splitlines()[-1:]
    logger.warning("board: could not start a Visdom server on port %d (%s); "
                   "training goes on without it", port,
                   tail[0] if tail else "no answer")
    if process.poll() is None:
        process.terminate()
    try:  # reaped: no zombie left behind for the rest of training
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return None


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _is_board(pid: int) -> bool:
    """True unless /proc shows the pid is not a moevae server (reused)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"moevae" in cmdline.read_bytes()
    except OSError:
        return cmdline.parent.parent.is_dir() is False


def stop_command(env_path: Path, port: int) -> str:
    """The ``moevae board --stop`` line that finds this board's pid file.

    ``--env-path`` is named when the folder is not the one ``moevae
    board`` uses by default (``MOEVAE_BOARD_ENV_PATH`` or ~/.moevae/visdom).
    """
    default = Path(os.environ.get("MOEVAE_BOARD_ENV_PATH",
                                  DEFAULT_ENV_PATH)).expanduser()
    command = f"moevae board --stop --port {port}"
    if Path(env_path).expanduser().resolve() != default.resolve():
        command += f" --env-path {shlex.quote(str(env_path))}"
    return command


def stop_board(env_path: Path, port: int,
               timeout: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM the ``moevae board`` serving ``port``; wait until it exits
    (it saves its environments first). Returns its pid.

    Raises StopError when there is no pid file or its process is gone.
    """
    path = pid_file(env_path, port)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        if not answers("http://127.0.0.1", port, timeout=0.5):
            raise StopError(f"no board is running on port {port}"
                            ) from None
        raise StopError(f"a server answers on port {port}, but no readable "
                        f"pid file {path} says it is ours (was it started "
                        "by `moevae board --env-path` elsewhere, or by "
                        "Docker?)") from None
    if not _alive(pid) or not _is_board(pid):
        path.unlink(missing_ok=True)
        raise StopError(f"no board to stop on port {port}: its process "
                        f"{pid} is gone or is not a moevae board (stale "
                        f"{path} removed)")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return pid
        time.sleep(0.1)
    raise StopError(f"the board on port {port} (pid {pid}) did not stop in "
                    f"{timeout:g} s after SIGTERM")


def write_pid_file(env_path: Path, port: int) -> Path:
    path = pid_file(env_path, port)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")
    return path


def remove_pid_file(path: Path) -> None:
    """Remove our pid file (not one a later server wrote over it)."""
    try:
        if int(path.read_text().strip()) == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
