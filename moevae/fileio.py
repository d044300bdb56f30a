"""Atomic file writes: a kill at any instant leaves the old file or the new.

Every file moevae writes (dataset cache, checkpoints, histories, reports)
goes through :func:`atomic_write`: the data go to a temporary file in the
same directory, are flushed and fsync'ed, then renamed over the target, and
the directory is fsync'ed so the rename itself survives a power cut.
:func:`read_json` reads such files back, or says in one line why not.

JSON written here (and sent to the board) is strict JSON (RFC 8259): a NaN
or an infinity, which Python's ``json`` would write as the non-standard
tokens ``NaN``/``Infinity``, becomes ``null`` (see :func:`strict_json`).
"""
import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional, Union

from .errors import DataError

PathLike = Union[str, "os.PathLike[str]"]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block ends.

    If the block raises (disk full, bad data, KeyboardInterrupt), the
    temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(tmp_name, FILE_MODE)
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_directory(target.parent)


def fsync_directory(directory: PathLike) -> None:
    """Flush a directory entry to disk (a no-op where not supported)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_save(path: PathLike, writer: Callable[[IO], Any]) -> Path:
    """Write ``path`` atomically with ``writer(handle)``; return the path."""
    with atomic_write(path) as handle:
        writer(handle)
    return Path(path)


def strict_json(value: Any) -> Any:
    """A copy of ``value`` that strict JSON can encode.

    Non-finite floats (NaN, +-inf, also as numpy scalars or array items)
    become None (JSON ``null``, a gap in a plot); numpy scalars and arrays
    become Python numbers and lists; tuples become lists; dict keys must be
    strings or numbers (written as strings, as ``json`` does).

    Raises TypeError naming the first value JSON cannot hold (bytes, sets,
    objects).
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dict):
        return {_json_key(key): strict_json(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return strict_json(value.tolist())  # numpy scalars and arrays
    raise TypeError(f"{type(value).__name__} value {value!r:.60} is not "
                    "JSON (expected numbers, strings, lists and dicts)")


def _json_key(key: Any) -> Any:
    if isinstance(key, (str, int, float, bool)) or key is None:
        return key
    raise TypeError(f"dict key {key!r:.60} ({type(key).__name__}) is not "
                    "JSON (expected a string)")


def dumps_strict(value: Any, **options: Any) -> str:
    """``json.dumps`` of :func:`strict_json` (``allow_nan=False``)."""
    return json.dumps(strict_json(value), allow_nan=False, **options)


def write_json(path: PathLike, payload: Any) -> Path:
    """Write ``payload`` as indented strict JSON (NaN/inf -> null),
    atomically."""
    text = dumps_strict(payload, indent=2, sort_keys=True) + "\n"
    return atomic_save(path, lambda handle: handle.write(text.encode()))


def read_json(path: PathLike, expected: str,
              kind: Optional[type] = None) -> Any:
    """The parsed JSON of ``path`` (of Python type ``kind`` if given).

    Raises DataError, one line naming the file, why it cannot be read
    (empty, a pickle, not text, JSON cut short, another JSON type) and
    ``expected``; FileNotFoundError if there is no file.
    """
    data = Path(path).read_bytes()
    if not data:
        reason = "empty (0 bytes)"
    elif data[:1] == b"\x80":
        reason = ("a Python pickle (pynet's format; moevae never unpickles: "
                 "it could run code)")
    else:
        try:
            payload = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            reason = "not UTF-8 text"
        except json.JSONDecodeError as error:
            reason = (f"not complete JSON ({error.msg} at line "
                     f"{error.lineno} column {error.colno})")
        else:
            if kind is None or isinstance(payload, kind):
                return payload
            reason = f"a JSON {type(payload).__name__}"
    raise DataError(f"{path}: {reason}; expected {expected}")
