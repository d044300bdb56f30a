"""argparse with one-line errors: ``prog: error: ...``, exit status 2."""
import argparse
import difflib
import re
import sys
import textwrap
from typing import Any, Dict, List, NamedTuple, NoReturn, Optional


class BoardAddress(NamedTuple):
    """Where the board's server is; ``auto``: start one there if needed."""
    host: str
    port: int
    auto: bool = False


DEFAULT_BOARD = BoardAddress("http://localhost", 8097, auto=True)


class WholeNamesFormatter(argparse.HelpFormatter):
    """argparse's help layout, without breaking a line inside a hyphenated
    word: a recipe or flag name copied from the help stays whole."""

    def _split_lines(self, text: str, width: int) -> List[str]:
        return textwrap.wrap(" ".join(text.split()), width,
                             break_on_hyphens=False)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, without the usage.

    Its help is plain text: the reStructuredText double backticks of the
    docstrings it is built from are removed; hyphenated names stay whole.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", WholeNamesFormatter)
        super().__init__(*args, **kwargs)

    def format_help(self) -> str:
        return super().format_help().replace("``", "")

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            message = self.unrecognized(message.split(": ", 1)[1].split())
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)

    def unrecognized(self, words: List[str]) -> str:
        """"unknown option --epcohs; did you mean --epochs?" for each
        unknown flag (its nearest spelling, if any is close)."""
        flags = [flag for action in self._actions
                 for flag in action.option_strings if flag.startswith("--")]
        parts, after_flag = [], False
        for word in words:
            if not word.startswith("-"):  # an unknown flag's value: skipped
                if not after_flag:
                    parts.append(f"unexpected argument {word!r}")
                after_flag = False
                continue
            after_flag = "=" not in word
            name = word.split("=", 1)[0]
            near = difflib.get_close_matches(name, flags, n=1, cutoff=0.6)
            parts.append(f"unknown option {name}" + (
                f"; did you mean {near[0]}?" if near else ""))
        return "; ".join(parts)


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number (expected 1-65535)") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is out of range "
                                         "(expected 1-65535)")
    return port


def running_server(text: str) -> BoardAddress:
    """argparse type for a server that must already run: an http URL."""
    expected = "a server URL such as http://localhost:8097"
    if text in ("auto", "off"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected {expected} (this command starts no server: "
            "run `moevae board` first)")
    try:
        address = board_address(text)
    except argparse.ArgumentTypeError:
        address = None
    if address is None:
        from ..server.address import masked_url
        raise argparse.ArgumentTypeError(
            f"{masked_url(text)!r}: expected {expected}")
    return address._replace(auto=False)


def env_name(text: str) -> str:
    """argparse type: a name a Visdom environment (and its page) can take."""
    from ..errors import MoEVAEValueError
    from ..server.names import check_env_name
    try:
        name = check_env_name(text, "name")
    except MoEVAEValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if name == "main":
        raise argparse.ArgumentTypeError(
            "name='main': expected another name (the board's first page, "
            "main, lists the runs)")
    return name


def board_address(text: str) -> Optional[BoardAddress]:
    """'auto' -> the default address, 'off' -> None, else an http URL."""
    if text == "auto":
        return DEFAULT_BOARD
    if text == "off":
        return None
    from ..errors import MoEVAEValueError
    from ..server.address import parse_server_url
    try:
        address = parse_server_url(text, name="board")
    except MoEVAEValueError as error:
        shown, _, detail = str(error).partition(": expected ")
        raise argparse.ArgumentTypeError(
            f"{shown.split('=', 1)[1]}: expected auto, off or "
            f"{detail.replace('an http(s) URL', 'a URL')}"
        ) from None
    return BoardAddress(address.host_part, address.port)


def integer_in_range(minimum: int, maximum: Optional[int] = None):
    """argparse type: an integer from ``minimum`` to ``maximum`` (if any)."""
    expected = (f"an integer >= {minimum}" if maximum is None else
        f"an integer from {minimum} to {maximum}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (
                maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}")
        return value
    return parse


def flag_message(message: str, flags: Dict[str, str]) -> str:
    """A library error ``nb_epochs=1: expected ...`` in the words of the
    command line: ``argument --epochs: 1: expected ...`` (``flags`` maps
    the library's parameter names to the flags)."""
    match = re.match(r"(?:resume: )?(\w+)=", message)
    if match and match.group(1) in flags:
        return f"argument {flags[match.group(1)]}: {message[match.end():]}"
    return message
