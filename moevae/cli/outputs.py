"""Output files of the model-using commands, checked before any work.

An output path is refused at once (one line, exit 2) when it names a
folder, has the wrong suffix or is one of the command's inputs; its parent
folders are created only when the results are ready, so a refused input
leaves nothing on disk. The outputs of one command are replaced together
(:func:`atomic_outputs`): a failed write leaves every old file as it was.
"""
import contextlib
import os
import sys
from pathlib import Path
from typing import IO, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type

from ..errors import MoEVAEError, bad_value
from ..fileio import atomic_write


class OutputWriteError(OSError):
    """The outputs could not be written (disk full, read-only folder)."""


def check_output(option: str, path: Path, suffix: Optional[str] = None,
                 inputs: Sequence[Path] = ()) -> Path:
    """``path`` if it can be an output file, else raise MoEVAEValueError.

    ``inputs``: files the command reads, which it must never overwrite.
    """
    if path.is_dir():
        raise bad_value(option, str(path), "a file name, not a folder")
    if path.exists() and not path.is_file():  # a device, a pipe, a socket
        raise bad_value(option, str(path), "a regular file (it would be "
                        "replaced, not written to)")
    if suffix and path.suffix.lower() != suffix:
        raise bad_value(option, str(path), f"a file name ending in {suffix}")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise bad_value(option, str(path), f"a path whose parent {parent}"
                            " is a folder, not a file")
    if path.exists() and any(source.is_file() and path.samefile(source)
                             for source in inputs):
        raise bad_value(option, str(path), "another file than the input it "
                        "would overwrite")
    return path


def make_parent(option: str, path: Path) -> None:
    """Create the folders above ``path``; raise MoEVAEValueError if not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise bad_value(option, str(path), "a path whose folder can be "
                        f"created ({error.strerror or error})") from None


@contextlib.contextmanager
def atomic_outputs(option: str, paths: Sequence[Path]
                   ) -> Iterator[List[IO]]:
    """Binary handles for ``paths``; all replace their files when the block
    ends, none if it raises (OutputWriteError for an OSError)."""
    for path in paths:
        make_parent(option, path)
    try:
        with contextlib.ExitStack() as stack:
            handles = [stack.enter_context(atomic_write(path))
                       for path in paths]
            yield handles
            for handle in handles:  # all data on disk before any rename
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as error:
        names = ", ".join(str(path) for path in paths)
        raise OutputWriteError(f"cannot write {names}: "
                               f"{error.strerror or error}; the previous "
                               "files are kept") from None


def run_reporting_errors(
        prog: str, body: Callable[[], Optional[int]],
        flags: Optional[Dict[str, str]] = None,
        failures: Tuple[Type[BaseException], ...] = (OutputWriteError,)
) -> int:
    """Run ``body``: its exit status (0 if it returns None); bad input: one
    line, 2; one of ``failures`` (a failed write...): one line, 1.

    ``flags``: the library's parameter names and the flags that set them,
    so that an error names the flag the user typed.
    """
    from .parsing import flag_message
    try:
        code = body()
    except failures as error:
        print(f"{prog}: failed: {error}", file=sys.stderr)
        return 1
    except MoEVAEError as error:
        print(f"{prog}: error: {flag_message(str(error), flags or {})}",
              file=sys.stderr)
        return 2
    return code or 0
