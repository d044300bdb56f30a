"""The ``moevae`` command: train, board, assets, replay, evaluate, sample,
predict.

Each subcommand's module is imported only when used, so ``moevae board``
starts without importing torch. While a command runs, warnings print as one
line (``moevae: warning: ...``), without Python's source path and code line;
the previous warning display is restored when it returns.
"""
import importlib
import sys
import warnings
from typing import List, Optional

COMMANDS = {
    "train": ("moevae.cli.train", "train the MoE VAE with a live board"),
    "board": ("moevae.server.command", "start the offline Visdom server"),
    "assets": ("moevae.server.assets", "install the board's front-end files"),
    "replay": ("moevae.cli.replay", "rebuild a board from an offline log"),
    "evaluate": ("moevae.cli.evaluate", "clustering metrics of a checkpoint"),
    "sample": ("moevae.cli.sample", "new images from each expert, as a PNG"),
    "predict": ("moevae.cli.predict", "each image's expert, as a CSV"),
}
USAGE = ("usage: moevae {" + ",".join(COMMANDS) + "} [options]  (moevae "
    "COMMAND --help for each; moevae --version)")


def one_line_warning(message, category, filename, lineno, file=None,
                     line=None) -> None:
    """``warnings.showwarning`` for a command line: the message, one line."""
    text = " ".join(str(message).split())
    print(f"moevae: warning: {text}", file=file or sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        stream = sys.stdout if argv else sys.stderr  # no command: an error
        print(USAGE, file=stream)
        for name, (_, summary) in COMMANDS.items():
            print(f"  {name:9s} {summary}", file=stream)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from .. import __version__
        print(f"moevae {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"moevae: error: unknown command {argv[0]!r}; expected one of "
              f"{', '.join(COMMANDS)} (or --help, --version)",
              file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = one_line_warning
        try:
            module = importlib.import_module(COMMANDS[argv[0]][0])
            return module.main(argv[1:])
        except KeyboardInterrupt:  # Ctrl-C: one line, the shell's 130
            print(f"moevae {argv[0]}: interrupted", file=sys.stderr)
            return 130
        except OSError as error:  # a full disk, an unwritable output
            print(f"moevae {argv[0]}: failed: {os_error_text(error)}",
                  file=sys.stderr)
            return 1


def os_error_text(error: OSError) -> str:
    """One line for an OSError: what failed, on which file."""
    text = error.strerror or str(error) or type(error).__name__
    names = [name for name in (error.filename, error.filename2) if name]
    return f"{text}: {' -> '.join(map(str, names))}" if names else text


if __name__ == "__main__":
    sys.exit(main())
