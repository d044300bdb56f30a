"""History: every loss component per (fold, epoch), as pynet records it.

Saved as strict JSON (not pickle, so loading a history never runs code;
a NaN or infinite value is written as ``null`` and read back as NaN); the
file name follows pynet's ``<name>_<fold>_epoch_<epoch>``.
"""
import datetime
import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

import numpy as np

from .errors import bad_type
from .fileio import write_json

logger = logging.getLogger("moevae")
Step = Union[int, Tuple[int, ...]]
TIMESTAMP = "__timestamp__"


class History:
    """Metrics logged at steps (an int or a tuple such as (fold, epoch))."""

    def __init__(self, name: str, verbose: int = 0):
        self.name = name
        self.verbose = verbose
        self.step: Any = None
        self.metrics: List[str] = []
        self.history: Dict[Step, Dict[str, float]] = {}

    def log(self, step: Step, **values: float) -> None:
        """Record ``values`` at ``step`` (new values overwrite old ones)."""
        if isinstance(step, list):
            step = tuple(step)
        if not isinstance(step, (int, tuple)) or isinstance(step, bool):
            raise bad_type("step", step, "an int or a tuple of ints")
        self.step = step
        self.metrics += [key for key in values if key not in self.metrics]
        record = self.history.setdefault(step, {})
        record.update({key: float(value) for key, value in values.items()})
        record[TIMESTAMP] = time.time()

    @property
    def steps(self) -> List[Step]:
        return list(self.history)

    def __getitem__(self, metric: str) -> Tuple[List[Step], np.ndarray]:
        steps = self.steps
        return steps, np.array([self.history[step].get(metric, np.nan)
                                for step in steps])

    def __len__(self) -> int:
        return len(self.history)

    def __repr__(self) -> str:
        header = ["step"] + self.metrics
        rows = [[repr(step)] + [f"{self.history[step].get(m, np.nan):.6g}"
                                for m in self.metrics] for step in self.steps]
        return "\n".join("  ".join(row) for row in [header] + rows)

    def summary(self) -> str:
        """One line with the last step's metrics (also logged)."""
        last = self.steps[-1]
        text = f"{self.name} {last!r} " + "  ".join(
            f"{key} {self.history[last][key]:.6g}" for key in self.metrics
            if key in self.history[last])
        logger.debug(text)
        return text

    def get_total_time(self) -> datetime.timedelta:
        stamps = [self.history[step][TIMESTAMP] for step in self.steps]
        return datetime.timedelta(seconds=stamps[-1] - stamps[0])

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "metrics": self.metrics,
                "history": [[list(step) if isinstance(step, tuple) else step,
                             values] for step, values in self.history.items()]}

    @classmethod
    def from_dict(cls, payload: Dict[str, Any]) -> "History":
        history = cls(payload["name"])
        history.metrics = list(payload["metrics"])
        for step, values in payload["history"]:
            step = tuple(step) if isinstance(step, list) else step
            # strict JSON wrote NaN/inf as null: read it back as NaN
            history.history[step] = {key: float("nan") if value is None
                                     else value
                                     for key, value in values.items()}
            history.step = step
        return history

    def save(self, outdir: Union[str, Path], fold: int, epoch: int) -> Path:
        """Write ``<outdir>/<name>_<fold>_epoch_<epoch>.json`` atomically."""
        path = Path(outdir) / f"{self.name}_{fold}_epoch_{epoch}.json"
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, file_name: Union[str, Path]) -> "History":
        with open(file_name) as handle:
            return cls.from_dict(json.load(handle))
