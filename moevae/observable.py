"""Observers: pynet's observable pattern with a declared set of signals.

``add_observer(signal, callback)`` accepts a :class:`Signal` or pynet's
string (``"after_epoch"``), rejects unknown signals and callbacks that
cannot take one argument at registration, and returns a
:class:`RemovableHandle`. Each callback receives a :class:`SignalObject`
carrying ``object`` (the notifier), ``signal``, ``keys`` and one attribute
per notified value (``epoch``, ``fold``, ``loss``, each loss component...).

A callback that raises is logged once (with its traceback) and skipped
afterwards for that signal's later failures too, so a broken plot never
stops training; signals whose results feed the loss (``regularizer``) are
notified with ``strict=True`` and let errors through.
"""
import enum
import inspect
import logging
from typing import Any, Callable, Dict, Iterable, List, Set, Union

from .errors import bad_type, bad_value

logger = logging.getLogger("moevae")
Observer = Callable[["SignalObject"], Any]


class Signal(str, enum.Enum):
    """The signals a training interface emits."""
    BEFORE_EPOCH = "before_epoch"
    AFTER_EPOCH = "after_epoch"
    BEFORE_BATCH = "before_batch"
    AFTER_BATCH = "after_batch"
    REGULARIZER = "regularizer"
    AFTER_TRAINING = "after_training"


class SignalObject:
    """What an observer receives: the notifier and the notified values."""

    def __init__(self, **values: Any):
        self.keys: List[str] = [key for key in values
                                if key not in ("object", "signal")]
        for name, value in values.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={getattr(self, key)!r}"
                           for key in ["signal"] + self.keys)
        return f"SignalObject({fields})"


class RemovableHandle:
    """Returned by add_observer; ``remove()`` (or a with-block) detaches."""

    def __init__(self, observable: "Observable", signal: Signal,
                 observer: Observer):
        self.observable, self.signal, self.observer = \
            observable, signal, observer

    def remove(self) -> None:
        self.observable.remove_observer(self.signal, self.observer)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


class Observable:
    """Base class of objects that notify observers of declared signals."""

    def __init__(self, signals: Iterable[Union[str, Signal]]):
        self._observers: Dict[Signal, List[Observer]] = {
            self._as_signal(signal, list(Signal)): [] for signal in signals}
        self._failed: Set[int] = set()
        self._locked = False

    @property
    def allowed_signals(self) -> List[str]:
        return [signal.value for signal in self._observers]

    def _as_signal(self, signal: Union[str, Signal],
                   allowed: Iterable[Signal]) -> Signal:
        allowed = list(allowed)
        try:
            converted = Signal(signal)
        except ValueError:
            converted = None
        if converted not in allowed:
            raise bad_value("signal", signal, "one of " + ", ".join(
                repr(item.value) for item in allowed))
        return converted

    def add_observer(self, signal: Union[str, Signal],
                     observer: Observer) -> RemovableHandle:
        """Call ``observer(signal_object)`` each time ``signal`` is emitted."""
        signal = self._as_signal(signal, self._observers)
        _check_observer(observer)
        if observer not in self._observers[signal]:
            self._observers[signal].append(observer)
        return RemovableHandle(self, signal, observer)

    def remove_observer(self, signal: Union[str, Signal],
                        observer: Observer) -> None:
        signal = self._as_signal(signal, self._observers)
        if observer in self._observers[signal]:
            self._observers[signal].remove(observer)

    def has_observers(self, signal: Union[str, Signal]) -> bool:
        return bool(self._observers.get(Signal(signal)))

    def notify_observers(self, signal: Union[str, Signal], strict: bool = False,
                         **values: Any) -> List[Any]:
        """Call the observers of ``signal``; return their non-None results."""
        signal = self._as_signal(signal, self._observers)
        if self._locked or not self._observers[signal]:
            return []
        self._locked = True
        try:
            message = SignalObject(object=self, signal=signal.value, **values)
            return [result for result in (
                self._call(observer, message, strict)
                for observer in list(self._observers[signal]))
                if result is not None]
        finally:
            self._locked = False

    def _call(self, observer: Observer, message: SignalObject,
              strict: bool) -> Any:
        try:
            return observer(message)
        except Exception:
            if strict:
                raise
            key = id(observer)
            if key not in self._failed:
                self._failed.add(key)
                logger.exception(
                    "observer %s failed on %r; training goes on (further "
                    "failures of this observer are not logged)",
                    getattr(observer, "__qualname__", observer),
                    message.signal)
            return None


def _check_observer(observer: Any) -> None:
    if not callable(observer):
        raise bad_type("observer", observer,
                       "a callable taking one SignalObject")
    try:
        inspect.signature(observer).bind(None)
    except TypeError:
        raise bad_value("observer", observer, "a callable that accepts one "
                        "positional argument (the SignalObject)") from None
    except ValueError:  # builtins without a signature: accept
        pass
