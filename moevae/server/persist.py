"""EnvSaver: the server's environments survive a restart.

visdom 0.2.4 writes an environment to its ``env_path`` only when a client
asks it to save, and its save-all writes ``null`` over an environment not
loaded since the server started. This saver writes every *changed* loaded
environment, atomically, every few seconds and when the server stops
(SIGTERM, Ctrl-C): a restart loses nothing, a SIGKILL at most the last
``interval`` seconds. An environment's windows each carry a ``contentID``
that visdom renews on every change, so finding what changed costs no
serialisation.
"""
import functools
import json
import logging
from pathlib import Path
from typing import IO, Any, Dict, Optional, Tuple

from ..fileio import atomic_save

logger = logging.getLogger("moevae.server")
SAVE_INTERVAL_S = 2.0


def write_bytes(data: bytes, handle: IO[bytes]) -> None:
    handle.write(data)


def loaded_env(env: Any) -> Optional[Dict[str, Any]]:
    """The environment's dict, or None for one still on disk, unread."""
    if isinstance(env, dict):
        return env
    raw = getattr(env, "_raw_dict", None)  # visdom's LazyEnvData
    return raw if isinstance(raw, dict) else None


def fingerprint(env: Dict[str, Any]) -> Tuple:
    windows = env.get("jsons", {})
    return (tuple((win, pane.get("contentID"), pane.get("i"))
                  for win, pane in windows.items()),
            json.dumps(env.get("reload", {}), sort_keys=True, default=str))


class EnvSaver:
    """Writes ``<env_path>/<env>.json`` for every changed environment."""

    def __init__(self, state: Dict[str, Any], env_path: Path):
        self.state, self.env_path = state, Path(env_path)
        self._saved: Dict[str, Tuple] = {}
        for eid, env in state.items():  # as loaded from disk at start
            data = loaded_env(env)
            if data is not None:
                self._saved[eid] = fingerprint(data)

    def save_changed(self) -> int:
        """Write the environments changed since last time; return how many.

        An environment that cannot be written is logged and retried next
        time; the others are still written.
        """
        written = 0
        for eid, env in list(self.state.items()):
            data = loaded_env(env)
            if data is None:
                continue
            mark = fingerprint(data)
            if self._saved.get(eid) == mark:
                continue
            try:
                text = json.dumps({"jsons": data.get("jsons", {}),
                                   "reload": data.get("reload", {})})
                atomic_save(self.env_path / f"{eid}.json",
                            functools.partial(write_bytes, text.encode()))
            except (OSError, TypeError, ValueError) as error:
                logger.warning("cannot save environment %r (%s); retrying",
                               eid, error)
                continue
            self._saved[eid] = mark
            written += 1
        return written
