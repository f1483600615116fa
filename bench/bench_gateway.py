"""What the front door costs a request: Envoy (`llmcloud gateway serve`, the deployed configuration with
local addresses) in front of a fake OpenAI-compatible server, against the same server called directly.

    python bench/bench_gateway.py [--requests 400] [--streams 100]

- overhead per request: a small non-streamed chat completion on a kept-alive connection, median and
  p99 of the latency through Envoy minus direct (auth, body parse for "model", rate limit, routing);
- streaming: time from sending the request to the first server-sent event, through Envoy and direct.
Everything runs on 127.0.0.1; the figures are this machine's, not a cloud's (README, "The front door").
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEY = "bench0123456789abcdefghijklmnopqrstuv"
STACK = """
extends: base.yaml
node_pools:
  l4: {accelerator: L4, max_nodes: 1}
models:
  llama-8b: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: l4, max_model_len: 8192}
gateway:
  keys: {default: {rate_limit_per_minute: 1000000}}
"""
BODY = json.dumps(
    {"model": "llama-8b", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}
).encode()


def _fake():
    spec = importlib.util.spec_from_file_location("fake_openai", REPO / "tests/unit/gateway/fake_openai.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def latencies(port: int, n: int, auth: bool) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {KEY}"} if auth else {})}
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", BODY, headers)
        resp = conn.getresponse()
        resp.read()
        out.append(time.perf_counter() - t0)
        assert resp.status == 200, resp.status
    conn.close()
    return out


def first_events(port: int, n: int, auth: bool) -> list[float]:
    body = json.dumps({"model": "llama-8b", "stream": True, "events": 20}).encode()
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {KEY}"} if auth else {})}
    out = []
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        t0 = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body, headers)
        resp = conn.getresponse()
        for raw in resp:
            if raw.startswith(b"data: "):
                out.append(time.perf_counter() - t0)
                break
        conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--streams", type=int, default=100)
    args = parser.parse_args()
    fake = _fake()
    server = fake.FakeOpenAI("bench", event_interval=0.001).start()
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    (work / "base.yaml").write_text((REPO / "stacks/base.yaml").read_text())
    (work / "bench.yaml").write_text(STACK)
    (work / "keys.yaml").write_text(f"default: {KEY}\n")
    (work / "keys.yaml").chmod(0o600)
    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmcloud.cli.main",
            "gateway",
            "serve",
            str(work / "bench.yaml"),
            "--upstream",
            f"llama-8b={server.url}",
            "--listen",
            f"127.0.0.1:{port}",
            "--keys-file",
            str(work / "keys.yaml"),
            "--concurrency",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = proc.stdout.readline()
        if "gateway ready" not in ready:
            raise SystemExit(f"gateway did not start: {ready!r}")
        from llmcloud.cli.gateway import envoy_binary

        out = subprocess.run([envoy_binary() or "envoy", "--version"], capture_output=True, text=True).stdout
        version = re.findall(r"/(\d+\.\d+\.\d+)/", out)
        latencies(port, 50, True), latencies(server.port, 50, False)  # warm up both paths
        via, direct = [], []
        for _ in range(4):  # interleaved rounds: drift on a shared machine hits both alike
            via += latencies(port, args.requests // 4, True)
            direct += latencies(server.port, args.requests // 4, False)
        s_via, s_direct = [], []
        for _ in range(4):
            s_via += first_events(port, args.streams // 4, True)
            s_direct += first_events(server.port, args.streams // 4, False)
        ms = 1000
        rows = [
            ("request, direct", statistics.median(direct) * ms, _pct(direct, 0.99) * ms),
            ("request, through Envoy", statistics.median(via) * ms, _pct(via, 0.99) * ms),
            (
                "overhead per request",
                (statistics.median(via) - statistics.median(direct)) * ms,
                (_pct(via, 0.99) - _pct(direct, 0.99)) * ms,
            ),
            ("first event, direct", statistics.median(s_direct) * ms, _pct(s_direct, 0.99) * ms),
            ("first event, through Envoy", statistics.median(s_via) * ms, _pct(s_via, 0.99) * ms),
        ]
        print(f"Envoy {version[0] if version else '?'}, {args.requests} requests, {args.streams} streams, 127.0.0.1")
        print(f"{'':32} {'median ms':>10} {'p99 ms':>10}")
        for name, med, p99 in rows:
            print(f"{name:32} {med:10.2f} {p99:10.2f}")
    finally:
        proc.terminate()
        proc.wait(10)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)  # it holds a keys file


if __name__ == "__main__":
    main()
