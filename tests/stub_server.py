"""A local HTTP server for tests (127.0.0.1, a free port): `route(path, query)` answers each GET with
(status, body, headers); every request line's path (with its query) is kept in `requests`. The request's
User-Agent reaches the route as `query["_user_agent"]`."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = tuple[int, bytes, dict[str, str]]
Route = Callable[[str, dict[str, str]], Reply]
NOT_FOUND: Reply = (404, b"", {})


class StubServer:
    def __init__(self, route: Route | None = None) -> None:
        self.route: Route = route or (lambda path, query: NOT_FOUND)
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                query["_user_agent"] = self.headers.get("User-Agent", "")
                status, body, headers = outer.route(parts.path, query)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
