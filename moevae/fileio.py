"""Atomic file writes: a kill at any instant leaves the old file or the new.

Every file moevae writes (dataset cache, checkpoints, histories, reports)
goes through :func:`atomic_write`: the data go to a temporary file in the
same directory, are flushed and fsync'ed, then renamed over the target, and
the directory is fsync'ed so the rename itself survives a power cut.
:func:`read_json` reads such files back, or says in one line why not.
"""
import contextlib
import json
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


def write_json(path: PathLike, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
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
        reason = "a Python pickle (pynet's format; moevae never unpickles: " \
                 "it could run code)"
    else:
        try:
            payload = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            reason = "not UTF-8 text"
        except json.JSONDecodeError as error:
            reason = f"not complete JSON ({error.msg} at line " \
                     f"{error.lineno} column {error.colno})"
        else:
            if kind is None or isinstance(payload, kind):
                return payload
            reason = f"a JSON {type(payload).__name__}"
    raise DataError(f"{path}: {reason}; expected {expected}")
