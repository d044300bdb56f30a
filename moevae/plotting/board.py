"""Board: pynet's Visdom board, non-blocking, with an offline log.

``Board(port=8097, host="http://localhost", env="main")`` as in pynet:
when nothing answers at that address it starts a local, offline Visdom
server (``python -m moevae.server``) and says where it is. Its ``viewer``
has visdom's plotting methods; they queue and return at once (see
:mod:`moevae.plotting.client`).
"""
import atexit
import logging
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Optional
from urllib.parse import urlparse

import numpy as np

from ..errors import bad_value
from ..log import ensure_console_logging
from .client import AsyncVisdom
from .transport import answers, base_url

logger = logging.getLogger("moevae")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SERVER_START_TIMEOUT_S = 30.0
DEFAULT_ENV_PATH = Path.home() / ".moevae" / "visdom"
LOG_SCALE_WINDOWS = ("lr",)
PANE_SIZE = {"width": 400, "height": 300}  # fixed sizes keep the grid tidy


class Board:
    """A live board of plots in one Visdom environment.

    Parameters
    ----------
    port, host, env: where the Visdom server is, and the environment.
    display_pred, prepare_pred: show validation predictions as images
        (pynet's options).
    start_server: start a local server when none answers (local hosts).
    log_path: the offline event log (JSON lines, ``moevae replay`` reads
        it); default ``runs/<env>-<time>/board.jsonl``; False: no log.
    username, password: for a server started with login enabled.
    client: a ready visdom client used synchronously instead (tests).
    """

    def __init__(self, port: int = 8097, host: str = "http://localhost",
                 env: str = "main", display_pred: bool = False,
                 prepare_pred: Optional[Callable] = None, *,
                 start_server: bool = True, log_path: Any = None,
                 username: Optional[str] = None,
                 password: Optional[str] = None, queue_size: int = 64,
                 client: Any = None):
        ensure_console_logging()
        self.port, self.host, self.env = check_address(port, host, env)
        self.display_pred, self.prepare_pred = display_pred, prepare_pred
        self._windows: set = set()
        self.url = base_url(host, port)
        self.server: Optional[subprocess.Popen] = None
        self.log_path: Optional[Path] = None
        if client is not None:
            self.viewer = client
            return
        if start_server and not answers(host, port):
            self.server = start_local_server(host, port)
        self.log_path = default_log_path(env) if log_path is None else (
            Path(log_path) if log_path else None)
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.viewer = AsyncVisdom(host, port, env, self.log_path, queue_size,
                                  username, password)
        atexit.register(self.flush, 5.0)
        logger.info("board: http://%s:%s/env/%s%s", urlparse(self.url).hostname,
                    self.port, self.env,
                    f" (offline log {self.log_path})" if self.log_path else "")

    def update_plots(self, data: Dict[str, Any], epoch: int,
                     fold: int = 0) -> None:
        """One appended point per value: train and validation share a plot."""
        suffix = f" (fold {fold})" if fold else ""
        for key, value in data.items():
            if key == "val_pred":
                self._show_predictions(value)
                continue
            if key == "batch_loss":
                self.append_point(key, "train" + suffix, epoch, value)
                continue
            if not _is_number(value):
                continue
            window = key[4:] if key.startswith("val_") else key
            trace = ("validation" if key.startswith("val_") else "train")
            self.append_point(window, trace + suffix, epoch, value)

    def append_point(self, window: str, trace: str, epoch: int, value: Any,
                     title: Optional[str] = None) -> None:
        """Points at x = epoch + 1 (or spread over the epoch, per batch)."""
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))
        steps = epoch + np.arange(1, len(values) + 1) / len(values)
        opts = {"title": title or window, "xlabel": "epoch",
                "ylabel": window, "showlegend": True, **PANE_SIZE}
        if window in LOG_SCALE_WINDOWS:
            opts["ytype"] = "log"
        # the first point creates the window with its layout, later ones
        # (and other traces) are appended
        update = "append" if window in self._windows else None
        self._windows.add(window)
        self.viewer.line(Y=values, X=steps, win=window, update=update,
                         name=trace, opts=opts)

    def _show_predictions(self, value: Any) -> None:
        if not self.display_pred:
            return
        images = self.prepare_pred(value) if self.prepare_pred else \
            np.asarray(value)
        if np.ndim(images) != 4:
            raise bad_value("val_pred", np.shape(images), "an N x 1 x X x Y "
                            "or N x 3 x X x Y array (give prepare_pred)")
        self.viewer.images(images, win="val_pred",
                           opts={"title": "val_pred", "caption": "y_pred"})

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (at most ``timeout`` s) until queued events are sent."""
        if isinstance(self.viewer, AsyncVisdom):
            return self.viewer.flush(timeout)
        return True

    def close(self, timeout: float = 10.0) -> bool:
        """Flush and stop the sender (a server it started keeps running)."""
        if isinstance(self.viewer, AsyncVisdom):
            return self.viewer.close_client(timeout)
        return True

    def stop_server(self) -> None:
        """Stop the server this board started, if any."""
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=10)


def check_address(port: Any, host: Any, env: Any):
    if isinstance(port, bool) or not isinstance(port, int) or \
            not 0 < port < 65536:
        raise bad_value("port", port, "an integer in [1, 65535]")
    parsed = urlparse(host if isinstance(host, str) else "")
    if not isinstance(host, str) or parsed.scheme not in ("http", "https") \
            or not parsed.hostname:
        raise bad_value("host", host, "a URL such as 'http://localhost'")
    if not isinstance(env, str) or not env or "/" in env:
        raise bad_value("env", env, "a non-empty name without '/'")
    return port, host, env


def default_log_path(env: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{env}-{stamp}" / "board.jsonl"


def start_local_server(host: str, port: int,
                       env_path: Path = DEFAULT_ENV_PATH
                       ) -> Optional[subprocess.Popen]:
    """Start ``python -m moevae.server`` in the background; None if not."""
    hostname = urlparse(host).hostname
    if hostname not in LOCAL_HOSTS:
        logger.warning("board: nothing answers at %s and it is not local; "
                       "no server started", base_url(host, port))
        return None
    env_path.mkdir(parents=True, exist_ok=True)
    log_file = env_path / f"server-{port}.log"
    command = [sys.executable, "-m", "moevae.server", "--port", str(port),
               "--host", "127.0.0.1", "--env-path", str(env_path)]
    with open(log_file, "ab") as output:
        process = subprocess.Popen(command, stdout=output,
                                   stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if answers(host, port, timeout=0.5):
            logger.info("board: started a Visdom server at "
                        "http://127.0.0.1:%d (pid %d, log %s); it keeps "
                        "running after training", port, process.pid, log_file)
            return process
        time.sleep(0.2)
    tail = log_file.read_text(errors="replace").strip().splitlines()[-1:]
    logger.warning("board: could not start a Visdom server on port %d (%s); "
                   "training goes on without it", port,
                   tail[0] if tail else "no answer")
    if process.poll() is None:
        process.terminate()
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if hasattr(value, "ndim") and getattr(value, "ndim") == 0:
        return True
    return isinstance(value, (int, float, np.number))
