"""What waits in the board's queue: client calls, the sender's own tasks
and flush markers (:mod:`moevae.plotting.sender`)."""
import threading
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

# the client methods whose call draws a whole window
REPLACING = ("line", "scatter", "images", "image", "text", "bar", "heatmap",
             "histogram", "boxplot", "stem", "pie", "surf", "contour",
             "quiver", "mesh", "svg", "properties")

class Call:
    """One queued client call, its arguments by name."""

    def __init__(self, method: str, kwargs: Dict[str, Any], env: str):
        self.method, self.kwargs = method, kwargs
        self.env = kwargs.get("env") or env
        self.win = kwargs.get("win")
        update = kwargs.get("update")
        lines = method in ("line", "scatter")
        # the call that draws a whole window: later ones replace it
        self.replaces = self.win is not None and method in REPLACING and (
            update is None if lines else not kwargs.get("append", False))
        self.keep = ((lines and self.win is not None) or
            method in ("close", "save", "update_window_opts"))
        self.append_key: Optional[Tuple] = None
        if method == "line" and update == "append" and self.win is not None:
            y = np.asarray(kwargs.get("Y"))
            x = kwargs.get("X")
            if (y.ndim == 1 and x is not None and np.ndim(x) == 1 and
                    len(x) == len(y) and y.dtype.kind in "biuf"):
                self.kwargs["Y"] = y.astype(np.float64)
                self.kwargs["X"] = np.asarray(x, dtype=np.float64)
                self.append_key = (self.env, self.win, kwargs.get("name"))

    def merge(self, later: "Call") -> None:
        """Take a later append to the same trace into this one."""
        for axis in ("X", "Y"):
            self.kwargs[axis] = np.concatenate([self.kwargs[axis],
                                                later.kwargs[axis]])
        self.kwargs["opts"] = later.kwargs.get("opts")


class Task:
    """Run by the sender thread in queue order (it owns the journal)."""

    def __init__(self, run: Callable[[Any], None]):  # run(the sender)
        self.run = run


class Marker:
    """Put in the queue by flush(); set when the sender reaches it."""

    def __init__(self):
        self.reached = threading.Event()
        self.sent = False
