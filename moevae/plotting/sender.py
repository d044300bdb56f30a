"""Sender: the one thread that talks to the Visdom server for a board.

It owns the queue of calls, the connection state, the journal (everything
needed to redraw the board) and the offline JSON-lines log; the caller's
thread only queues calls and waits on flush markers, under one lock.

- The queue stays bounded and a call never waits for the server: a later
  full drawing of a window replaces the queued ones of that window; appends
  to one trace are merged into one request while they wait; when more than
  ``queue_size`` other calls (images, text without a window) wait, the
  oldest is dropped. The call that creates a window and line appends are
  never dropped.
- Server down (no answer): one warning, retries with backoff, then the
  board is redrawn from the journal. A request the server refuses (an HTTP
  error): one warning for that window, the request is dropped, never
  retried. Any other exception (a value JSON cannot hold, a bug): one
  warning per kind, the call is skipped and the sender goes on.
"""
import collections
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Hashable, Optional, Tuple, Union

from ..fileio import dumps_strict, strict_json
from .calls import Call, Marker, Task
from .journal import DEFAULT_MAX_POINTS, Journal, Message
from .transport import RequestRefused, ServerDown, Transport

logger = logging.getLogger("moevae")
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
UNKNOWN, CONNECTED, DOWN = "unknown", "connected", "down"


class Sender:
    """The board's sender thread and everything it owns."""

    def __init__(self, builder: Any, transport: Transport, env: str,
                 log_path: Optional[Path] = None, queue_size: int = 64,
                 max_points: int = DEFAULT_MAX_POINTS,
                 journal: Optional[Journal] = None):
        self.builder, self.transport, self.env = builder, transport, env
        self.log_path = Path(log_path) if log_path else None
        self.queue_size = queue_size
        # a resumed run's windows so far: redrawn with it, never cleared
        self.journal = (journal if journal is not None else
            Journal(max_points))
        self.dropped = 0
        self._queue: Deque[Union[Call, Marker, Task]] = collections.deque()
        self._appends: Dict[Tuple, Call] = {}
        self._cond = threading.Condition()
        self._state = UNKNOWN
        self._stopping = False
        self._failures, self._next_retry = 0, 0.0
        self._warned: set = set()
        self._refusals = 0  # requests the server refused since a flush
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="moevae-board")
        self._thread.start()

    # -- the caller's side ---------------------------------------------
    @property
    def connected(self) -> Optional[bool]:
        with self._cond:
            return (None if self._state == UNKNOWN else
                self._state == CONNECTED)

    def backlog(self) -> int:
        """Calls waiting in the queue."""
        with self._cond:
            return len(self._queue)

    def put(self, call: Call) -> None:
        """Queue a call (never waits for the server)."""
        with self._cond:
            if self._stopping:
                self._warn_once("closed", "board: a %s(...) call after the "
                                "board was closed is ignored", call.method)
                return
            pending = (self._appends.get(call.append_key)
                if call.append_key else None)
            if pending is not None:
                pending.merge(call)
                return
            if call.replaces:
                self._remove(lambda c: isinstance(c, Call) and
                             (c.env, c.win) == (call.env, call.win))
            self._queue.append(call)
            if call.append_key:
                self._appends[call.append_key] = call
            if sum(not (isinstance(c, (Marker, Task)) or c.keep)
                   for c in self._queue) > self.queue_size:
                oldest = next(c for c in self._queue
                              if isinstance(c, Call) and not c.keep)
                self._remove(lambda c: c is oldest)
                self.dropped += 1
                self._warn_once("dropped", "board: the server is slower "
                                "than the run; older image/text updates are "
                                "dropped (loss points never are)")
            self._cond.notify_all()

    def truncate(self, keep: Callable[[Optional[str], float], bool]
                 ) -> None:
        """Queue dropping the points ``keep(trace, x)`` refuses from every
        line window: on the server and in the offline log (rewritten)."""
        with self._cond:
            self._queue.append(Task(lambda sender: sender._truncate(keep)))
            self._cond.notify_all()

    def _remove(self, match: Callable[[Union[Call, Marker, Task]], bool]
                ) -> None:
        kept: Deque[Union[Call, Marker, Task]] = collections.deque()
        for item in self._queue:
            if match(item):
                if isinstance(item, Call) and item.append_key:
                    self._appends.pop(item.append_key, None)
            else:
                kept.append(item)
        self._queue = kept

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait at most ``timeout`` s until every call queued before is
        handled; True if the server has them all (False also when it
        refused some since the last flush)."""
        marker = Marker()
        with self._cond:
            if self._stopping or not self._thread.is_alive():
                return False
            self._queue.append(marker)
            self._cond.notify_all()
        return marker.reached.wait(max(timeout, 0.0)) and marker.sent

    def close(self, timeout: float = 10.0) -> bool:
        """Flush, then stop the thread; True if everything was sent."""
        deadline = time.monotonic() + timeout
        sent = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(max(deadline - time.monotonic(), 0.05))
        return sent

    # -- the sender thread ---------------------------------------------
    def _next(self) -> Union[Call, Marker, Task, str, None]:
        """The next queued item; None when a reconnection is due; 'stop'."""
        with self._cond:
            while True:
                if self._queue:
                    item = self._queue.popleft()
                    if (isinstance(item, Call) and item.append_key and
                            self._appends.get(item.append_key) is item):
                        del self._appends[item.append_key]
                    return item
                if self._stopping:
                    return "stop"
                wait = None
                if self._state != CONNECTED:
                    wait = self._next_retry - time.monotonic()
                    if wait <= 0:
                        return None
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            item = self._next()
            if item == "stop":
                return
            try:
                if isinstance(item, Marker):
                    self._reach(item)
                    continue
                if isinstance(item, Task):
                    item.run(self)
                    continue
                if isinstance(item, Call):
                    self._handle(item)
                if (self._state != CONNECTED and
                        time.monotonic() >= self._next_retry):
                    self._connect()
            except Exception as error:  # the sender never dies
                self._warn_once(("unexpected", type(error).__name__),
                                "board: unexpected %s in the sender (%s); "
                                "that update is skipped, the board goes on",
                                type(error).__name__, error)

    def _reach(self, marker: Marker) -> None:
        try:
            if self._state != CONNECTED:
                self._connect()
            marker.sent = self._state == CONNECTED and not self._refusals
            self._refusals = 0  # counted again from this flush on
        finally:
            marker.reached.set()

    def _handle(self, call: Call) -> None:
        try:
            built = getattr(self.builder, call.method)(**call.kwargs)
            if not (isinstance(built, tuple) and len(built) == 2):
                return
            payload, endpoint = built
            payload = strict_json(payload)
        except Exception as error:  # bad data from an observer: skip it
            self._warn_once(("build", call.method), "board: %s(...) for "
                            "window %r failed and was skipped: %s (further "
                            "failures not logged)", call.method, call.win,
                            error)
            return
        self._log(endpoint, payload)
        for message in self.journal.record(endpoint, payload):
            if self._state != CONNECTED:
                return
            refused = self._post(message, quiet=call.append_key is not None)
            if refused is not None:
                self._create_instead(call, message, refused)

    def _post(self, message: Message, quiet: bool = False
              ) -> Optional[RequestRefused]:
        """Post ``message``; a refusal is warned about (once), or, with
        ``quiet``, returned for the caller to handle."""
        try:
            self.transport.post(*message)
        except ServerDown as error:
            self._went_down(error)
        except RequestRefused as error:
            if quiet:
                return error
            self._refused(message, error)
        return None

    def _create_instead(self, call: Call, message: Message,
                        refused: RequestRefused) -> None:
        """An append to a line window the server does not hold (its
        environment or window does not exist yet: visdom refuses it)
        creates the window with these points, as a new window's first
        line() call does."""
        kwargs = {key: value for key, value in call.kwargs.items()
                  if key != "update"}
        try:
            payload, endpoint = getattr(self.builder, call.method)(**kwargs)
            payload = strict_json(payload)
        except Exception:  # cannot be drawn as a window: the refusal stands
            self._refused(message, refused)
            return
        self.journal.forget((payload.get("eid"), payload.get("win")))
        self._log(endpoint, payload)
        for created in self.journal.record(endpoint, payload):
            if self._state != CONNECTED:
                return
            self._post(created)

    def _refused(self, message: Message, error: RequestRefused) -> None:
        endpoint, payload = message
        key = (payload.get("eid"), payload.get("win"))
        self._refusals += 1
        self._warn_once("refused", "board: the server refused %s of window "
                        "%r in %r (%s); that request is dropped, training "
                        "goes on (further refusals are not logged; flush() "
                        "and close() return False)", endpoint, key[1],
                        key[0], error)
        if endpoint == "events":
            self.journal.forget(key)

    def _truncate(self, keep: Callable[[Optional[str], float], bool]
                  ) -> None:
        changed = self.journal.truncate(keep)
        if not changed:
            return
        self._rewrite_log()
        if self._state == CONNECTED:
            for key, messages in self.journal.window_messages():
                if key in changed:
                    for message in messages:
                        self._post(message)

    def _rewrite_log(self) -> None:
        """The offline log becomes the journal's windows (atomically)."""
        if self.log_path is None or not self.log_path.is_file():
            return
        temporary = self.log_path.with_name(self.log_path.name + ".tmp")
        try:
            with open(temporary, "w") as handle:
                for endpoint, payload in self.journal.messages():
                    handle.write(dumps_strict([endpoint, payload]) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.log_path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            logger.warning("board: cannot rewrite %s (%s); the offline "
                           "log is off", self.log_path, error)
            self.log_path = None

    def _log(self, endpoint: str, payload: Dict[str, Any]) -> None:
        if self.log_path is None:
            return
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a") as handle:
                handle.write(dumps_strict([endpoint, payload]) + "\n")
        except OSError as error:
            logger.warning("board: cannot append to %s (%s); the offline "
                           "log is off", self.log_path, error)
            self.log_path = None

    def _connect(self) -> None:
        """Redraw every window on the server (a clean environment first)."""
        was_down = self._state == DOWN
        try:
            self.journal.redraw(self.transport,
                                sorted({self.env, *self.journal.envs()}),
                                refused=self._refused)
        except (ServerDown, RequestRefused) as error:
            self._went_down(error)
            return
        with self._cond:
            self._state, self._failures = CONNECTED, 0
        if was_down:
            logger.info("board: the Visdom server at %s answers again; "
                        "redrew %d windows", self.transport.base,
                        len(self.journal.windows))

    def _went_down(self, error: Exception) -> None:
        if self._state != DOWN and isinstance(error, RequestRefused):
            logger.warning("board: the Visdom server at %s refuses the board "
                           "(%s); training goes on, retrying later",
                           self.transport.base, error)
        elif self._state != DOWN:
            logger.warning(
                "board: the Visdom server at %s is not answering (%s); "
                "training goes on, the board will catch up when it is "
                "back%s", self.transport.base, error,
                f" (events are logged to {self.log_path})"
                if self.log_path else "")
        with self._cond:
            self._failures += 1
            self._state = DOWN
            self._next_retry = time.monotonic() + BACKOFF_S[
                min(self._failures, len(BACKOFF_S)) - 1]

    def _warn_once(self, key: Hashable, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, *args)
