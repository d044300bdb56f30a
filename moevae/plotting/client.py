"""AsyncVisdom: visdom's plotting API that never blocks or kills training.

A call such as ``viewer.line(...)`` is checked against ``visdom.Visdom``'s
signature, its arrays are copied, and it is queued; it returns at once. The
board's :class:`~moevae.plotting.sender.Sender` thread turns calls into
visdom messages (visdom's own client in ``send=False`` mode builds them),
makes them strict JSON (NaN/inf -> null: a gap in the plot), appends each
to a JSON-lines log in visdom's log format (``[endpoint, message]``,
replayable) and posts it with a timeout. See the sender for what happens
when the queue is full, the server is down or refuses a request.
"""
import copy
import inspect
from pathlib import Path
from typing import Any, Optional

import numpy as np
import visdom

from ..server.names import check_env_name
from .calls import Call
from .journal import DEFAULT_MAX_POINTS, Journal
from .sender import Sender
from .transport import Transport

PLOT_METHODS = ("line", "scatter", "images", "image", "text", "bar",
                "heatmap", "histogram", "boxplot", "stem", "pie", "surf",
                "contour", "quiver", "mesh", "svg", "properties",
                "update_window_opts", "close", "save")


def _copy(value: Any) -> Any:
    """Snapshot an argument so later in-place changes do not leak in."""
    if hasattr(value, "detach"):  # torch tensors, without importing torch
        value = value.detach().cpu()
        if value.is_floating_point():  # numpy has no bfloat16
            value = value.double()
        return value.numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


class AsyncVisdom:
    """Non-blocking stand-in for ``visdom.Visdom`` (plotting calls only).

    ``max_points``: the most points a line window holds on the server
    (older points are thinned beyond it).
    """

    def __init__(self, server: str = "http://localhost",
                 port: Optional[int] = None,
                 env: str = "main", log_path: Optional[Path] = None,
                 queue_size: int = 64, username: Optional[str] = None,
                 password: Optional[str] = None, timeout: float = 10.0,
                 max_points: int = DEFAULT_MAX_POINTS,
                 journal: Optional[Journal] = None):
        self.env = env
        # visdom 0.2.4 takes offline=; its type stubs lag behind
        self.builder = visdom.Visdom(  # type: ignore[call-arg]
            env=env, send=False, offline=True, log_to_filename="unused")
        self.sender = Sender(self.builder,
                             Transport(server, port, username, password,
                                       timeout),
                             env, log_path, queue_size, max_points, journal)

    def __getattr__(self, name: str):
        if name not in PLOT_METHODS:
            raise AttributeError(f"AsyncVisdom has no method {name!r}; it "
                                 f"forwards {', '.join(PLOT_METHODS)}")
        signature = inspect.signature(getattr(visdom.Visdom, name))

        def call(*args, **kwargs):
            bound = signature.bind(self.builder, *args, **kwargs)  # TypeError
            arguments = {key: _copy(value) for key, value in
                         bound.arguments.items() if key != "self"}
            if arguments.get("env") is not None:  # as the board's own
                check_env_name(arguments["env"], "env")
            self.sender.put(Call(name, arguments, self.env))
            return arguments.get("win")
        call.__name__ = name
        return call

    # the sender's state, read through the client
    journal = property(lambda self: self.sender.journal,
                       doc="The windows drawn so far (a Journal).")
    log_path = property(lambda self: self.sender.log_path,
                        doc="The offline log (a Path), or None.")
    dropped = property(lambda self: self.sender.dropped,
                       doc="Calls dropped for lack of room in the queue.")
    connected = property(lambda self: self.sender.connected,
                         doc="True/False once the server answered / did "
                             "not; None before.")

    def backlog(self) -> int:
        return self.sender.backlog()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait at most ``timeout`` s until every queued call was handled;
        True if the server has them all."""
        return self.sender.flush(timeout)

    def close_client(self, timeout: float = 10.0) -> bool:
        """Flush (at most ``timeout`` s), then stop the sender thread."""
        return self.sender.close(timeout)
