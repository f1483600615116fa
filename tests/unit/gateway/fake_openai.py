"""A fake OpenAI-compatible model server on 127.0.0.1 for the real-Envoy tests and the benchmark.

It answers like vLLM where the gateway can tell: `/health`, JSON for chat/completions/embeddings
(naming the server that answered), and server-sent events with `"stream": true`, sent as HTTP/1.1
chunks. Streams can be held at a handshake (`hold_after_first`): the first event goes out, the rest
only once the test says it received that event, so a gateway that buffered would never deliver it.
Every request's path, headers and body are recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INFERENCE = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeOpenAI:
    name: str
    port: int = 0
    events: int = 3  # SSE chunks per streamed answer
    event_interval: float = 0.0  # seconds between events
    hold_after_first: bool = False  # stream: wait for `release` after the first event
    seen: list[Seen] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    last_event_sent: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _connections: set = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as uvicorn: headers and body leave at once

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                fake._connections.add(self.connection)

            def finish(self) -> None:
                fake._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/health":
                    self.send_response(200)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self._json(200, {"served_by": fake.name, "path": self.path})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                try:
                    request = json.loads(body or b"{}")
                except ValueError:
                    request = {}
                if request.get("sleep"):
                    time.sleep(float(request["sleep"]))
                if self.path not in INFERENCE:
                    self._json(404, {"error": {"message": "no such route"}})
                    return
                if request.get("stream"):
                    self._stream(request)
                    return
                self._json(
                    200,
                    {
                        "served_by": fake.name,
                        "model": request.get("model"),
                        "path": self.path,
                        "object": "chat.completion",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}],
                    },
                )

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _stream(self, request: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                n = int(request.get("events", fake.events))
                for i in range(n):
                    if i == n - 1:
                        fake.last_event_sent.set()
                    event = {"served_by": fake.name, "index": i, "choices": [{"delta": {"content": f"t{i}"}}]}
                    self._chunk(f"data: {json.dumps(event)}\n\n".encode())
                    if i == 0 and fake.hold_after_first and not fake.released.wait(10):
                        break  # never released: the client did not get the first event in time
                    if fake.event_interval:
                        time.sleep(fake.event_interval)
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                import sys

                if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that left early is fine
                    super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Like a process that dies: the listening socket and every open connection close."""
        import socket

        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
