"""What the documentation build needs beyond Sphinx's own extensions.

- :func:`parser`: the real ``argparse`` parser of each ``moevae`` command,
  for sphinx-argparse (the command modules build their parser inside
  ``main``; it is caught at ``parse_args`` instead of being duplicated).
- :func:`gallery_environment`: the short settings the gallery runs with
  (a few thousand of the shipped digits written as MNIST IDX files, one
  epoch, a board server of the build's own on a free port).
- :class:`StdoutLog`: moevae's log lines on the stdout that sphinx-gallery
  captures.
"""
import argparse
import contextlib
import gzip
import importlib
import logging
import os
import re
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np

IDX_TYPES = {np.dtype(np.uint8): 0x08}


class _Caught(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__(parser.prog)
        self.parser = parser


def parser(command: str) -> argparse.ArgumentParser:
    """The parser ``moevae COMMAND`` uses, built by the command itself, with
    the defaults a user sees: built without the build's own MOEVAE_*
    settings, the home folder written ``~``."""
    from moevae.cli import COMMANDS

    def catch(self, *args, **kwargs):
        raise _Caught(self)

    module = importlib.import_module(COMMANDS[command][0])
    original = argparse.ArgumentParser.parse_args
    saved = {key: os.environ.pop(key) for key in list(os.environ)
             if key.startswith("MOEVAE_")}
    argparse.ArgumentParser.parse_args = catch
    try:
        module.main(["--help"])
    except _Caught as caught:
        return _home_as_tilde(caught.parser)
    finally:
        argparse.ArgumentParser.parse_args = original
        os.environ.update(saved)
    raise RuntimeError(f"moevae {command}: no parser reached parse_args")


def _home_as_tilde(built: argparse.ArgumentParser
                   ) -> argparse.ArgumentParser:
    home = str(Path.home())
    for action in built._actions:
        if isinstance(action.default, Path) and str(
                action.default).startswith(home):
            action.default = Path("~" + str(action.default)[len(home):])
    return built


def _parser_function(command: str):
    def build() -> argparse.ArgumentParser:
        return parser(command)
    build.__name__ = f"{command}_parser"
    return build


train_parser = _parser_function("train")
board_parser = _parser_function("board")
assets_parser = _parser_function("assets")
replay_parser = _parser_function("replay")
evaluate_parser = _parser_function("evaluate")
sample_parser = _parser_function("sample")
predict_parser = _parser_function("predict")


def write_idx(path: Path, array: np.ndarray) -> None:
    """An array as an MNIST IDX file, gzip-compressed."""
    header = struct.pack(">HBB", 0, IDX_TYPES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def write_digits(folder: Path, count: int) -> Path:
    """The first ``count`` shipped digits as MNIST's training IDX files."""
    from moevae.datasets.mnist import IDX_NAMES, read_sample
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = read_sample()
    names = IDX_NAMES["train"]
    write_idx(folder / f"{names[0]}.gz", np.ascontiguousarray(images[:count]))
    write_idx(folder / f"{names[1]}.gz", np.ascontiguousarray(labels[:count]))
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BoardServer:
    """``moevae board`` on a free port with its own environment folder."""

    def __init__(self, env_path: Path):
        self.port = free_port()
        self.env_path = env_path
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 60.0) -> bool:
        # the server writes to its own copy of the file's descriptor
        with open(self.env_path.parent / "board.log", "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moevae", "board", "--port",
                 str(self.port), "--env-path", str(self.env_path)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=1):
                return True
            time.sleep(0.3)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def gallery_environment(work: Path) -> Dict[str, str]:
    """Set (unless already set) and return the gallery's short settings."""
    digits = int(os.environ.get("MOEVAE_DOCS_DIGITS", "1000"))
    settings = {
        "MOEVAE_EPOCHS": "1",
        "MOEVAE_DATASETDIR": str(write_digits(work / "mnist", digits)),
        "MOEVAE_RUNS": str(work / "runs"),
        "MOEVAE_KEEP_FREED_MEMORY": "0",
    }
    for key, value in settings.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in settings}


class StdoutLog(logging.StreamHandler):
    """A handler writing to whatever ``sys.stdout`` is when a record comes
    (sphinx-gallery swaps it while an example runs)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("moevae %(levelname)s "
                                            "%(message)s"))

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


GALLERY_ORDER = ["moe_vae.py", "observers.py", "resume.py", "clustering.py",
                 "conv_vae.py", "distributed.py"]


class GalleryOrder:
    """sphinx-gallery's ``within_subsection_order``: the reading order."""

    def __init__(self, src_dir: str):
        self.src_dir = src_dir

    def __call__(self, filename: str):
        if filename in GALLERY_ORDER:
            return (GALLERY_ORDER.index(filename), filename)
        return (len(GALLERY_ORDER), filename)


SECTION_NAMES = {"Parameters", "Returns", "Yields", "Raises", "Attributes",
                 "Examples", "Notes", "See Also", "Other Parameters",
                 "Warns"}
ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][\w.]*(?:, \*{0,2}[A-Za-z_][\w.]*)*)"
                   r":(?:\s+(.*))?$")


STAR = re.compile(r"(?<![\w`*\\])(\*\*?)(?=[A-Za-z_]\w*(?:[,)\s.]|$))")


def _escape_stars(line: str) -> str:
    """``*args``-like words outside literals are not emphasis."""
    parts = line.split("``")
    parts[::2] = [STAR.sub(lambda m: "\\" + "\\".join(m.group(1)), part)
                  for part in parts[::2]]
    return "``".join(parts)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def numpy_sections(app, what, name, obj, options, lines) -> None:
    """Read moevae's docstrings as they are written: numpy-like section
    titles (``Parameters``, ``Returns``...) with ``name: text`` entries and
    no types become a rubric and a list; a list that follows its paragraph
    without a blank line gets one; ``*args`` is no emphasis."""
    out, index, in_section = [], 0, False
    while index < len(lines):
        line = _escape_stars(lines[index])
        below = lines[index + 1] if index + 1 < len(lines) else ""
        if (line.strip() and below.strip() and set(below.strip()) == {"-"}
                and len(below.strip()) >= len(line.strip())
                and _indent(line) == _indent(below)):
            out += ["", f".. rubric:: {line.strip()}", ""]
            in_section, index = True, index + 2
            continue
        if in_section and line and not line[0].isspace():
            match = ENTRY.match(line)
            if match:
                names = ", ".join(f"``{part.strip().lstrip('*')}``"
                                  for part in match.group(1).split(","))
                out.append(f"- {names}: {match.group(2) or ''}".rstrip())
            else:
                out.append(f"- {line}")
            index += 1
            continue
        if in_section and line[:1].isspace():
            out.append("  " + line.strip())
            index += 1
            continue
        if not line.strip():
            in_section = False
        elif (line.lstrip().startswith("- ") and out and out[-1].strip()
                and not out[-1].lstrip().startswith("- ")
                and _indent(out[-1]) == _indent(line)):
            out.append("")
        out.append(line)
        index += 1
    lines[:] = out


def setup(app):
    app.connect("autodoc-process-docstring", numpy_sections)
    return {"parallel_read_safe": True}
