"""History: every loss component per (fold, epoch), as pynet records it.

Saved as strict JSON (not pickle, so loading a history never runs code;
a NaN or infinite value is written as ``null`` and read back as NaN); the
file name follows pynet's ``<name>_<fold>_epoch_<epoch>``. ``moevae train``
writes both histories of a run to ``history.json`` as
``{"train": history, "validation": history}``; :meth:`History.load` reads
either kind of file.
"""
import datetime
import logging
import numbers
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .errors import DataError, MoEVAEValueError, bad_type, bad_value, short_repr
from .fileio import read_json, write_json

logger = logging.getLogger("moevae")
Step = Union[int, Tuple[int, ...]]
TIMESTAMP = "__timestamp__"
EXPECTED_FILE = "the JSON that History.save or moevae train writes"


class History:
    """Metrics logged at steps (an int or a tuple such as (fold, epoch))."""

    def __init__(self, name: str, verbose: int = 0):
        self.name = name
        self.verbose = verbose
        self.step: Any = None
        self.metrics: List[str] = []
        self.history: Dict[Step, Dict[str, float]] = {}

    def log(self, step: Step, **values: float) -> None:
        """Record ``values`` at ``step`` (new values overwrite old ones).

        A value is a number or a 1-element tensor/array; anything else
        raises MoEVAEValueError naming the metric, and nothing is recorded.
        """
        if isinstance(step, list):
            step = tuple(step)
        if not isinstance(step, (int, tuple)) or isinstance(step, bool):
            raise bad_type("step", step, "an int or a tuple of ints")
        converted = {key: _as_float(key, value) for key, value in
                    values.items()}
        self.step = step
        self.metrics += [key for key in values if key not in self.metrics]
        record = self.history.setdefault(step, {})
        record.update(converted)
        record[TIMESTAMP] = time.time()

    @property
    def steps(self) -> List[Step]:
        return list(self.history)

    def __getitem__(self, metric: str) -> Tuple[List[Step], np.ndarray]:
        """(steps, float values; NaN where a step lacks the metric).

        Raises MoEVAEValueError for a metric never logged (a typo would
        otherwise give only NaN)."""
        if metric not in self.metrics:
            raise bad_value(f"{self.name} history metric", metric,
                            f"one of {self.metrics}")
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
        last = self._last_steps()[-1]
        text = f"{self.name} {last!r} " + "  ".join(
            f"{key} {self.history[last][key]:.6g}" for key in self.metrics
            if key in self.history[last])
        logger.debug(text)
        return text

    def _last_steps(self) -> List[Step]:
        if not self.history:
            raise MoEVAEValueError(f"the {self.name!r} history is empty: "
                                   "expected at least one logged step")
        return self.steps

    def get_total_time(self) -> datetime.timedelta:
        """Time between the first and the last logged step."""
        stamps = [self.history[step][TIMESTAMP]
                  for step in self._last_steps()]
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
        """Write ``<outdir>/<name>_<fold>_epoch_<epoch>.json`` atomically.

        Raises MoEVAEValueError, one line, for a name that is not a plain
        file name (holds a path separator or NUL), a fold or epoch that is
        not an integer, or an ``outdir`` that is not an existing folder;
        nothing is written then.
        """
        if not isinstance(self.name, str) or any(
                char in self.name for char in ("/", "\\", "\0")):
            raise bad_value("History name", self.name, "a plain file name "
                            "without '/' (save writes <outdir>/<name>_<fold>"
                            "_epoch_<epoch>.json)")
        for label, value in (("fold", fold), ("epoch", epoch)):
            if isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)):
                raise bad_type(label, value, "an integer")
        if not Path(outdir).is_dir():
            raise bad_value("outdir", str(outdir), "an existing folder")
        path = Path(outdir) / f"{self.name}_{fold}_epoch_{epoch}.json"
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, file_name: Union[str, Path],
             name: Optional[str] = None) -> "History":
        """Read a history from ``file_name``.

        The file is one history (:meth:`save`) or a run's ``history.json``
        (``{"train": ..., "validation": ...}``, from ``moevae train``), of
        which ``name`` picks one (default ``"train"``). For a one-history
        file a given ``name`` must be its name.

        Raises DataError (one line naming the file and the format expected)
        for anything else: pynet's pickles, a half-written file, other JSON;
        FileNotFoundError if there is no file.
        """
        payload = read_json(file_name, EXPECTED_FILE)
        if (isinstance(payload, dict) and "history" not in payload and
                all(isinstance(value, dict) for value in payload.values())):
            key = "train" if name is None else name
            if key not in payload:
                raise DataError(f"{file_name}: no {key!r} history (it holds "
                                f"{sorted(payload)}); expected "
                                f"{EXPECTED_FILE}")
            where, payload = f"{file_name}: {key!r}", payload[key]
        else:
            where = str(file_name)
        problem = _payload_problem(payload)
        if problem:
            raise DataError(f"{where}: {problem}; expected {EXPECTED_FILE}")
        if (name is not None and payload["name"] != name and
                where == str(file_name)):
            raise DataError(f"{file_name}: holds the history "
                            f"{payload['name']!r}, not {name!r}")
        return cls.from_dict(payload)


def _as_float(metric: str, value: Any) -> float:
    """``value`` (a number, 1-element tensor or array) as a float."""
    try:
        if hasattr(value, "numel") and value.numel() == 1:  # torch.Tensor
            return float(value.item())
        if isinstance(value, np.ndarray) and value.size == 1:
            return float(value.reshape(()))
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        raise bad_value(f"metric {metric!r}", short_repr(value),
                        "a number or a 1-element tensor or array") from None


def _payload_problem(payload: Any) -> Optional[str]:
    """Why ``payload`` is no :meth:`History.to_dict` dict (None if it is)."""
    if not isinstance(payload, dict):
        return f"a JSON {type(payload).__name__.replace('dict', 'object')}"
    for key, kind in (("name", str), ("metrics", list), ("history", list)):
        if not isinstance(payload.get(key), kind):
            return f"no {key!r} {kind.__name__}"
    for entry in payload["history"]:
        if not (isinstance(entry, list) and len(entry) == 2):
            return f"history entry {entry!r} is not [step, values]"
        step, values = entry
        steps = step if isinstance(step, list) else [step]
        if not all(isinstance(part, int) and not isinstance(part, bool)
                   for part in steps):
            return f"step {step!r} is not an int or a list of ints"
        if not isinstance(values, dict) or not all(
                value is None or isinstance(value, numbers.Real)
                for value in values.values()):  # null: a NaN written strictly
            return (f"step {step!r}: values {values!r} are not "
                   "{metric: number}")
    return None
