"""The errors moevae raises for bad input: one line, naming the bad value.

Every error is a :class:`MoEVAEError`, so callers can catch them all at once,
and also a ``ValueError`` or ``TypeError`` so code written for pynet, which
raised the builtin types, keeps working.
"""
from typing import Any


class MoEVAEError(Exception):
    """Base class of every error moevae raises on purpose."""


class MoEVAEValueError(MoEVAEError, ValueError):
    """A value has the right type but is out of range, malformed or missing."""


class MoEVAETypeError(MoEVAEError, TypeError):
    """A value has the wrong type."""


class DataError(MoEVAEValueError):
    """A data file or array is missing, truncated or of the wrong shape."""


class CheckpointError(MoEVAEValueError):
    """A checkpoint cannot be read or does not match the model."""


class CheckpointWriteError(MoEVAEError, OSError):
    """A checkpoint could not be written (disk full, read-only folder)."""


class NonFiniteLossError(MoEVAEError, ArithmeticError):
    """Training met a NaN or infinite loss."""


def bad_value(name: str, value: Any, expected: str) -> MoEVAEValueError:
    """Build the one-line error for ``name=value`` when ``expected`` held."""
    return MoEVAEValueError(f"{name}={value!r}: expected {expected}")


def bad_type(name: str, value: Any, expected: str) -> MoEVAETypeError:
    """Build the one-line error for a value of the wrong type."""
    return MoEVAETypeError(
        f"{name}={short_repr(value)} ({type(value).__name__}): "
        f"expected {expected}")


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_type(name, value, f"an integer >= {minimum}")
    if value < minimum:
        raise bad_value(name, value, f"an integer >= {minimum}")
    return value


def check_fraction(name: str, value: Any, low_open: bool = False) -> float:
    """Return ``value`` if it is a number in [0, 1] ((0, 1] if low_open)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_type(name, value, "a number between 0 and 1")
    low_ok = value > 0 if low_open else value >= 0
    if not (low_ok and value <= 1):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise bad_value(name, value, f"a number in {interval}")
    return float(value)


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM stopped training after a step; says how to resume."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number
