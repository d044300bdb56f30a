"""Output files of the model-using commands, checked before any work.

An output path is refused at once (one line, exit 2) when it names a
folder or has the wrong suffix; its parent folders are created only when
the results are ready, so a refused input leaves nothing on disk.
"""
import sys
from pathlib import Path
from typing import Callable, Optional

from ..errors import MoEVAEError, bad_value


def check_output(option: str, path: Path, suffix: Optional[str] = None
                 ) -> Path:
    """``path`` if it can be an output file, else raise MoEVAEValueError."""
    if path.is_dir():
        raise bad_value(option, str(path), "a file name, not a folder")
    if suffix and path.suffix.lower() != suffix:
        raise bad_value(option, str(path), f"a file name ending in {suffix}")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise bad_value(option, str(path), f"a path whose parent {parent}"
                            " is a folder, not a file")
    return path


def make_parent(option: str, path: Path) -> None:
    """Create the folders above ``path``; raise MoEVAEValueError if not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise bad_value(option, str(path), "a path whose folder can be "
                        f"created ({error.strerror or error})") from None


def run_reporting_errors(prog: str, body: Callable[[], None]) -> int:
    """Run ``body``; bad input: one line, 2; a failed write: one line, 1."""
    try:
        body()
    except MoEVAEError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"{prog}: failed: {where}{error.strerror or error}",
              file=sys.stderr)
        return 1
    return 0
