"""Environment names a Visdom server and its page can both handle.

visdom 0.2.4 saves an environment as ``<env_path>/<name>.json``; its page
posts to ``env/<name>`` without encoding the name, and HTML-escapes the name
into a script, so some names open an empty page (checked in headless
Chromium: each character below does).
"""
import unicodedata
from typing import Any

from ..errors import bad_value

MAX_ENV_NAME = 200  # UTF-8 bytes: <name>.json stays under 255 bytes
UNSAFE = "/\\?#%+&'\"<>"  # '+' is also visdom's separator of compared envs


def check_env_name(env: Any, name: str = "env") -> str:
    """Return ``env`` if it can name a Visdom environment, else raise
    MoEVAEValueError (one line naming the value): empty or blank, over
    200 bytes in UTF-8, only dots, containing / \\ ? # % + & ' " < >, a
    control or format character, or '.json'."""
    if (not isinstance(env, str) or not env.strip() or
            len(env.encode("utf-8", "replace")) > MAX_ENV_NAME or
            env.strip(".") == "" or any(char in env for char in UNSAFE) or
            ".json" in env or any(unicodedata.category(char).startswith("C")
                                  for char in env)):
        raise bad_value(name, env, "a name of 1-200 bytes (UTF-8) of "
                        "printable characters, not blank, without "
                        "/ \\ ? # % + & ' \" < > or '.json' "
                        "(visdom's page puts it in URLs as it is)")
    return env
