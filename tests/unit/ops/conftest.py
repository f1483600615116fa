"""Fixtures of the operations tests: a local server of recorded API responses, a moto server, and the
stand-in pulumi CLI (tests/fakes/pulumi) on PATH."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

REPO = Path(__file__).resolve().parents[3]
RECORDED = Path(__file__).parent / "recorded"
FAKE = REPO / "tests" / "fakes" / "pulumi"


class Recorded:
    """Routes: (method, path) -> a recorded file, or a function of the query/body returning one."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], object] = {}
        self.requests: list[dict] = []
        self.url = ""

    def add(self, method: str, path: str, answer: object) -> None:
        self.routes[(method, path)] = answer


@pytest.fixture
def recorded():
    rec = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            rec.requests.append(
                {
                    "method": method,
                    "path": url.path,
                    "query": query,
                    "body": body,
                    "auth": self.headers.get("Authorization"),
                }
            )
            answer = rec.routes.get((method, url.path))
            if callable(answer):
                answer = answer(query, body)
            if answer is None:
                self.send_response(404)
                self.end_headers()
                self.wfile.write(b'{"error": {"message": "not recorded"}}')
                return
            status, name = answer if isinstance(answer, tuple) else (200, answer)
            data = (RECORDED / name).read_bytes() if isinstance(name, str) else json.dumps(name).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._answer("GET")

        def do_POST(self):
            self._answer("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    """A moto server on 127.0.0.1 (moto[server] is a test dependency); its URL."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch, moto_server):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


@pytest.fixture
def fake_pulumi(fake_pulumi_cli):
    """The stand-in pulumi CLI on PATH, scripted through a scenario file (tests/conftest.py)."""
    return fake_pulumi_cli
