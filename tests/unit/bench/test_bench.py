"""`llmcloud bench` drives real AIPerf against a fake OpenAI-compatible server on 127.0.0.1 (streaming SSE,
API key required, a deliberate first-token delay), offline with the shipped tokenizer. It must measure
what the server does (TTFT at least the delay), never let the key reach argv, files or output, store the
result where `cost` shows it beside the estimate. Skipped when AIPerf is not installed
(scripts/test installs it in .cache/aiperf and sets LLMCLOUD_AIPERF)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from llmcloud.cli import bench

KEY = "sk-bench-" + "q7" * 20
FIRST_TOKEN_DELAY = 0.08  # seconds before the first event: TTFT must show at least this
TOKEN_GAP = 0.004

pytestmark = pytest.mark.skipif(bench.aiperf_executable() is None, reason="AIPerf not installed (llmcloud[bench])")


class _Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_auth: ClassVar[list[str]] = []

    def log_message(self, *args):
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        self.seen_auth.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self._send(401, {"error": {"message": "invalid key", "type": "invalid_request_error"}})
            return False
        return True

    def do_GET(self):
        if self._authorized():
            self._send(200, {"object": "list", "data": [{"id": "llama-8b", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._authorized():
            return
        n = int(body.get("max_completion_tokens") or body.get("max_tokens") or 8)
        if not body.get("stream"):
            self._send(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
                    ],
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(data: str) -> None:
            raw = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()

        time.sleep(FIRST_TOKEN_DELAY)
        for _ in range(n):
            event(
                json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {"content": " word"}, "finish_reason": None}],
                    }
                )
            )
            time.sleep(TOKEN_GAP)
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def fake_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_bench_measures_the_endpoint_and_keeps_the_key_secret(cli, fake_server, monkeypatch, request):
    monkeypatch.setenv("LLMCLOUD_API_KEY", KEY)
    # The temp directory llmcloud and AIPerf see: short, as /tmp is (AIPerf's sockets live under it)
    system_tmp = Path(tempfile.mkdtemp(prefix="lb-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(system_tmp, ignore_errors=True))
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    result = cli(
        "bench",
        "stacks/dev.yaml",
        "--url",
        fake_server,
        "--concurrency",
        "2",
        "--requests",
        "8",
        "--input-tokens",
        "64",
        "--output-tokens",
        "16",
        "--timeout",
        "300",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    assert list(system_tmp.iterdir()) == []  # AIPerf's aiperf_mmap_*/ and tmp*/aiperf/ went with the run's directory
    data = json.loads(result.stdout)
    (level,) = data["levels"]
    assert level["concurrency"] == 2 and level["errors"] == 0 and level["requests"] == 8
    assert level["ttft_ms"]["p50"] >= FIRST_TOKEN_DELAY * 1000 * 0.9  # measured, not assumed
    assert level["output_tokens_per_second"] > 0 and level["usd_per_million_output_tokens"] > 0
    assert _Fake.seen_auth.count(f"Bearer {KEY}") >= 8, {a[:12] for a in _Fake.seen_auth}  # the key was sent
    record = bench.record_path("dev-gcp")
    assert record.is_file() and KEY not in record.read_text()
    assert str(record).startswith(os.environ["HOME"])
    # `cost` shows the measurement beside the estimate
    cost = cli("cost", "dev", "--json")
    assert cost.exit_code == 0, cost.stderr
    (row,) = json.loads(cost.stdout)["models"]
    assert row["measured"]["tokens_per_second"] == level["output_tokens_per_second"]
    assert row["estimate"] is True and row["tokens_per_second"] != row["measured"]["tokens_per_second"]


def test_bench_refuses_without_a_key_before_any_request(cli, fake_server, monkeypatch):
    monkeypatch.delenv("LLMCLOUD_API_KEY", raising=False)
    _Fake.seen_auth.clear()
    result = cli("bench", "stacks/dev.yaml", "--url", fake_server, "-c", "1", "--requests", "2")
    assert result.exit_code == 4 and "LLMCLOUD_API_KEY" in result.stderr
    assert _Fake.seen_auth == []


def test_bench_wrong_key_fails_with_exit_1(cli, fake_server, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_API_KEY", "sk-wrong-" + "z" * 30)
    result = cli("bench", "stacks/dev.yaml", "--url", fake_server, "-c", "1", "--requests", "2", "--timeout", "300")
    assert result.exit_code == 1 and "aiperf failed" in result.stderr
    assert "sk-wrong-" not in result.stderr
