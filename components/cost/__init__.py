"""The cost engine: prices a plan (contract 3, from either engine) into the cost JSON of contract 4.

Each planned resource is priced from the shipped catalog by its type and inputs, so the same plan
gives the same numbers whichever engine produced it. Bands:
  floor    every pool at min_nodes, plus always-on parts (control plane, NAT, load balancer, storage)
  expected the nodes the models' minimum replicas need (at least min_nodes)
  max      every pool at max_nodes
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import registry
from ..catalog import HOURS_PER_MONTH, CloudCatalog, Machine
from ..catalog import load as load_catalog
from ..engine.plan import Plan, Step
from ..labels import POOL_LABEL as POOL_LABEL  # re-exported for the clouds' pricers


@dataclass(frozen=True)
class Band:
    floor: float
    expected: float
    max: float

    def __add__(self, other: Band) -> Band:
        return Band(self.floor + other.floor, self.expected + other.expected, self.max + other.max)

    def scale(self, k: float) -> Band:
        return Band(self.floor * k, self.expected * k, self.max * k)

    def to_json(self, digits: int = 2) -> dict[str, float]:
        return {
            "floor": round(self.floor, digits),
            "expected": round(self.expected, digits),
            "max": round(self.max, digits),
        }


@dataclass(frozen=True)
class Line:
    resource: str  # node_pools.l4, cluster, buckets.weights, ...
    sku: str
    unit: str  # node-hour, cluster-hour, GB-month, ...
    unit_price: float
    quantity: Band
    hours: float = HOURS_PER_MONTH  # 1 for units already per month
    credit: float = 0.0  # monthly credit taken off every band (GKE free tier)
    note: str = ""

    @property
    def monthly(self) -> Band:
        raw = self.quantity.scale(self.unit_price * self.hours)
        return Band(max(raw.floor - self.credit, 0), max(raw.expected - self.credit, 0), max(raw.max - self.credit, 0))

    def to_json(self) -> dict[str, Any]:
        q = self.quantity
        quantity = {
            k: (int(v) if float(v).is_integer() else v)
            for k, v in {"floor": q.floor, "expected": q.expected, "max": q.max}.items()
        }
        out = {
            "resource": self.resource,
            "sku": self.sku,
            "unit": self.unit,
            "unit_price": round(self.unit_price, 6),
            "quantity": quantity,
            "monthly": self.monthly.to_json(),
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Usage:
    """Usage-based quantities; the stack's `usage:` section overrides these documented defaults."""

    stored_gb: float = 100.0  # per bucket
    nat_gb_month: float = 50.0
    egress_gb_month: float = 10.0
    requests_per_month: float = 1_000_000


@dataclass
class PricingContext:
    catalog: CloudCatalog
    region: str
    expected_nodes: dict[str, int]  # pool name -> nodes the models' min replicas need
    usage: Usage = field(default_factory=Usage)
    cluster_tier: str = "standard"
    name_prefix: str = ""  # components name their resources f"{prefix}{stack key}"
    billed_once: set[str] = field(default_factory=set)  # stack-wide usage lines already priced

    def first_time(self, key: str) -> bool:
        """True once per key: a usage estimate for the whole stack is billed once, however many
        resources share it (AWS puts one NAT gateway per zone)."""
        if key in self.billed_once:
            return False
        self.billed_once.add(key)
        return True

    def price(self, key: str) -> float:
        return float(self.catalog.service(key, self.region, 0.0) or 0.0)

    def hourly(self, resource: str, sku: str, unit: str, price_key: str, note: str = "") -> Line:
        """One always-on unit priced per hour from the catalog's services."""
        return Line(resource, sku, unit, self.price(price_key), Band(1, 1, 1), note=note)

    def monthly(self, resource: str, sku: str, unit: str, price_key: str, note: str = "") -> Line:
        """One always-on unit priced per month from the catalog's services (a key, a secret)."""
        return Line(resource, sku, unit, self.price(price_key), Band(1, 1, 1), hours=1, note=note)

    def per_gb(self, resource: str, sku: str, price_key: str, gb: float, note: str, unit: str = "GB") -> Line:
        """A usage-based line: GB (a month, or stored: unit GB-month) from the stack's usage: at the
        catalog's per-GB price."""
        return self.per_month(resource, sku, unit, price_key, gb, note)

    def per_month(self, resource: str, sku: str, unit: str, price_key: str, quantity: float, note: str) -> Line:
        """`quantity` units a month (requests in millions, rules, GB) at the catalog's per-unit price."""
        return Line(resource, sku, unit, self.price(price_key), Band(quantity, quantity, quantity), hours=1, note=note)

    def key_of(self, step: Step) -> str:
        """The stack key (bucket or pool name) behind a resource named with the stack's prefix."""
        return step.name.removeprefix(self.name_prefix)


Pricer = Callable[[Step, PricingContext], Iterable[Line]]
_PRICERS: dict[str, dict[str, Pricer]] = {}
_BILLABLE: dict[Pricer, Callable[[Step], bool]] = {}


def pricer(cloud: str, *types: str, when: Callable[[Step], bool] | None = None) -> Callable[[Pricer], Pricer]:
    """Register a function that prices resources of `types` on `cloud`; `when` selects the billable ones
    (a Kubernetes Service costs only as type LoadBalancer). A billable resource priced at nothing is
    reported as unpriced."""

    def register(fn: Pricer) -> Pricer:
        for t in types:
            _PRICERS.setdefault(cloud, {})[t] = fn
        if when is not None:
            _BILLABLE[fn] = when
        return fn

    return register


def registered_pricers(cloud: str) -> dict[str, Pricer]:
    """The pricers registered (with @pricer) for `cloud` so far; Cloud.pricers imports its module first."""
    return _PRICERS.get(cloud, {})


def _load_pricers(cloud: str) -> Mapping[str, Pricer]:
    return registry.cloud(cloud).pricers()


def pool_band(min_nodes: int, max_nodes: int, expected: int | None) -> Band:
    exp = min(max(expected if expected is not None else min_nodes, min_nodes), max_nodes)
    return Band(min_nodes, exp, max_nodes)


def node_line(resource: str, machine: Machine, price_hourly: float, spot: bool, band: Band, note: str = "") -> Line:
    sku = machine.machine_type + (" (spot)" if spot else "")
    if machine.accelerator:
        note = note or f"{machine.count} × {machine.accelerator} per node"
    return Line(resource, sku, "node-hour", price_hourly, band, note=note)


def price_plan(
    plan: Plan,
    *,
    region: str,
    expected_nodes: dict[str, int],
    usage: Usage | None = None,
    cluster_tier: str = "standard",
) -> dict[str, Any]:
    """The cost JSON (contract 4) of `plan`."""
    cat = load_catalog(plan.cloud)
    ctx = PricingContext(
        cat, region, expected_nodes, usage or Usage(), cluster_tier, name_prefix=f"llm-{plan.environment}-"
    )
    pricers = _load_pricers(plan.cloud)
    lines: list[Line] = []
    unpriced: list[str] = []
    for step in plan.resources():
        if step.op in ("delete", "discard", "read"):
            continue
        fn = pricers.get(step.type)
        if fn is not None and _BILLABLE.get(fn, lambda _: True)(step):
            priced = list(fn(step, ctx))
            lines.extend(priced)
            if not priced:
                unpriced.append(f"{step.type}::{step.name}")
    egress = float(cat.service("egress_gb", region, 0.0) or 0.0)
    if egress and ctx.usage.egress_gb_month:
        gb = ctx.usage.egress_gb_month
        lines.append(
            Line(
                "network.egress",
                "Internet egress",
                "GB",
                egress,
                Band(gb, gb, gb),
                hours=1,
                note="usage.egress_gb_month",
            )
        )
    lines.sort(key=lambda line: (not line.resource.startswith("node_pools"), line.resource, line.sku))
    total = sum((line.monthly for line in lines), Band(0, 0, 0))
    return {
        "currency": "USD",
        "hours_per_month": HOURS_PER_MONTH,
        "cloud": plan.cloud,
        "region": region,
        "prices_as_of": cat.as_of,
        "monthly": total.to_json(),
        "lines": [line.to_json() for line in lines],
        "unpriced": unpriced,
    }


def expected_nodes(resolved: Any) -> dict[str, int]:
    """Nodes each pool needs for the models' minimum replicas (at least its min_nodes)."""
    need: dict[str, int] = {name: 0 for name in resolved.node_pools}
    for model in resolved.models.values():
        need[model.node_pool] += model.nodes_for(model.replicas_min)
    return {name: max(n, resolved.node_pools[name].min_nodes) for name, n in need.items()}


def cost_for(plan: Plan, resolved: Any) -> dict[str, Any]:
    usage = getattr(resolved, "usage", None)
    cost = price_plan(
        plan,
        region=resolved.region,
        expected_nodes=expected_nodes(resolved),
        usage=Usage(**usage) if usage else None,
        cluster_tier=registry.cloud(resolved.cloud).cluster_tier(resolved),
    )
    cost["models"] = token_costs(cost, resolved)
    return cost


def over_budget(cost: dict[str, Any], budget: float | None, band: str = "expected") -> str | None:
    """A one-line reason when the `band` monthly cost exceeds `budget`, else None."""
    if budget is None:
        return None
    value = cost["monthly"][band]
    if value > budget:
        return f"the {band} monthly cost ${value:,.2f} exceeds the budget of ${budget:,.2f}"
    return None


# ------------------------------------------------------------------ cost per million output tokens


def token_costs(cost: dict[str, Any], resolved: Any) -> list[dict[str, Any]]:
    """Per model: estimated output tokens/s per replica for its workload (models.<m>.workload; default
    1000 in / 200 out, as many in flight as the KV cache holds), TTFT/TPOT, USD per million output
    tokens at the pool's hourly price, the replicas a requests_per_second needs and whether the latency
    targets hold (components/estimate.py explains the model)."""
    from .. import estimate as E
    from ..sizing import facts_for

    hourly = {
        line["resource"].removeprefix("node_pools."): line["unit_price"]
        for line in cost["lines"]
        if line["resource"].startswith("node_pools.")
    }
    out = []
    seen: dict[tuple[Any, ...], Any] = {}  # models that share checkpoint, pool shape and workload share the answer
    for name, model in resolved.models.items():
        pool = resolved.node_pools[model.node_pool]
        facts = facts_for(model.source)
        price = hourly.get(pool.name)
        if facts is None or price is None:
            continue
        w = model.workload
        workload = E.Workload(
            w.input_tokens if w else 1000,
            w.output_tokens if w else 200,
            w.concurrency if w else None,
            w.ttft_ms if w else None,
            w.tpot_ms if w else None,
        )
        # No concurrency and no latency target: as many in flight as the KV cache holds (estimate() finds
        # the largest concurrency that meets the targets, and with none that is the KV-cache cap), never
        # more clients than the batch, whose queueing would only inflate the TTFT.
        accelerators = model.tensor_parallel * model.nodes_per_replica
        key = (facts, pool.accelerator, accelerators, model.quantization, workload)
        if key not in seen:
            try:
                seen[key] = E.estimate(facts, pool.accelerator, accelerators, model.quantization, workload)
            except E.EstimateError:
                seen[key] = None  # no figures for the accelerator, or it does not fit: the fit check says so
        result = seen[key]
        if result is None:
            continue
        replica_hourly = price * model.nodes_per_replica / model.replicas_per_node
        row = {
            "model": name,
            "pool": pool.name,
            "accelerator": pool.accelerator,
            "input_tokens": workload.input_tokens,
            "output_tokens": workload.output_tokens,
            "concurrency": min(result.concurrency, result.max_concurrency),
            "tokens_per_second": round(result.output_tokens_per_second, 1),
            "ttft_ms": round(result.ttft_ms, 1),
            "tpot_ms": round(result.tpot_ms, 2),
            "meets_targets": result.meets_targets,
            "usd_per_million_output_tokens": round(replica_hourly / (result.output_tokens_per_second * 3600) * 1e6, 4),
            "estimate": True,
        }
        if w is not None and w.requests_per_second:
            per_replica = result.output_tokens_per_second / workload.output_tokens
            row["replicas_needed"] = max(1, math.ceil(w.requests_per_second / per_replica))
        out.append(row)
    return out
