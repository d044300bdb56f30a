"""Observers: pynet's observable pattern with a declared set of signals.

``add_observer(signal, callback)`` accepts a :class:`Signal` or pynet's
string (``"after_epoch"``), rejects unknown signals and callbacks that
cannot take one argument at registration, and returns a
:class:`RemovableHandle`. Each callback receives a :class:`SignalObject`
carrying ``object`` (the notifier), ``signal``, ``keys`` and one attribute
per notified value (``epoch``, ``fold``, ``loss``, each loss component...).

Two kinds of observers, as in pynet's use of them:

- callbacks that change training (a loss's ``set_epoch``, a schedule, a
  regularizer): an exception stops training, as any error in the loop does;
- side effects (plotting, logging), registered with ``side_effect=True`` or
  carrying a true ``side_effect`` attribute (moevae's plotting observers
  do): an exception is logged once, with its traceback, and training goes
  on.

Every observer runs inside :meth:`Observable.observer_guard`, which a
training interface uses to put back what an observer may change by
accident (the model's train/eval mode, the random streams, the grad mode),
except one registered with ``side_effect=False``: a callback that declares
it changes training keeps whatever it changes (e.g. reseeding).
"""
import contextlib
import enum
import inspect
import logging
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    Iterable,
    List,
    Optional,
    Set,
    Tuple,
    Union,
)

from .errors import bad_type, bad_value

logger = logging.getLogger("moevae")
Observer = Callable[["SignalObject"], Any]


def side_effect(observer: Observer) -> Observer:
    """Mark a function as a side-effect observer (see the module doc)."""
    setattr(observer, "side_effect", True)  # noqa: B010 (a function's attribute)
    return observer


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
    object: Any  # the notifier (a DeepLearningInterface)
    signal: str  # the signal's value, e.g. "after_epoch"

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
        self.observable, self.signal, self.observer = (
            observable, signal, observer)

    def remove(self) -> None:
        self.observable.remove_observer(self.signal, self.observer)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


class Observable:
    """Base class of objects that notify observers of declared signals."""

    def __init__(self, signals: Iterable[Union[str, Signal]]):
        self._observers: Dict[Signal, List[Tuple[Observer,
                                                  Optional[bool]]]] = {
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

    def add_observer(self, signal: Union[str, Signal], observer: Observer,
                     side_effect: Optional[bool] = None) -> RemovableHandle:
        """Call ``observer(signal_object)`` each time ``signal`` is emitted.

        ``side_effect``: True for plotting/logging observers whose errors
        are logged once while training goes on; False for callbacks that
        change training on purpose: errors stop training and nothing they
        change is put back; None (default) reads the observer's
        ``side_effect`` attribute, else errors stop training and shared
        state is put back (see the module doc).
        """
        signal = self._as_signal(signal, self._observers)
        _check_observer(observer)
        if side_effect is None:
            side_effect = getattr(observer, "side_effect", None)
        if side_effect is not None and not isinstance(side_effect, bool):
            raise bad_type("side_effect", side_effect, "None, True or False")
        entries = self._observers[signal]
        if all(entry != observer for entry, _ in entries):
            entries.append((observer, side_effect))
        return RemovableHandle(self, signal, observer)

    def remove_observer(self, signal: Union[str, Signal],
                        observer: Observer) -> None:
        signal = self._as_signal(signal, self._observers)
        self._observers[signal] = [entry for entry in self._observers[signal]
                                   if entry[0] != observer]

    def has_observers(self, signal: Union[str, Signal]) -> bool:
        return bool(self._observers.get(Signal(signal)))

    @property
    def runs_side_effects(self) -> bool:
        """False where side-effect observers must not run (ranks > 0)."""
        return True

    def observer_guard(self) -> ContextManager[Any]:
        """The context every observer runs in (nothing here; a training
        interface puts back model mode, RNG and grad mode)."""
        return contextlib.nullcontext()

    def notify_observers(self, signal: Union[str, Signal], strict: bool = False,
                         **values: Any) -> List[Any]:
        """Call the observers of ``signal``; return their non-None results.

        ``strict=True`` lets every observer's error through (signals whose
        results feed the loss).
        """
        signal = self._as_signal(signal, self._observers)
        if self._locked or not self._observers[signal]:
            return []
        self._locked = True
        try:
            message = SignalObject(object=self, signal=signal.value, **values)
            return [result for result in (
                self._call(observer, message, strict or not side,
                           guarded=side is not False)
                for observer, side in list(self._observers[signal])
                if self.runs_side_effects or not side)
                if result is not None]
        finally:
            self._locked = False

    def _call(self, observer: Observer, message: SignalObject,
              strict: bool, guarded: bool = True) -> Any:
        try:
            with (self.observer_guard() if guarded else
                    contextlib.nullcontext()):
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
