"""Google Cloud pricers: GKE node pools (GPU, TPU, CPU), the cluster fee, Cloud NAT, Cloud Storage."""

from __future__ import annotations

from collections.abc import Iterator

from ..cost import POOL_LABEL, Band, Line, PricingContext, node_line, pool_band, pricer
from ..engine.plan import Step


def _is_zone(location: str) -> bool:
    return location.count("-") >= 2


@pricer("gcp", "gcp:container/nodePool:NodePool")
def node_pool(step: Step, ctx: PricingContext) -> Iterator[Line]:
    cfg = step.inputs.get("nodeConfig", {})
    machine_type = cfg.get("machineType", "")
    accs = cfg.get("guestAccelerators") or []
    count = int(accs[0].get("count", 1)) if accs else None
    spot = bool(cfg.get("spot") or cfg.get("preemptible"))
    pool = (cfg.get("labels") or {}).get(POOL_LABEL, step.name)
    cat = ctx.catalog
    machine = next(
        (m for m in cat.machines if m.machine_type == machine_type and (count is None or m.count == count)), None
    ) or cat.cpu_machine(machine_type)
    if machine is None:
        return
    price = cat.machine_price(ctx.region, machine)
    if price is None:
        return
    scaling = step.inputs.get("autoscaling") or {}
    lo = int(scaling.get("totalMinNodeCount", scaling.get("minNodeCount", step.inputs.get("nodeCount", 1))))
    hi = int(scaling.get("totalMaxNodeCount", scaling.get("maxNodeCount", lo)))
    resource = "cluster.system_pool" if pool == "system" else f"node_pools.{pool}"
    expected = ctx.expected_nodes.get(pool)
    note = ""
    if machine.accelerator and cat.accelerators[machine.accelerator].billing == "attached":
        note = f"VM + {machine.count} × {machine.accelerator} billed per GPU-hour"
    elif machine.accelerator and cat.accelerators[machine.accelerator].billing == "per_chip":
        note = f"{machine.count} TPU chips × chip-hour price"
    # Flex-start is billed at Dynamic Workload Scheduler prices: discounts "up to 53 %", no fixed rate, so
    # the on-demand price is the honest upper bound (https://cloud.google.com/kubernetes-engine/docs/concepts/dws).
    # A reservation bills its VMs at on-demand rates whether nodes use them or not.
    affinity = (cfg.get("reservationAffinity") or {}).get("consumeReservationType")
    if cfg.get("flexStart"):
        note = "; ".join(filter(None, [note, "flex-start: priced as on demand (DWS discounts up to 53 %)"]))
    elif affinity == "SPECIFIC_RESERVATION":
        note = "; ".join(filter(None, [note, "from a reservation: on-demand rate, billed while reserved"]))
    if note and machine.accelerator and "×" not in note:
        note = f"{machine.count} × {machine.accelerator} per node; {note}"
    yield node_line(resource, machine, price.hourly(spot), spot, pool_band(lo, hi, expected), note)


@pricer("gcp", "gcp:container/cluster:Cluster")
def cluster(step: Step, ctx: PricingContext) -> Iterator[Line]:
    fee = float(ctx.catalog.service("cluster_hour", ctx.region, {}).get("standard", 0.10))
    zonal = _is_zone(str(step.inputs.get("location", "")))
    # The GKE free tier credit covers one zonal (or Autopilot) cluster per billing account.
    credit = float(ctx.catalog.service("cluster_free_credit_month", ctx.region, 0.0)) if zonal else 0.0
    yield Line(
        "cluster",
        "GKE cluster management fee",
        "cluster-hour",
        fee,
        Band(1, 1, 1),
        credit=credit,
        note="zonal: free tier credit applied (one per billing account)" if zonal else "regional",
    )


@pricer("gcp", "gcp:compute/routerNat:RouterNat")
def nat(step: Step, ctx: PricingContext) -> Iterator[Line]:
    yield ctx.hourly("network.nat", "Cloud NAT gateway", "gateway-hour", "nat_gateway_hour")
    yield ctx.per_gb(
        "network.nat", "Cloud NAT data processing", "nat_gateway_gb", ctx.usage.nat_gb_month, "usage.nat_gb_month"
    )


@pricer("gcp", "gcp:storage/bucket:Bucket")
def bucket(step: Step, ctx: PricingContext) -> Iterator[Line]:
    if step.name.endswith("-access-logs"):  # GcsWeightsBucket's log bucket (labels may be secret in a preview)
        return  # usage logs of the weights bucket: a few MB a day, not the weights' usage.stored_gb
    yield ctx.per_gb(
        f"buckets.{ctx.key_of(step)}",
        "Cloud Storage Standard",
        "object_storage_gb_month",
        ctx.usage.stored_gb,
        "usage.stored_gb",
        unit="GB-month",
    )


@pricer("gcp", "kubernetes:gateway.networking.k8s.io/v1:Gateway")
def gateway(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """The GKE Gateway controller creates a global external Application Load Balancer: one forwarding
    rule, plus the bytes it processes (the responses: usage.egress_gb_month)."""
    yield ctx.hourly("front_door", "Application Load Balancer forwarding rule", "rule-hour", "load_balancer_hour")
    yield ctx.per_gb(
        "front_door",
        "Application Load Balancer data processed",
        "load_balancer_gb",
        ctx.usage.egress_gb_month,
        "usage.egress_gb_month",
    )


@pricer("gcp", "gcp:secretmanager/secretVersion:SecretVersion")
def secret_version(step: Step, ctx: PricingContext) -> Iterator[Line]:
    yield ctx.monthly("front_door.api_keys", "Secret Manager active version", "version-month", "secret_month")
