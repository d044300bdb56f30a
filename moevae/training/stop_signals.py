"""SIGINT/SIGTERM during training: finish the step, checkpoint, stop.

:class:`StopSignals` is a context manager that replaces the handlers of
SIGINT and SIGTERM while training runs and puts the previous ones back when
it ends. The first signal only records a request (the loop checks
``requested`` after each batch); a second one gets the previous handler,
so pressing Ctrl-C twice stops at once. Outside the main thread (where
Python cannot install handlers) nothing is replaced.
"""
import signal
import threading
from typing import Any, Dict, Optional

import torch

from .distributed import Distributed

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
AGREE_EVERY = 10  # batches between two agreements of the ranks on a stop


class StopSignals:
    """Records a SIGINT/SIGTERM while training runs (see module doc)."""

    def __init__(self) -> None:
        self.signal_number: Optional[int] = None
        self._previous: Dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_number is not None

    @property
    def name(self) -> str:
        """The signal's name ('SIGINT'); '' when none was received."""
        if self.signal_number is None:
            return ""
        return signal.Signals(self.signal_number).name

    def agreed(self, distributed: Distributed, device: torch.device,
               batches: int, at_end: bool = False) -> bool:
        """A stop request, after ``batches`` steps; under torchrun every
        rank stops at the same batch (the ranks agree every AGREE_EVERY
        batches and at the epoch end, one all-reduce, as torchrun signals
        every rank)."""
        if not distributed.active:
            return self.requested
        if batches % AGREE_EVERY and not at_end:
            return False
        if distributed.any(self.requested, device):
            self.signal_number = self.signal_number or signal.SIGTERM
            return True
        return False

    def _request(self, number: int, frame: Any) -> None:
        self.signal_number = number
        for other, handler in self._previous.items():
            signal.signal(other, handler)  # a second signal stops at once

    def __enter__(self) -> "StopSignals":
        self.signal_number = None
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.getsignal(number)
                              for number in STOP_SIGNALS}
            for number in STOP_SIGNALS:
                signal.signal(number, self._request)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
