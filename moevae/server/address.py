"""Where a Visdom server is: one parser for every URL form a user gives.

``http://localhost`` (port 8097, moevae's board), ``https://host`` (443),
an explicit port ``http://host:9000``, IPv6 ``http://[::1]:8097``, a path
prefix behind a reverse proxy ``https://host/visdom`` (the server runs with
``moevae board --base-url /visdom``) and a login
``http://user:password@host``. Anything else (another scheme, no host, a
query, a fragment, a bad port) is refused in one line.
"""
from typing import NamedTuple, Optional
from urllib.parse import quote, unquote, urlsplit

from ..errors import bad_value

DEFAULT_PORT = 8097
HTTPS_PORT = 443
EXPECTED = ("an http(s) URL such as http://localhost:8097, "
            "https://host/visdom or http://user:password@[::1]:8097")


class ServerAddress(NamedTuple):
    """A parsed server URL (the password is never shown by ``url``)."""
    scheme: str
    hostname: str
    port: int
    path: str = ""
    username: Optional[str] = None
    password: Optional[str] = None

    @property
    def netloc_host(self) -> str:
        """The host as a URL writes it (IPv6 in brackets)."""
        return (f"[{self.hostname}]" if ":" in self.hostname
            else self.hostname)

    @property
    def url(self) -> str:
        """``scheme://host:port/prefix``, without the login."""
        return f"{self.scheme}://{self.netloc_host}:{self.port}{self.path}"

    @property
    def saved_url(self) -> str:
        """``scheme://[user@]host:port/prefix``: the URL without the
        password (what a run's config.json keeps)."""
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        return (f"{self.scheme}://{user}{self.netloc_host}:{self.port}"
                f"{self.path}")

    @property
    def host_part(self) -> str:
        """``scheme://[user[:password]@]host/prefix``: the URL without its
        port (``Board(host=..., port=...)`` takes both back)."""
        login = ""
        if self.username:
            login = quote(self.username, safe="") + (
                f":{quote(self.password, safe='')}"
                if self.password is not None else "") + "@"
        return f"{self.scheme}://{login}{self.netloc_host}{self.path}"

    def page(self, env: str) -> str:
        """The address of an environment's page."""
        return f"{self.url}/env/{quote(env, safe='')}"


def parse_server_url(text: object, port: Optional[int] = None,
                     name: str = "host") -> ServerAddress:
    """Parse ``text`` (``port`` when the URL has none; else 443 for https,
    8097 for http). Raises MoEVAEValueError naming ``name``."""
    if not isinstance(text, str) or any(c.isspace() for c in text):
        raise bad_value(name, text, EXPECTED)
    shown = masked_url(text)
    try:
        parts = urlsplit(text)
        url_port = parts.port
    except ValueError:
        raise bad_value(name, shown, EXPECTED) from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or
            parts.query or parts.fragment or text.endswith(("?", "#"))):
        raise bad_value(name, shown, EXPECTED)
    if url_port is not None and port is not None and url_port != port:
        raise bad_value(name, shown, f"the port {port} given beside it, or "
                        "no port in the URL")
    if url_port == 0 or (port is not None and not 0 < port < 65536):
        raise bad_value(name, shown, "a port in [1, 65535]")
    path = parts.path.rstrip("/")
    if "//" in path or any(piece in (".", "..")
                           for piece in path.split("/")):
        raise bad_value(name, shown, "a path prefix such as /visdom")
    chosen = url_port or port or (
        HTTPS_PORT if parts.scheme == "https" else DEFAULT_PORT)
    username = unquote(parts.username) if parts.username else None
    password = (unquote(parts.password) if parts.password is not None
        else None)
    if password is not None and not username:
        raise bad_value(name, shown, "user:password@ with a user name")
    return ServerAddress(parts.scheme, parts.hostname, chosen, path,
                         username, password)


def join_server_url(host: str, port: Optional[int] = None,
                    name: str = "host") -> ServerAddress:
    """The address of ``host`` (a URL, or a bare host name: http) with
    ``port`` replacing the URL's when given; an empty host is localhost.
    For addresses built by the program (a user's are parsed strictly)."""
    text = host if "://" in host else f"http://{host}"
    scheme, _, rest = text.partition("://")
    if not rest or rest[0] in "/:":
        text = f"{scheme}://localhost{rest}"
    address = parse_server_url(text, None, name)
    return address._replace(port=port) if port else address


def masked_url(text: str) -> str:
    """``text`` with the password of a ``user:password@`` login hidden."""
    scheme, _, rest = text.partition("://")
    login, at, host = rest.rpartition("@")  # a password may hold / or @
    user, colon, _ = login.partition(":")
    if not at or not colon or "/" in user:
        return text
    return f"{scheme}://{user}:***@{host}"
