"""HTTP transport to a Visdom server, with timeouts and optional login.

visdom's own client posts without a timeout, so a hung server blocks its
caller for ever; every request here has one.
"""
import hashlib
import json
from typing import Any, Dict, Optional
from urllib.parse import urlparse, urlunparse

import requests

CONNECT_TIMEOUT_S = 2.0


class TransportError(ConnectionError):
    """The server did not answer, or refused the request."""


def base_url(server: str, port: int) -> str:
    """'http://localhost', 8097 -> 'http://localhost:8097'."""
    parsed = urlparse(server if "://" in server else f"http://{server}")
    host = parsed.hostname or "localhost"
    return urlunparse((parsed.scheme, f"{host}:{port}", "", "", "", ""))


class Transport:
    """Posts JSON messages to ``<server>:<port>/<endpoint>``."""

    def __init__(self, server: str, port: int, username: Optional[str] = None,
                 password: Optional[str] = None, timeout: float = 10.0):
        self.base = base_url(server, port)
        self.timeout = (CONNECT_TIMEOUT_S, timeout)
        self.username, self.password = username, password
        self._session: Optional[requests.Session] = None

    def session(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            if self.username:
                digest = hashlib.sha256(self.password.encode()).hexdigest()
                self._request(session.post, self.base,
                              json={"username": self.username,
                                    "password": digest})
            self._session = session
        return self._session

    def post(self, endpoint: str, message: Dict[str, Any]) -> str:
        return self._request(self.session().post, f"{self.base}/{endpoint}",
                             data=json.dumps(message))

    def get(self, path: str = "") -> str:
        return self._request(self.session().get, f"{self.base}/{path}")

    def _request(self, method, url: str, **kwargs: Any) -> str:
        try:
            response = method(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            self._session = None
            raise TransportError(_reason(error)) from None
        if response.status_code >= 400:
            raise TransportError(f"HTTP {response.status_code} from {url}")
        return response.text


def answers(server: str, port: int, timeout: float = 1.0) -> bool:
    """True if something answers HTTP at the address."""
    try:
        requests.get(base_url(server, port), timeout=timeout)
    except requests.RequestException:
        return False
    return True


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return "connection refused or lost"
    return type(error).__name__
