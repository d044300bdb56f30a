"""HTTP transport to a Visdom server, with timeouts and optional login.

visdom's own client posts without a timeout, so a hung server blocks its
caller for ever; every request here has one. Messages go out as strict JSON
(a NaN or infinity becomes ``null``: the browser would drop a window holding
the non-standard ``NaN``/``Infinity`` tokens). Two failures are told apart:
:class:`ServerDown` (no answer: retry later) and :class:`RequestRefused`
(the server answered with an HTTP error: retrying the same request is
pointless).
"""
import hashlib
from typing import Any, Dict, Optional

import requests

from ..errors import bad_value
from ..fileio import dumps_strict
from ..server.address import join_server_url

CONNECT_TIMEOUT_S = 2.0
GATEWAY_DOWN = (502, 503, 504)  # a reverse proxy's "the server is down"


class TransportError(ConnectionError):
    """The server did not answer, or refused the request."""


class ServerDown(TransportError):
    """No answer: connection refused or lost, or timed out."""


class RequestRefused(TransportError):
    """The server answered this request with an HTTP error status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Transport:
    """Posts JSON messages to ``<server>:<port>/<endpoint>``."""

    def __init__(self, server: str, port: Optional[int] = None,
                 username: Optional[str] = None,
                 password: Optional[str] = None, timeout: float = 10.0):
        address = join_server_url(server, port, "server")
        self.base = address.url
        username = username or address.username
        password = password or address.password
        if username and password is None:
            raise bad_value("password", None, f"a password for the user "
                            f"{username!r} of {self.base}")
        self.timeout = (CONNECT_TIMEOUT_S, timeout)
        self.username, self.password = username, password
        self._session: Optional[requests.Session] = None

    def session(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            if self.username and self.password is not None:
                digest = hashlib.sha256(self.password.encode()).hexdigest()
                self._request(session.post, self.base + "/",
                              json={"username": self.username,
                                    "password": digest})
            self._session = session
        return self._session

    def post(self, endpoint: str, message: Dict[str, Any]) -> str:
        """POST ``message`` as strict JSON; raise ServerDown,
        RequestRefused, or TypeError for a value JSON cannot hold."""
        data = dumps_strict(message)
        return self._request(self.session().post, f"{self.base}/{endpoint}",
                             data=data)

    def get(self, path: str = "") -> str:
        return self._request(self.session().get, f"{self.base}/{path}")

    def _request(self, method, url: str, **kwargs: Any) -> str:
        try:
            response = method(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            self._session = None
            raise ServerDown(_reason(error)) from None
        status = response.status_code
        if status >= 400:
            text = (f"HTTP {status} {response.reason or ''}".strip() +
                f" from {url}")
            if status in GATEWAY_DOWN:  # a proxy answers for a dead server
                self._session = None
                raise ServerDown(text)
            if status in (401, 403):
                self._session = None  # log in again next time
            raise RequestRefused(text, status)
        return response.text


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return "connection refused or lost"
    return type(error).__name__
