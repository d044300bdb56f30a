"""A tiny reverse proxy: ``http://127.0.0.1:<port><prefix>/...`` is
forwarded to ``<target><prefix>/...`` (the board runs with the same
``--base-url``); anything outside the prefix gets 404, as a real proxy's
other sites would. Run as ``python -m tests.support.proxy PORT PREFIX
TARGET`` or use :class:`Proxy` (a thread)."""
import http.server
import sys
import threading
import urllib.error
import urllib.request


def handler_for(prefix: str, target: str):
    class Forward(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if not (self.path == prefix or self.path.startswith(prefix + "/")):
                self.send_error(404, "outside the proxied path")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = urllib.request.Request(
                target + self.path, data=body, method=self.command,
                headers={key: value for key, value in self.headers.items()
                         if key.lower() not in ("host", "connection")})
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, headers, data = (answer.status, answer.headers,
                                             answer.read())
            except urllib.error.HTTPError as error:
                status, headers, data = error.code, error.headers, error.read()
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("transfer-encoding", "connection",
                                       "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _forward

        def log_message(self, *args) -> None:
            pass
    return Forward


class Proxy:
    """The proxy in a daemon thread on 127.0.0.1:``port``."""

    def __init__(self, port: int, prefix: str, target: str):
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", port), handler_for(prefix, target))
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def __enter__(self) -> "Proxy":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    port, prefix, target = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with Proxy(port, prefix, target) as proxy:
        proxy.thread.join()
