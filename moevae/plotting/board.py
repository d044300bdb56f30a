"""Board: pynet's Visdom board, non-blocking, with an optional offline log.

``Board(port=8097, host="http://localhost", env="main")`` as in pynet:
when nothing answers at that address it starts a local, offline Visdom
server (``python -m moevae.server``, see :mod:`moevae.server.launch`) and
says where it is. Its ``viewer`` has visdom's plotting methods; they queue
and return at once (see :mod:`moevae.plotting.client`). A ``run_status``
pane says whether the run is running or finished, its last epoch and loss;
the board server lists every run from these panes on its first page.
"""
import atexit
import html
import logging
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np

from ..errors import bad_value, check_positive_int
from ..server.address import ServerAddress, parse_server_url
from ..server.launch import DEFAULT_ENV_PATH, answers, start_local_server
from ..server.names import check_env_name
from ..training.distributed import Distributed
from .client import AsyncVisdom
from .journal import DEFAULT_MAX_POINTS, Journal, read_log, skipped_warning

logger = logging.getLogger("moevae")
LOG_SCALE_WINDOWS = ("lr",)
PANE_SIZE = {"width": 400, "height": 300}  # fixed sizes keep the grid tidy
# plotly's own title repeats the pane's and lies under its toolbar: none;
# the top margin holds the toolbar above the plot area
PLOT_LAYOUT = {"title": "", "margin": {"l": 60, "r": 20, "t": 34, "b": 50}}


def plot_opts(**layout: Any) -> Dict[str, Any]:
    """visdom ``layoutopts`` for a plotly pane: no plot title, room for the
    toolbar, and ``layout`` (e.g. axes) on top."""
    return {"layoutopts": {"plotly": {**PLOT_LAYOUT, **layout}}}


def epoch_axis(epochs: int) -> Dict[str, Any]:
    """An epoch x axis with integer ticks, at most about 8 of them."""
    step = 1
    while epochs / step > 8:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return {"title": "epoch", "tick0": 0, "dtick": step}
STATUS_WINDOW = "run_status"


class SilentViewer:
    """Takes every visdom call and draws nothing (ranks > 0 of torchrun)."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class Board:
    """A live board of plots in one Visdom environment.

    Parameters
    ----------
    port, host, env: where the Visdom server is, and the environment.
    display_pred, prepare_pred: show validation predictions as images
        (pynet's options).
    start_server: start a local server when none answers (local hosts).
    log_path: the offline event log (JSON lines, ``moevae replay`` reads
        it), its folder created when first written; default None: no log
        (``moevae train`` writes ``runs/<name>/board.jsonl``).
    username, password: for a server started with login enabled.
    queue_size: image/text updates that may wait for a slow server
        (older ones are dropped; loss points never are).
    max_points: the most points a line window holds on the server (older
        points are thinned beyond it, so an epoch costs the same however
        long the run).
    client: a ready visdom client used synchronously instead (tests).

    Raises MoEVAEValueError for a bad port, host or environment name.
    """

    def __init__(self, port: Optional[int] = None,
                 host: str = "http://localhost",
                 env: str = "main", display_pred: bool = False,
                 prepare_pred: Optional[Callable] = None, *,
                 start_server: bool = True, log_path: Any = None,
                 username: Optional[str] = None,
                 password: Optional[str] = None, queue_size: int = 64,
                 max_points: int = DEFAULT_MAX_POINTS, client: Any = None):
        self.address = check_address(port, host)
        self.env = check_env_name(env)
        self.port, self.host = self.address.port, host
        username = username or self.address.username
        password = password or self.address.password
        self.display_pred, self.prepare_pred = display_pred, prepare_pred
        self._windows: set = set()
        self.url = self.address.url
        self.server: Optional[subprocess.Popen] = None
        self.log_path: Optional[Path] = Path(log_path) if log_path else None
        self.last_epoch: Optional[int] = None
        self.last_loss: Optional[float] = None
        self._closed: Optional[bool] = None  # close()'s result, once closed
        self.status: Optional[str] = None  # the run_status pane's status
        check_positive_int("queue_size", queue_size)
        check_positive_int("max_points", max_points, minimum=10)
        # visdom's client API: AsyncVisdom, a visdom.Visdom given as client=,
        # or a SilentViewer
        self.viewer: Any
        if not Distributed.from_environment().is_main:
            self.viewer = SilentViewer()  # under torchrun rank 0 draws
            self.log_path = None
            return
        if client is not None:
            self.viewer = client
            self.log_path = None
        else:
            if start_server and not answers(self.url):
                self.server = start_local_server(self.url,
                                                 env_path=DEFAULT_ENV_PATH)
            journal = self._earlier_windows(max_points)
            self.viewer = AsyncVisdom(self.url, None, env, self.log_path,
                                      queue_size, username, password,
                                      max_points=max_points, journal=journal)
            atexit.register(self._at_exit)
            logger.info("board: %s%s", self.env_url, f" (offline log "
                        f"{self.log_path})" if self.log_path else "")
        self.show_status("running")

    def _earlier_windows(self, max_points: int) -> Optional[Journal]:
        """A resumed run's log: its windows are redrawn and continued (the
        curves so far are kept, not replaced by the resumed epochs)."""
        if self.log_path is None or not self.log_path.is_file():
            return None
        try:
            journal, skipped = read_log(self.log_path, max_points)
        except (ValueError, OSError) as error:
            logger.warning("board: %s not read (%s); the board starts empty",
                           self.log_path, error)
            return None
        if skipped:
            logger.warning("board: %s", skipped_warning(self.log_path,
                                                        skipped))
        self._windows = {window for env, window in journal.windows
                         if env == self.env}
        return journal

    @property
    def env_url(self) -> str:
        """The address of this run's page (the name percent-encoded)."""
        return self.address.page(self.env)

    def show_status(self, status: str) -> None:
        """Draw the run_status pane: status, last epoch and loss, time.

        The server's first page lists every run from these panes (the
        ``data-`` attributes).
        """
        self.status = status
        epoch = "" if self.last_epoch is None else str(self.last_epoch)
        loss = "" if self.last_loss is None else f"{self.last_loss:.6g}"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        text = (f'<div class="moevae-run" data-status="{html.escape(status)}"'
                f' data-epoch="{epoch}" data-loss="{loss}" '
                f'data-updated="{time.time():.0f}"><b>{html.escape(status)}'
                f'</b>{f", epoch {epoch}" if epoch else ""}'
                f'{f", loss {loss}" if loss else ""}<br>'
                f'<small>updated {stamp}</small></div>')
        self.viewer.text(text, win=STATUS_WINDOW,
                         opts={"title": "run", "width": PANE_SIZE["width"],
                               "height": 120})

    def update_plots(self, data: Dict[str, Any], epoch: int,
                     fold: int = 0) -> None:
        """One appended point per value: train and validation share a plot.

        A NaN or infinite value is a gap in its curve.
        """
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
        self.last_epoch = epoch + 1
        if _is_number(data.get("loss")):
            self.last_loss = float(np.asarray(data["loss"]).reshape(-1)[0])
        self.show_status("running")

    def resume_at(self, fold: int, epoch: int) -> None:
        """A resumed run continues at (0-based) ``epoch`` of ``fold``: the
        points drawn after its checkpoint (an attempt killed between
        drawing and checkpointing) are dropped from every line window, on
        the server and in the offline log, so the board shows what the
        history holds. Points of earlier folds stay, later folds' go."""
        check_positive_int("fold", fold, minimum=0)
        check_positive_int("epoch", epoch, minimum=0)
        self.last_epoch = epoch if epoch else None
        if isinstance(self.viewer, AsyncVisdom):
            self.viewer.sender.truncate(
                lambda trace, x: _kept(trace, x, fold, epoch))

    def append_point(self, window: str, trace: str, epoch: int, value: Any,
                     title: Optional[str] = None) -> None:
        """Points at x = epoch + 1 (or spread over the epoch, per batch)."""
        values = np.asarray(value, dtype=np.float64).reshape(-1)
        if values.size == 0:
            return  # nothing to draw (an epoch without batches)
        steps = epoch + np.arange(1, len(values) + 1) / len(values)
        # markers: a curve of one point (a 1-epoch run) still shows it
        yaxis = {"title": window}
        if window in LOG_SCALE_WINDOWS:
            yaxis["type"] = "log"
        opts = {"title": title or window, "showlegend": True,
                "markers": True, "markersize": 2 if len(values) > 1 else 5,
                **PANE_SIZE, **plot_opts(xaxis=epoch_axis(epoch + 1),
                                         yaxis=yaxis)}
        # the first point creates the window with its layout, later ones
        # (and other traces) are appended
        update = "append" if window in self._windows else None
        self._windows.add(window)
        self.viewer.line(Y=values, X=steps, win=window, update=update,
                         name=trace, opts=opts)

    def _show_predictions(self, value: Any) -> None:
        if not self.display_pred:
            return
        images = (self.prepare_pred(value) if self.prepare_pred else
            np.asarray(value))
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

    def close(self, timeout: float = 10.0, status: str = "finished"
              ) -> bool:
        """Mark the run ``status`` (e.g. "finished", "stopped", "failed"),
        flush (at most ``timeout`` s) and stop the sender (a server it
        started keeps running). Closing again does nothing."""
        if self._closed is None:
            self.show_status(status)
            self._closed = self.viewer.close_client(timeout) if isinstance(
                self.viewer, AsyncVisdom) else True
        return self._closed

    def finish(self) -> None:
        """Training returned: mark the run finished (the board stays open,
        for what a script draws afterwards)."""
        if self._closed is None:
            self.show_status("finished")

    def _at_exit(self) -> None:
        """The process ends: a board neither closed nor finished says it
        exited, then flushes."""
        if self._closed is None:
            if self.status != "finished":
                self.show_status("exited")
            self.flush(5.0)

    def stop_server(self) -> None:
        """Stop the server this board started, if any (SIGTERM: it saves
        its environments first)."""
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=15)


def check_address(port: Any, host: Any) -> ServerAddress:
    """The server's address from ``host`` (any URL form, see
    :mod:`moevae.server.address`) and ``port`` (None: the URL's, else the
    scheme's default). Raises MoEVAEValueError."""
    if port is not None and (isinstance(port, bool) or not isinstance(
            port, int) or not 0 < port < 65536):
        raise bad_value("port", port, "an integer in [1, 65535]")
    return parse_server_url(host, port)


def _kept(trace: Optional[str], x: Any, fold: int, epoch: int) -> bool:
    """Whether a point stays when the run resumes at ``epoch`` of ``fold``
    (a trace's fold is its " (fold N)" suffix, else 0)."""
    match = re.search(r" \(fold (\d+)\)$", trace or "")
    trace_fold = int(match.group(1)) if match else 0
    if trace_fold != fold:
        return trace_fold < fold
    return not isinstance(x, (int, float)) or x <= epoch + 1e-9


def _is_number(value: Any) -> bool:
    """A real number: a Python/numpy scalar or a one-element array."""
    if isinstance(value, bool):
        return False
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = getattr(value.dtype, "kind", None) or (
            "f" if getattr(value.dtype, "is_floating_point", False) else "")
        return int(np.prod(value.shape)) == 1 and kind in ("i", "u", "f")
    return (isinstance(value, (int, float, np.number)) and
        not isinstance(value, np.complexfloating))
