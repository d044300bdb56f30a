"""AsyncVisdom: visdom's plotting API that never blocks or kills training.

A call such as ``viewer.line(...)`` is checked against ``visdom.Visdom``'s
signature, its arrays are copied, and it is queued; it returns at once. A
background thread turns calls into visdom messages (visdom's own client in
``send=False`` mode builds them), appends each to a JSON-lines log in
visdom's log format (``[endpoint, message]``, replayable), and posts it with
a timeout.

- Queue full: the oldest image/text/bar updates are dropped first; line
  appends (loss points) are never dropped.
- Server down or gone: one warning; the sender keeps every window's content
  (a journal: all appended points, the latest of everything else), retries
  with backoff and, once the server answers, rebuilds the board from the
  journal so it is up to date.
"""
import collections
import copy
import inspect
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Tuple

import numpy as np
import visdom

from .transport import Transport, TransportError

logger = logging.getLogger("moevae")
Message = Tuple[str, Dict[str, Any]]  # (endpoint, message)
PLOT_METHODS = ("line", "scatter", "images", "image", "text", "bar",
                "heatmap", "histogram", "boxplot", "stem", "pie", "surf",
                "contour", "quiver", "mesh", "svg", "properties",
                "update_window_opts", "close", "save")
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)


class Call:
    """One queued client call."""

    def __init__(self, method: str, args: tuple, kwargs: Dict[str, Any]):
        self.method, self.args, self.kwargs = method, args, kwargs
        self.keep = method in ("line", "scatter", "close", "save") and (
            method in ("close", "save") or kwargs.get("update") == "append")


def _copy(value: Any) -> Any:
    """Snapshot an argument so later in-place changes do not leak in."""
    if hasattr(value, "detach"):  # torch tensors, without importing torch
        return value.detach().cpu().numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


class Journal:
    """Everything needed to redraw the board: per window, its messages."""

    def __init__(self):
        self.windows: Dict[Tuple[str, str], List[Message]] = \
            collections.OrderedDict()

    def record(self, endpoint: str, message: Dict[str, Any]) -> None:
        key = (message.get("eid"), message.get("win"))
        if endpoint == "close":
            for window in list(self.windows):
                if window[0] == key[0] and key[1] in (None, window[1]):
                    del self.windows[window]
        elif endpoint == "events":
            self.windows[key] = [(endpoint, message)]
        elif endpoint == "update":
            self.windows.setdefault(key, []).append((endpoint, message))

    def messages(self) -> List[Message]:
        return [item for items in self.windows.values() for item in items]

    def envs(self) -> List[str]:
        return sorted({env for env, _ in self.windows})

    def redraw(self, transport: Transport, clear: List[str],
               env: Optional[str] = None) -> None:
        """Empty the ``clear`` environments, then post every window (into
        ``env`` instead of the logged environments, if given)."""
        for name in clear:
            transport.post(f"env/{name}", {"eid": name})
            transport.post("close", {"win": None, "eid": name})
        for endpoint, message in self.messages():
            transport.post(endpoint, dict(message, eid=env) if env
                           else message)


class AsyncVisdom:
    """Non-blocking stand-in for ``visdom.Visdom`` (plotting calls only)."""

    def __init__(self, server: str = "http://localhost", port: int = 8097,
                 env: str = "main", log_path: Optional[Path] = None,
                 queue_size: int = 64, username: Optional[str] = None,
                 password: Optional[str] = None, timeout: float = 10.0):
        self.env = env
        self.builder = visdom.Visdom(server=server, port=port, env=env,
                                     send=False, offline=True,
                                     log_to_filename="unused")
        self.transport = Transport(server, port, username, password, timeout)
        self.log_path = Path(log_path) if log_path else None
        self.queue_size = queue_size
        self.dropped = 0
        self.journal = Journal()
        self.connected: Optional[bool] = None
        self._queue: Deque[Call] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._send_lock = threading.Lock()
        self._failed_methods: set = set()
        self._thread = threading.Thread(target=self._run, name="moevae-board",
                                        daemon=True)
        self._thread.start()

    def __getattr__(self, name: str):
        if name not in PLOT_METHODS:
            raise AttributeError(f"AsyncVisdom has no method {name!r}; it "
                                 f"forwards {', '.join(PLOT_METHODS)}")
        signature = inspect.signature(getattr(visdom.Visdom, name))

        def call(*args, **kwargs):
            signature.bind(self.builder, *args, **kwargs)  # TypeError now
            self.put(Call(name, tuple(_copy(a) for a in args),
                          {k: _copy(v) for k, v in kwargs.items()}))
            return kwargs.get("win")
        call.__name__ = name
        return call

    # -- queue -------------------------------------------------------------
    def put(self, call: Call) -> None:
        with self._cond:
            self._queue.append(call)
            droppable = [c for c in self._queue if not c.keep]
            if len(droppable) > self.queue_size:
                self._queue.remove(droppable[0])
                self.dropped += 1
            self._cond.notify()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued call was handled; True if all were sent."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._queue or self._busy) and time.monotonic() < deadline:
                self._cond.wait(min(0.05, max(deadline - time.monotonic(), 0)))
            drained = not self._queue and not self._busy
        if drained and not self.connected:
            self._reconnect()
        return drained and bool(self.connected)

    def close_client(self, timeout: float = 10.0) -> bool:
        """Flush, then stop the sender thread."""
        sent = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=1.0)
        return sent

    # -- sender thread -----------------------------------------------------
    def _run(self) -> None:
        failures, next_retry = 0, 0.0
        while True:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(None if self.connected is not False else
                                    max(next_retry - time.monotonic(), 0.01))
                if self._stopping and not self._queue:
                    return
                call = self._queue.popleft() if self._queue else None
                self._busy = call is not None
            try:
                if call is not None:
                    self._handle(call)
                due = self.connected is None or (
                    self.connected is False and
                    time.monotonic() >= next_retry)
                if due and not self._reconnect():
                    failures += 1
                    next_retry = time.monotonic() + BACKOFF_S[
                        min(failures, len(BACKOFF_S)) - 1]
                elif due:
                    failures = 0
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _handle(self, call: Call) -> None:
        message = self._build(call)
        if message is None:
            return
        endpoint, payload = message
        self._log(endpoint, payload)
        self.journal.record(endpoint, payload)
        if self.connected:
            with self._send_lock:
                try:
                    self.transport.post(endpoint, payload)
                except TransportError as error:
                    self._went_down(error)

    def _build(self, call: Call) -> Optional[Message]:
        try:
            built = getattr(self.builder, call.method)(*call.args,
                                                       **call.kwargs)
        except Exception as error:  # bad data from an observer: skip it
            if call.method not in self._failed_methods:
                self._failed_methods.add(call.method)
                logger.warning("board: %s(...) failed and was skipped: %s "
                               "(further failures not logged)", call.method,
                               error)
            return None
        if not (isinstance(built, tuple) and len(built) == 2):
            return None
        payload, endpoint = built
        return endpoint, payload

    def _log(self, endpoint: str, payload: Dict[str, Any]) -> None:
        if self.log_path is None:
            return
        try:
            with open(self.log_path, "a") as handle:
                handle.write(json.dumps([endpoint, payload]) + "\n")
        except OSError as error:
            logger.warning("board: cannot append to %s (%s); the offline "
                           "log is off", self.log_path, error)
            self.log_path = None

    def _went_down(self, error: Exception) -> None:
        if self.connected is not False:
            logger.warning("board: the Visdom server at %s is not answering "
                           "(%s); training goes on, the board will catch up "
                           "when it is back%s", self.transport.base, error,
                           f" (events are logged to {self.log_path})"
                           if self.log_path else "")
        self.connected = False

    def _reconnect(self) -> bool:
        """Rebuild every window on the server; True when it answered."""
        with self._send_lock:
            return self._redraw()

    def _redraw(self) -> bool:
        was_down = self.connected is False
        try:
            self.journal.redraw(self.transport,
                                sorted({self.env, *self.journal.envs()}))
        except TransportError as error:
            self._went_down(error)
            return False
        if was_down:
            logger.info("board: the Visdom server at %s answers again; "
                        "redrew %d windows", self.transport.base,
                        len(self.journal.windows))
        self.connected = True
        return True
