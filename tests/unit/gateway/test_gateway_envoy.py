"""The in-cluster gateway's Envoy configuration: auth on every route, per-key rate limits, routing by
model, streaming timeouts. Parsed from what the plan deploys (the config Secret is a secret, so the
pure builder renders it here with test keys)."""

from __future__ import annotations

import re

import yaml
from llmcloud.components.gateway_checks import ResolvedGateway
from llmcloud.components.k8s import gateway as gw

KEYS = {"default": "k" * 48, "batch": "b" * 48}


def _g(**kw) -> ResolvedGateway:
    base = dict(cloud="gcp", kind="load_balancer", product="x", auth="api_key", keys={"default": 600, "batch": 60},
                rate_limit_per_minute=600, request_timeout_seconds=900, streaming=True, domain="api.example.com",
                allowed_cidrs=(), models=("llama-8b", "qwen-7b"))
    base.update(kw)
    return ResolvedGateway(**base)


def _api(cfg):
    listener = next(ln for ln in cfg["static_resources"]["listeners"] if ln["name"] == "api")
    return listener, listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_config_round_trips_as_yaml():
    text = gw.render_config(_g(), "llmcloud", KEYS)
    assert yaml.safe_load(text) == gw.envoy_config(_g(), "llmcloud", KEYS)
    assert "admin" not in yaml.safe_load(text)  # no admin interface


def test_auth_runs_before_every_api_route():
    _, hcm = _api(gw.envoy_config(_g(), "llmcloud", KEYS))
    names = [f["name"] for f in hcm["http_filters"]]
    # The Lua filter (authentication) is first, so no route (not even /v1/models) answers without a key.
    assert names == ["envoy.filters.http.lua", "envoy.filters.http.local_ratelimit", "envoy.filters.http.router"]
    lua = hcm["http_filters"][0]["typed_config"]["default_source_code"]["inline_string"]
    assert "local REQUIRE_KEY = true" in lua
    assert '[":status"] = "401"' in lua
    assert 'string.match(auth, "^[Bb]earer%s+(%S+)%s*$")' in lua
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
    assert buckets == {"default": {"max_tokens": 300, "tokens_per_fill": 300, "fill_interval": "60s"},
                       "batch": {"max_tokens": 30, "tokens_per_fill": 30, "fill_interval": "60s"}}
    vh = hcm["route_config"]["virtual_hosts"][0]
    assert vh["rate_limits"] == [{"actions": [{"request_headers": {"header_name": gw.KEY_HEADER,
                                                                   "descriptor_key": "api_key"}}]}]


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
    addr = clusters["model-qwen-7b"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert addr["socket_address"] == {"address": "qwen-7b.llmcloud.svc.cluster.local", "port_value": 8000}


def test_tls_listener_when_envoy_terminates_tls():
    listener, _ = _api(gw.envoy_config(_g(), "llmcloud", KEYS, tls=True))
    assert listener["address"]["socket_address"]["port_value"] == gw.TLS_PORT
    tls = listener["filter_chains"][0]["transport_socket"]["typed_config"]["common_tls_context"]
    assert tls["tls_params"]["tls_minimum_protocol_version"] == "TLSv1_2"


def test_checksum_has_no_key_material():
    assert gw.config_checksum(_g(), "llmcloud", False) == gw.config_checksum(_g(), "llmcloud", False)
    assert "k" * 48 not in gw.render_config(_g(), "llmcloud", {n: f"<{n}>" for n in KEYS})
