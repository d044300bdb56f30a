"""``moevae replay LOG``: rebuild a board from a run's offline event log.

LOG is a run's ``board.jsonl``, or the run's folder (``runs/<name>``, or
its ``checkpoints/``) that holds it.

The log is JSON lines in visdom's own log format, ``[endpoint, message]``
(also readable by ``visdom.Visdom.replay_log``). Windows are redrawn as the
run left them: each window's latest content with all its appended points.
A run that crashed may leave its last line cut short: unreadable lines are
skipped, named in one warning, and the rest is drawn.
"""
import sys
from pathlib import Path
from typing import List, Optional, Tuple
from urllib.parse import quote

from ..plotting.journal import Journal, read_log, skipped_warning
from ..plotting.transport import RequestRefused, Transport, TransportError
from .parsing import BoardAddress, OneLineParser, env_name, running_server

LOG_NAME = "board.jsonl"  # in a run folder, as ``moevae train`` writes it


def replay(journal: Journal, address: BoardAddress,
           env: Optional[str] = None) -> Tuple[int, List[str]]:
    """Post the windows to the server: (how many were drawn, the windows
    the server refused). Raises TransportError if the server does not
    answer (or refuses every window)."""
    transport = Transport(address.host, address.port)
    for name in [env] if env else journal.envs():
        transport.post(f"env/{name}", {"eid": name})
        transport.post("close", {"win": None, "eid": name})
    drawn, refused, error = 0, [], None
    for (_, window), messages in journal.window_messages():
        try:
            for endpoint, message in messages:
                transport.post(endpoint, dict(message, eid=env) if env
                               else message)
        except RequestRefused as failure:  # (no answer: raised as it is)
            refused.append(str(window))
            error = error or failure
            continue
        drawn += 1
    if refused and not drawn and error is not None:
        raise error
    return drawn, refused


def main(argv: Optional[List[str]] = None) -> int:
    parser = OneLineParser(prog="moevae replay", description=__doc__.split(
        "\n")[0])
    parser.add_argument("log", type=Path, help="a run's board.jsonl, or "
                        "the run's folder")
    parser.add_argument("--board", type=running_server,
                        default="http://localhost:8097", metavar="URL",
                        help="a running Visdom server (default %(default)s)")
    parser.add_argument("--env", type=env_name, help="draw into this "
                        "environment instead of the logged one")
    args = parser.parse_args(argv)
    args.log = board_log(parser, args.log)
    try:
        journal, skipped = read_log(args.log)
    except (ValueError, OSError) as error:
        print(f"moevae replay: error: {error}", file=sys.stderr)
        return 2
    if skipped:
        print(f"moevae replay: warning: {skipped_warning(args.log, skipped)}",
              file=sys.stderr)
    try:
        count, refused = replay(journal, args.board, args.env)
    except TransportError as error:
        where = transport_url(args.board)
        if isinstance(error, RequestRefused):
            how = f"refuses every window ({error})"
        else:
            how = (f"does not answer ({error}): start one with `moevae "
                   f"board --port {args.board.port}`, then replay again")
        print(f"moevae replay: failed: the Visdom server at {where} {how}",
              file=sys.stderr)
        return 1
    if refused:
        print(f"moevae replay: warning: the server refused {len(refused)} "
              f"window(s): {', '.join(refused[:10])}", file=sys.stderr)
    where = transport_url(args.board)
    pages = " ".join(f"{where}/env/{quote(name, safe='')}"
                     for name in ([args.env] if args.env else journal.envs()))
    print(f"moevae replay: {count} windows drawn: {pages}")
    return 0


def board_log(parser: OneLineParser, path: Path) -> Path:
    """The log that LOG names: the file itself, or the board.jsonl of a
    run folder or of the folder above its checkpoints."""
    if path.is_file():
        return path
    if not path.is_dir():
        parser.error(f"argument log: {path}: no such file or folder")
    for folder in (path, path.parent):
        if (folder / LOG_NAME).is_file():
            return folder / LOG_NAME
    parser.error(f"argument log: {path}: a folder without {LOG_NAME}; "
                 f"expected a run's {LOG_NAME} or its run folder")
    raise AssertionError  # parser.error exits


def transport_url(address: BoardAddress) -> str:
    """The server's URL as shown (no password)."""
    from ..server.address import parse_server_url
    return parse_server_url(address.host, address.port).url
