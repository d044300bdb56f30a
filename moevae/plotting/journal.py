"""Journal: every window of a board, enough to redraw it, in bounded memory.

A line window is kept as one ``events`` message into which its appended
points are merged (as visdom's server merges them), so redrawing it is one
request. Its point count is bounded: when it passes ``max_points``, every
trace is thinned to every other point (its first and newest points kept)
and the thinned window replaces the one on the server; from then on only
every second appended point is kept (every fourth after the next
thinning...), so the points kept stay spread evenly over the whole run, as
TensorBoard's reservoir keeps them, and the early epochs never vanish.
The server's cost of an append grows with the points the window holds,
so this keeps the board's cost per epoch flat however long the run.
Other windows keep their latest content (and their appends).
"""
import collections
import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from .transport import RequestRefused, Transport

Message = Tuple[str, Dict[str, Any]]  # (endpoint, message)
WindowKey = Tuple[Optional[str], Optional[str]]  # (env, window)
DEFAULT_MAX_POINTS = 4000


def _is_line_data(data: Any) -> bool:
    """True for visdom line/scatter traces with x and y lists."""
    return isinstance(data, list) and bool(data) and all(
        isinstance(trace, dict) and trace.get("type", "scatter") == "scatter"
        and isinstance(trace.get("x"), list)
        and isinstance(trace.get("y"), list) for trace in data)


def _is_line_update(message: Dict[str, Any]) -> bool:
    return (_is_line_data(message.get("data")) and not message.get("delete")
            and "updateDir" not in message)


def count_points(message: Dict[str, Any]) -> int:
    return sum(len(trace["x"]) for trace in message["data"])


def merge_update(window: Dict[str, Any], update: Dict[str, Any]) -> None:
    """Apply a line ``update`` message to a window's ``events`` message in
    place, with the semantics of visdom 0.2.4's server (UpdateHandler)."""
    for key, value in (update.get("layout") or {}).items():
        if value is not None:
            window.setdefault("layout", {})[key] = value
    data, new = window["data"], update["data"]
    name = update.get("name")
    indices = [i for i, trace in enumerate(data)
               if name is None or trace.get("name") == name]
    if not indices:  # a new trace
        data.append(dict(copy.deepcopy(new[0]), name=name))
        return
    for position, index in zip(range(len(new)), indices):
        for axis in ("x", "y"):
            data[index][axis] = (data[index][axis] + list(new[position][axis])
                                 if update.get("append")
                                 else list(new[position][axis]))


def thin(window: Dict[str, Any]) -> None:
    """Keep every other point of each trace (first and newest kept)."""
    for trace in window["data"]:
        count = len(trace["x"])
        if count <= 2:
            continue
        keep = sorted({0, *range(count - 1, -1, -2)})
        for axis in ("x", "y"):
            values = trace[axis]
            trace[axis] = [values[i] for i in keep]
        for axis in ("text", "customdata"):
            if isinstance(trace.get(axis), list) and len(trace[axis]) == count:
                trace[axis] = [trace[axis][i] for i in keep]


class Journal:
    """Everything needed to redraw the board: per window, its messages."""

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS):
        self.max_points = max_points
        self.windows: Dict[WindowKey, List[Message]] = (
            collections.OrderedDict())
        self._lines: Dict[WindowKey, Dict[str, Any]] = {}
        # a thinned line window keeps 1 appended point in ``stride``
        self._strides: Dict[WindowKey, int] = {}
        self._seen: Dict[Tuple[WindowKey, Any], int] = {}
        self._posted: Dict[WindowKey, int] = {}  # points the server holds

    def record(self, endpoint: str, message: Dict[str, Any]
               ) -> List[Message]:
        """Note one message; return what to post for it (the message, or
        the whole thinned window when it has grown past ``max_points``)."""
        key = (message.get("eid"), message.get("win"))
        if endpoint == "close":
            for window in list(self.windows):
                if window[0] == key[0] and key[1] in (None, window[1]):
                    self.forget(window)
        elif endpoint == "events":
            # a redrawn window keeps its place (the board's pane order)
            for table in (self._lines, self._strides, self._posted):
                table.pop(key, None)
            if _is_line_data(message.get("data")) and key[1] is not None:
                message = copy.deepcopy(message)
                while count_points(message) > self.max_points:
                    before = count_points(message)
                    thin(message)  # a window drawn with too many points
                    self._strides[key] = self._strides.get(key, 1) * 2
                    if count_points(message) == before:
                        break
                self._lines[key] = copy.deepcopy(message)
            self.windows[key] = [(endpoint, message)]
        elif endpoint == "update":
            return self._record_update(key, message)
        return [(endpoint, message)]

    def _record_update(self, key: WindowKey, message: Dict[str, Any]
                       ) -> List[Message]:
        line = self._lines.get(key)
        if (key not in self.windows and message.get("append") and
                _is_line_update(message) and key[1] is not None):
            # visdom creates a window that an append names and lacks
            created = {k: copy.deepcopy(v) for k, v in message.items()
                       if k not in ("append", "name")}
            created.setdefault("layout", {})
            self._lines[key] = created
            self.windows[key] = [("events", created)]
            return [("update", message)]
        if line is None or not _is_line_update(message):
            self._lines.pop(key, None)
            self.windows.setdefault(key, []).append(("update", message))
            return [("update", message)]
        kept: Optional[Dict[str, Any]] = message
        newest: Optional[Dict[str, Any]] = None
        if message.get("append") and self._strides.get(key, 1) > 1:
            kept, newest = self._on_stride(key, message)
        if kept is not None:
            merge_update(line, kept)
        self._posted[key] = (self._posted.get(key, count_points(line))
                             + count_points(message))
        if (self._posted[key] <= self.max_points
                and count_points(line) <= self.max_points):
            return [("update", message)]  # every point shows, live
        # the server's copy is replaced by the kept points, plus this
        # message's newest ones (so the newest point stays on the board):
        # each trace in x order, within max_points
        resent = self._with_newest(line, newest)
        if count_points(resent) > self.max_points:
            while count_points(line) > self.max_points // 2:
                before = count_points(line)
                thin(line)
                self._strides[key] = self._strides.get(key, 1) * 2
                if count_points(line) == before:
                    break
            resent = self._with_newest(line, newest)
        self._posted[key] = count_points(resent)
        return [("events", resent)]

    @staticmethod
    def _with_newest(line: Dict[str, Any], newest: Optional[Dict[str, Any]]
                     ) -> Dict[str, Any]:
        resent = copy.deepcopy(line)
        if newest is not None:
            merge_update(resent, newest)
        return resent

    def _on_stride(self, key: WindowKey, message: Dict[str, Any]
                   ) -> Tuple[Optional[Dict[str, Any]],
                              Optional[Dict[str, Any]]]:
        """(the appended points a thinned window keeps, each trace's newest
        point when it is not kept); None for a part without points."""
        stride, kept, newest = self._strides[key], [], []
        for index, trace in enumerate(message["data"]):
            name = (key, message.get("name", index))
            seen = self._seen.get(name, 0)
            on = [(seen + i) % stride == 0 for i in range(len(trace["x"]))]
            self._seen[name] = seen + len(trace["x"])
            kept.append(dict(trace, **{axis: [
                value for value, flag in zip(trace[axis], on) if flag]
                for axis in ("x", "y")}))
            last = bool(on) and not on[-1]
            newest.append(dict(trace, **{axis: trace[axis][-1:] if last
                                         else [] for axis in ("x", "y")}))
        kept_message, newest_message = (
            dict(message, data=part) if any(t["x"] for t in part) else None
            for part in (kept, newest))
        return kept_message, newest_message

    def truncate(self, keep: Callable[[Optional[str], float], bool]
                 ) -> List[WindowKey]:
        """Drop the points ``keep(trace name, x)`` refuses from every line
        window (a trace left empty stays, so the window keeps its layout);
        return the windows that changed."""
        changed = []
        for key, line in self._lines.items():
            before = count_points(line)
            for trace in line["data"]:
                flags = [keep(trace.get("name"), x) for x in trace["x"]]
                for axis in ("x", "y", "text", "customdata"):
                    values = trace.get(axis)
                    if isinstance(values, list) and len(values) == len(flags):
                        trace[axis] = [value for value, flag
                                       in zip(values, flags) if flag]
            if count_points(line) != before:
                self._posted[key] = count_points(line)
                self.windows[key] = [("events", line)]
                changed.append(key)
        return changed

    def forget(self, key: WindowKey) -> None:
        self.windows.pop(key, None)
        self._lines.pop(key, None)
        self._strides.pop(key, None)
        self._posted.pop(key, None)

    def points(self, env: Optional[str], window: str) -> int:
        """Points the journal holds for a line window (0 if none)."""
        line = self._lines.get((env, window))
        return count_points(line) if line else 0

    def window_messages(self) -> List[Tuple[WindowKey, List[Message]]]:
        """Each window with the messages that redraw it: a line window's
        merged content, else its messages in order."""
        return [(key, [("events", self._lines[key])] if key in self._lines
                 else list(items)) for key, items in self.windows.items()]

    def messages(self) -> List[Message]:
        """Every window's redrawing messages, in order."""
        return [message for _, items in self.window_messages()
                for message in items]

    def envs(self) -> List[str]:
        return sorted({env for env, _ in self.windows if env is not None})

    def redraw(self, transport: Transport, clear: List[str],
               env: Optional[str] = None,
               refused: Optional[Callable[[Message, RequestRefused], None]]
               = None) -> None:
        """Empty the ``clear`` environments, then post every window (into
        ``env`` instead of the logged environments, if given).

        A message the server refuses is passed to ``refused`` (and skipped)
        when given, else the RequestRefused is raised; ServerDown always is.
        """
        for name in clear:
            transport.post(f"env/{quote(name, safe='')}", {"eid": name})
            transport.post("close", {"win": None, "eid": name})
        for endpoint, message in self.messages():
            try:
                transport.post(endpoint, dict(message, eid=env) if env
                               else message)
            except RequestRefused as error:
                if refused is None:
                    raise
                refused((endpoint, message), error)


def read_log(path: Path, max_points: int = DEFAULT_MAX_POINTS
             ) -> Tuple[Journal, List[int]]:
    """Every window of a board's offline log (``board.jsonl``), and the
    numbers of the lines skipped.

    A line is skipped when it is not ``[endpoint, message]`` JSON (a line cut
    by a crash, stray bytes). Raises ValueError if no line is readable.
    """
    journal, skipped, read = Journal(max_points), [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = _log_record(line)
            if record is None:
                skipped.append(number)
                # a run resumed after a crash appends its first line to the
                # cut one: keep that line's complete tail
                record = _glued_record(line)
            if record is not None:
                journal.record(*record)
                read += 1
    if not read:
        raise ValueError(f"{path}: no visdom log line in it; expected JSON "
                         "lines [endpoint, message] (a run's board.jsonl)")
    return journal, skipped


def _log_record(text: str) -> Optional[Tuple[str, dict]]:
    """``(endpoint, message)`` of a log line, None if it is not one."""
    try:
        endpoint, message = json.loads(text)
    except (ValueError, TypeError):
        return None
    if isinstance(endpoint, str) and isinstance(message, dict):
        return endpoint, message
    return None


def _glued_record(line: str) -> Optional[Tuple[str, dict]]:
    """The complete log line that ends ``line`` after a cut one, if any."""
    start = line.find('["', 1)
    while start != -1:
        record = _log_record(line[start:])
        if record is not None:
            return record
        start = line.find('["', start + 1)
    return None


def skipped_warning(path: Path, skipped: List[int]) -> str:
    """One line naming the unreadable lines (at most 10 numbers)."""
    shown = ", ".join(map(str, skipped[:10])) + (
        ", ..." if len(skipped) > 10 else "")
    if len(skipped) == 1:
        return (f"{path}:{skipped[0]}: skipped 1 unreadable line (cut "
               "short: did the run crash while writing it?)")
    return f"{path}: skipped {len(skipped)} unreadable lines ({shown})"
