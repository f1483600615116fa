"""The front door's product per cloud and what each product cannot do, checked before anything runs.

Pure Python (no pulumi, no SDK): `validate` runs this from resolve(). An LLM answer streams for
seconds to minutes, so a product that buffers responses or cuts a request early is refused here,
with the limit named and the alternative given (exit 2), instead of failing in production.
README, "The front door" explains each choice.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .spec.errors import StackError

# Seconds the load balancer's idle timeout exceeds the request timeout: the in-cluster gateway must
# answer (504) before the load balancer cuts the connection without a word.
LB_TIMEOUT_MARGIN = 60
# The default must stream and hold a request at least this long (issue 6).
MIN_DEFAULT_TIMEOUT = 600


@dataclass(frozen=True)
class Product:
    name: str
    max_timeout: int  # longest request it holds, in seconds
    streams: bool  # passes a streamed (SSE) response through as it is produced
    # Proxies of the product that append to X-Forwarded-For before Envoy (its xff_num_trusted_hops): 0 when
    # clients connect to Envoy directly (an L4 load balancer), so no client can choose its own address.
    trusted_hops: int = 1
    # (message, hint) when a stack asks for a longer request (or, where it cannot stream, for streaming)
    limit: tuple[str, str] = ("", "")
    buffered_max: int | None = None  # longest request when streaming is off, if shorter than max_timeout
    buffered_limit: tuple[str, str] = ("", "")
    needs_domain: bool = True  # the listener's certificate is issued for gateway.domain
    not_built: str | None = None  # limits known, but llmcloud does not build it (the reason)


AZURE_MANAGED_SUBNET = (
    "API Management StandardV2 reaches the cluster through a subnet of the cluster's virtual "
    "network delegated to it, which llmcloud creates only in a network it owns"
)
DEFAULT_KIND = "load_balancer"  # on every cloud: the product that streams and holds a request longest
AWS_BUFFERED_MAX = 29  # REST API BUFFERED integrations: 29 s unless a quota increase is granted

# The exact messages (tests and docs quote them).
GCP_MANAGED = (
    "GCP API Gateway: 15 s backend deadline by default, streaming not settable through pulumi-gcp",
    "use kind: load_balancer (GKE Gateway API), or streaming: false with request_timeout_seconds ≤ 15",
)
AWS_MANAGED_TIMEOUT = (
    "AWS API Gateway REST API: a streamed integration (response_transfer_mode STREAM) is cut at "
    "15 minutes (900 s); HTTP APIs cap integrations at 30 s and cannot stream",
    "use kind: load_balancer (ALB, idle timeout up to 4,000 s), or request_timeout_seconds ≤ 900",
)
AWS_MANAGED_BUFFERED = (
    "AWS API Gateway REST API: a buffered integration (streaming: false) times out at 29 s",
    "set streaming: true (STREAM holds up to 900 s), or kind: load_balancer",
)
AWS_ALB_TIMEOUT = (
    "ALB idle timeout is at most 4,000 s, and llmcloud sets it 60 s above request_timeout_seconds",
    "request_timeout_seconds ≤ 3940",
)
AZURE_MANAGED_TIMEOUT = (
    "Azure API Management: forward-request timeouts above 240 s are not reliable "
    "(and the Consumption tier cannot stream: llmcloud uses StandardV2)",
    "use kind: load_balancer (Azure Load Balancer, streams up to 100 minutes), or request_timeout_seconds ≤ 240",
)
AZURE_LB_TIMEOUT = (
    "Azure Load Balancer: the TCP idle timeout is at most 100 minutes, and llmcloud sets it 60 s "
    "above request_timeout_seconds",
    "request_timeout_seconds ≤ 5940",
)
DOMAIN_REQUIRED = (
    "kind load_balancer needs gateway.domain: the HTTPS listener gets a managed certificate for it",
    "set gateway.domain to a host name whose DNS you control (e.g. api.example.com), or kind: managed",
)
AWS_EXISTING_SUBNETS = (
    "with existing subnets (aws.subnet_ids) the ALB goes in the public subnets of their VPC, and aws.vpc_id is not set",
    "set aws.vpc_id; tag its public subnets kubernetes.io/role/elb=1",
)


@dataclass(frozen=True)
class ResolvedGateway:
    cloud: str
    kind: str  # managed | load_balancer
    product: str  # Product.name
    auth: str  # api_key | none
    keys: dict[str, int]  # key name -> requests per minute
    rate_limit_per_minute: int
    request_timeout_seconds: int
    streaming: bool
    domain: str | None
    allowed_cidrs: tuple[str, ...]
    models: tuple[str, ...]
    dns_zone: str | None = None  # gateway.dns_zone: the provider id of the zone that holds `domain`
    trusted_hops: int = 0  # Product.trusted_hops of the chosen product
    # model -> seconds a request for it is held while the model wakes from zero replicas (wake_timeout()).
    wake_timeouts: dict[str, int] = field(default_factory=dict)

    @property
    def idle_timeout_seconds(self) -> int:
        """The load balancer's idle timeout: above the request timeout (the gateway answers first)."""
        return self.request_timeout_seconds + LB_TIMEOUT_MARGIN

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(self.keys) if self.auth == "api_key" else ()


def product_of(cloud: str, kind: str) -> Product:
    """The front-door product `kind` builds on `cloud` (the Cloud's front_door_products)."""
    from . import registry

    return registry.cloud(cloud).front_door_products[kind]  # type: ignore[no-any-return]


def _limit_errors(product: Product, timeout: int, streaming: bool) -> list[tuple[str, str, str]]:
    """(field, message, hint) for each limit of the product that the stack asks more of."""
    if streaming and not product.streams:
        return [("streaming", *product.limit)]
    if not streaming and product.buffered_max is not None and timeout > product.buffered_max:
        return [("streaming", *product.buffered_limit)]
    if timeout > product.max_timeout:
        return [("request_timeout_seconds", *product.limit)]
    return []


def resolve_gateway(loaded: Any, r: Any) -> tuple[ResolvedGateway, list[StackError]]:
    """The front door of `r` (a ResolvedStack) and the problems with it; errors are pinned to gateway.*."""
    g = loaded.spec.gateway
    cloud = r.cloud
    kind = g.kind or DEFAULT_KIND
    from . import registry

    door = registry.cloud(cloud)
    product = door.front_door_products[kind]
    errors: list[StackError] = []
    for field_, message, hint in _limit_errors(product, g.request_timeout_seconds, g.streaming):
        # Pin to `kind` when the stack chose the product, else to the field that asks too much.
        path = ("gateway", "kind") if g.kind else ("gateway", field_)
        errors.append(loaded.error(path, message, hint))
    if product.not_built and not errors:
        errors.append(
            loaded.error(
                ("gateway", "kind"), f"{product.name}: {product.not_built}", "use kind: load_balancer (the default)"
            )
        )
    if not g.domain and product.needs_domain:
        errors.append(
            loaded.error(("gateway", "domain") if "domain" in g.model_fields_set else ("gateway",), *DOMAIN_REQUIRED)
        )
    errors.extend(door.front_door_problems(loaded, r, kind))
    for i, cidr in enumerate(g.allowed_cidrs):
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            errors.append(
                loaded.error(("gateway", "allowed_cidrs", i), f"{cidr!r} is not a CIDR", "e.g. 203.0.113.0/24")
            )
    keys = {name: k.rate_limit_per_minute or g.rate_limit_per_minute for name, k in g.keys.items()}
    if g.auth == "api_key" and not keys:
        errors.append(loaded.error(("gateway", "keys"), "auth is api_key but no key is named", "keys: {default: {}}"))
    wake = {
        name: wake_timeout(
            m,
            loaded.spec.models[name].wake_timeout_seconds if name in loaded.spec.models else None,
            g.request_timeout_seconds,
        )
        for name, m in r.models.items()
    }
    gateway = ResolvedGateway(
        cloud=cloud,
        kind=kind,
        product=product.name,
        auth=g.auth,
        keys=keys,
        rate_limit_per_minute=g.rate_limit_per_minute,
        request_timeout_seconds=g.request_timeout_seconds,
        streaming=g.streaming,
        domain=g.domain,
        allowed_cidrs=tuple(g.allowed_cidrs),
        models=tuple(r.models),
        trusted_hops=product.trusted_hops,
        wake_timeouts=wake,
        dns_zone=g.dns_zone,
    )
    return gateway, errors


def startup_budget_seconds(model: Any) -> int:
    """The model's start-up budget: the same figure as its startup probe (k8s/serving.py,
    startup_budget_minutes: 20 min + 0.5 min per GiB of weights, 30 min to 3 h, an hour when unknown).
    Repeated here because this module must not import Pulumi; a test keeps the two equal."""
    import math

    from .sizing import weights_size_gib

    size = weights_size_gib(model.source, model.quantization)
    minutes = 60 if size is None else min(180, max(30, math.ceil(20 + 0.5 * size)))
    return minutes * 60


def wake_timeout(model: Any, explicit: int | None, request_timeout: int) -> int:
    """How long the gateway holds a request for a model at zero replicas: models.<m>.wake_timeout_seconds,
    else the start-up budget; never beyond the route timeout (request_timeout_seconds)."""
    return min(explicit or startup_budget_seconds(model), request_timeout)
