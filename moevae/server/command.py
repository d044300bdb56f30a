"""``moevae board``: the Visdom server, offline, bound where you say.

visdom's own launcher listens on every interface unless given
``-bind_local``, whatever ``--hostname`` says; this one listens on
``--host`` only (127.0.0.1 by default; 0.0.0.0 inside the Docker image,
whose port docker-compose publishes on the host's 127.0.0.1 only).
Defaults can also come from MOEVAE_BOARD_HOST, MOEVAE_BOARD_PORT and
MOEVAE_BOARD_ENV_PATH. Environments are saved to ``--env-path`` as they
change (every 2 s, and on SIGTERM/Ctrl-C), so they survive a restart; the
``main`` environment lists every run. ``moevae board --stop [--port P]``
stops the board that ``moevae board`` started on that port. Login:
``--enable-login`` (visdom's ``-enable_login``, or MOEVAE_BOARD_LOGIN=1)
with VISDOM_USERNAME and VISDOM_PASSWORD (and optionally VISDOM_COOKIE)
in the environment.
"""
import argparse
import errno
import hashlib
import ipaddress
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..cli.parsing import OneLineParser, port_number
from .assets import AssetError, install_assets, missing_assets
from .launch import (
    DEFAULT_ENV_PATH,
    StopError,
    remove_pid_file,
    stop_board,
    stop_command,
    write_pid_file,
)
from .persist import SAVE_INTERVAL_S, EnvSaver
from .runs_index import RunsIndex


class UsageError(ValueError):
    """A bad option: reported on one line, exit status 2."""


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    env = os.environ
    parser = OneLineParser(
        prog="moevae board", description="Start the offline Visdom server.")
    parser.add_argument("--port", type=port_number,
                        default=env.get("MOEVAE_BOARD_PORT", "8097"),
                        help="port to listen on (default %(default)s)")
    parser.add_argument("--host", default=env.get("MOEVAE_BOARD_HOST",
                                                  "127.0.0.1"),
                        help="address to listen on (default %(default)s; "
                        "0.0.0.0 for every interface)")
    parser.add_argument("--base-url", type=base_url_path,
                        default=env.get("MOEVAE_BOARD_BASE_URL"),
                        metavar="PATH", help="serve under this path, behind "
                        "a reverse proxy (e.g. /visdom; default: none)")
    parser.add_argument("--env-path", type=Path,
                        default=Path(env.get("MOEVAE_BOARD_ENV_PATH",
                                             DEFAULT_ENV_PATH)),
                        help="where environments are saved "
                        "(default %(default)s)")
    parser.add_argument("--enable-login", "-enable_login",
                        action="store_true",
                        default=env.get("MOEVAE_BOARD_LOGIN", "0").lower()
                        in ("1", "true", "yes"),
                        help="require the login in VISDOM_USERNAME / "
                        "VISDOM_PASSWORD (or set MOEVAE_BOARD_LOGIN=1)")
    parser.add_argument("--stop", action="store_true",
                        help="stop the board started by `moevae board` on "
                        "--port (it saves its environments first)")
    return parser.parse_args(argv)


def check_options(args: argparse.Namespace) -> None:
    if args.host != "localhost":
        try:
            ipaddress.ip_address(args.host)
        except ValueError:
            raise UsageError(f"--host {args.host!r}: expected an IP address "
                             "such as 127.0.0.1 or 0.0.0.0") from None
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise UsageError(f"--port {args.port}: already in use on "
                                 f"{args.host}; expected a free port (is a "
                                 "board already running there?)") from None
            raise UsageError(f"--host {args.host}: cannot listen there "
                             f"({error.strerror})") from None


def credentials(enable: bool) -> Optional[Dict[str, str]]:
    """visdom's user_credential from the environment; cookie secret too."""
    if not enable:
        return None
    username = os.environ.get("VISDOM_USERNAME")
    password = os.environ.get("VISDOM_PASSWORD")
    if not (username and password):
        raise UsageError("--enable-login: expected VISDOM_USERNAME and "
                         "VISDOM_PASSWORD in the environment")
    from visdom.server.defaults import DEFAULT_ENV_PATH as COOKIE_DIR
    cookie = Path(COOKIE_DIR) / "COOKIE_SECRET"
    if "VISDOM_COOKIE" in os.environ or not cookie.is_file():
        cookie.parent.mkdir(parents=True, exist_ok=True)
        cookie.write_text(os.environ.get("VISDOM_COOKIE")
                          or secrets.token_hex(32))
        cookie.chmod(0o600)

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()
    return {"username": username, "password": sha(sha(password))}


def ensure_assets() -> None:
    if missing_assets():
        print("moevae board: installing Visdom's front-end files from npm "
              "(once)", file=sys.stderr)
        install_assets()


def base_url_path(text: str) -> str:
    """argparse type: '' or a path prefix such as /visdom (no trailing /)."""
    path = text.strip().rstrip("/")
    if path and (not path.startswith("/") or "//" in path or any(
            c in path for c in "?#% \t") or any(
            piece in (".", "..") for piece in path.split("/"))):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a path prefix such as /visdom")
    return path


def serve(host: str, port: int, env_path: Path,
          user_credential: Optional[Dict[str, Any]],
          base_url: str = "") -> None:
    from tornado import ioloop
    from visdom.server.app import Application

    env_path.mkdir(parents=True, exist_ok=True)
    app = Application(port=port, base_url=base_url,
                      env_path=str(env_path) + "/",
                      user_credential=user_credential)
    app.listen(port, address=host, max_buffer_size=1024 ** 3)
    saver, index = EnvSaver(app.state, env_path), RunsIndex(app)

    def tick() -> None:
        index.refresh()
        saver.save_changed()
    loop = ioloop.IOLoop.current()
    ioloop.PeriodicCallback(tick, SAVE_INTERVAL_S * 1000).start()
    loop.add_callback(tick)
    signal.signal(signal.SIGTERM,
                  lambda *_: loop.add_callback_from_signal(loop.stop))
    pid_path = write_pid_file(env_path, port)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else (
        f"[{host}]" if ":" in host else host)
    print(f"moevae board: serving http://{shown}:{port}{base_url} "
          f"(listening on "
          f"{host}; environments in {env_path}; "
          f"`{stop_command(env_path, port)}` stops it)", flush=True)
    try:
        loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        saved = saver.save_changed()
        remove_pid_file(pid_path)
        print(f"moevae board: stopped ({saved} changed environment(s) "
              "saved)", flush=True)


def skip_user_css_error(record: logging.LogRecord) -> bool:
    """Drop tornado's error for visdom's optional user/style.css.

    visdom's page links ``static_url("../user/style.css")``, a file served
    by a handler, not from disk, so tornado logs "Could not open static
    file" at ERROR on every page load although nothing is wrong.
    """
    args = record.args if isinstance(record.args, tuple) else ()
    return not (record.msg == "Could not open static file %r" and
                bool(args) and str(args[0]).endswith("user/style.css"))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.stop:
        try:
            pid = stop_board(args.env_path, args.port)
        except StopError as error:
            print(f"moevae board --stop: {error}", file=sys.stderr)
            return 1
        print(f"moevae board: stopped the board on port {args.port} "
              f"(pid {pid})")
        return 0
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s visdom %(levelname)s %(message)s")
    # one line per HTTP request drowns what matters; failed requests
    # (tornado logs them at WARNING and above) still show
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("tornado.general").addFilter(skip_user_css_error)
    try:
        check_options(args)
        user_credential = credentials(args.enable_login)
        ensure_assets()
    except UsageError as error:
        print(f"moevae board: {error}", file=sys.stderr)
        return 2
    except AssetError as error:
        print(f"moevae board: front-end files missing and not installable "
              f"({error}); run `moevae assets` where npm works",
              file=sys.stderr)
        return 1
    serve(args.host, args.port, args.env_path.expanduser(), user_credential,
          base_url_path(args.base_url or ""))
    return 0
