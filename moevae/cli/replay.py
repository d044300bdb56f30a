"""``moevae replay LOG``: rebuild a board from a run's offline event log.

The log is JSON lines in visdom's own log format, ``[endpoint, message]``
(also readable by ``visdom.Visdom.replay_log``). Windows are redrawn as the
run left them: each window's latest content with all its appended points.
"""
import json
import sys
from pathlib import Path
from typing import List, Optional

from ..argparsing import BoardAddress, OneLineParser, board_address, \
    env_name
from ..plotting.journal import Journal
from ..plotting.transport import RequestRefused, Transport, TransportError


def read_log(path: Path) -> Journal:
    """Every window of the log; raise ValueError naming a bad line."""
    journal = Journal()
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                endpoint, message = json.loads(line)
                assert isinstance(endpoint, str) and isinstance(message, dict)
            except (ValueError, TypeError, AssertionError):
                raise ValueError(f"{path}:{number}: not a visdom log line "
                                 "([endpoint, message] as JSON)") from None
            journal.record(endpoint, message)
    return journal


def replay(journal: Journal, address: BoardAddress,
           env: Optional[str] = None) -> int:
    """Post the windows to the server; return how many were drawn."""
    journal.redraw(Transport(address.host, address.port),
                   [env] if env else journal.envs(), env)
    return len(journal.windows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = OneLineParser(prog="moevae replay", description=__doc__.split(
        "\n")[0])
    parser.add_argument("log", type=Path, help="a run's board.jsonl")
    parser.add_argument("--board", type=board_address, default="auto",
                        metavar="URL", help="Visdom server (default "
                        "http://localhost:8097)")
    parser.add_argument("--env", type=env_name, help="draw into this "
                        "environment instead of the logged one")
    args = parser.parse_args(argv)
    if args.board is None:
        parser.error("argument --board: off: expected a server URL")
    if not args.log.is_file():
        parser.error(f"argument log: {args.log}: no such file")
    try:
        journal = read_log(args.log)
        count = replay(journal, args.board, args.env)
    except ValueError as error:
        print(f"moevae replay: error: {error}", file=sys.stderr)
        return 2
    except RequestRefused as error:
        print(f"moevae replay: failed: the Visdom server refused a request "
              f"({error})", file=sys.stderr)
        return 1
    except TransportError as error:
        host, port, _ = args.board
        print(f"moevae replay: failed: the Visdom server at {host}:{port} "
              f"does not answer ({error})", file=sys.stderr)
        return 1
    envs = ", ".join([args.env] if args.env else journal.envs())
    print(f"moevae replay: {count} windows drawn in {envs}")
    return 0
