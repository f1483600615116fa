"""Azure pricers: AKS agent pools (GPU, CPU, Spot), the cluster's system pool and tier fee, the NAT
gateway and its public IP (Standard, or prod's StandardV2 generic resources), the load balancer of a cluster
that egresses through it, Blob storage."""

from __future__ import annotations

from collections.abc import Iterator

from ..cost import POOL_LABEL, Band, Line, PricingContext, node_line, pool_band, pricer
from ..engine.plan import Step

TIER_NOTES = {
    "free": "Free tier: no uptime SLA",
    "standard": "Standard tier: uptime SLA",
    "premium": "Premium tier: SLA + long-term support",
}


def _pool_lines(resource: str, profile: dict, ctx: PricingContext, pool: str) -> Iterator[Line]:
    cat = ctx.catalog
    vm_size = profile.get("vmSize", "")
    machine = next((m for m in cat.machines if m.machine_type == vm_size), None) or cat.cpu_machine(vm_size)
    if machine is None:
        return
    price = cat.machine_price(ctx.region, machine)
    if price is None:
        return
    spot = profile.get("scaleSetPriority") == "Spot"
    lo = int(
        profile.get("minCount", profile.get("count", 1))
        if profile.get("enableAutoScaling")
        else profile.get("count", 1)
    )
    hi = int(profile.get("maxCount", lo) if profile.get("enableAutoScaling") else lo)
    band = pool_band(lo, hi, ctx.expected_nodes.get(pool))
    yield node_line(resource, machine, price.hourly(spot), spot, band)


@pricer("azure", "azure-native:containerservice:AgentPool")
def agent_pool(step: Step, ctx: PricingContext) -> Iterator[Line]:
    pool = (step.inputs.get("nodeLabels") or {}).get(POOL_LABEL, ctx.key_of(step))
    resource = "cluster.system_pool" if pool == "system" else f"node_pools.{pool}"
    yield from _pool_lines(resource, step.inputs, ctx, pool)


@pricer("azure", "azure-native:containerservice:ManagedCluster")
def managed_cluster(step: Step, ctx: PricingContext) -> Iterator[Line]:
    for profile in step.inputs.get("agentPoolProfiles") or []:
        pool = (profile.get("nodeLabels") or {}).get(POOL_LABEL, profile.get("name", "system"))
        resource = "cluster.system_pool" if profile.get("mode") == "System" else f"node_pools.{pool}"
        yield from _pool_lines(resource, profile, ctx, pool)
    tier = str((step.inputs.get("sku") or {}).get("tier") or ctx.cluster_tier).lower()
    fees = ctx.catalog.service("cluster_hour", ctx.region, {}) or {}
    yield Line(
        "cluster",
        f"AKS {tier.capitalize()} tier",
        "cluster-hour",
        float(fees.get(tier, 0.0)),
        Band(1, 1, 1),
        note=TIER_NOTES.get(tier, ""),
    )
    network = step.inputs.get("networkProfile") or {}
    if network.get("outboundType", "loadBalancer") == "loadBalancer":
        # Egress through the cluster's Standard Load Balancer (created by AKS in the node resource group).
        yield ctx.hourly("network.load_balancer", "Standard Load Balancer (outbound)", "lb-hour", "load_balancer_hour")
        yield ctx.per_gb(
            "network.load_balancer",
            "Standard Load Balancer data processed",
            "load_balancer_gb",
            ctx.usage.nat_gb_month,
            "usage.nat_gb_month",
        )
        outbound = ((network.get("loadBalancerProfile") or {}).get("managedOutboundIPs") or {}).get("count")
        if outbound:
            yield Line(
                "network.load_balancer",
                "Standard public IPv4 (AKS-managed outbound)",
                "ip-hour",
                ctx.price("public_ip_hour"),
                Band(int(outbound), int(outbound), int(outbound)),
            )


@pricer("azure", "azure-native:dns:Zone")
def dns_zone(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """The public zone llmcloud creates when the stack names none (gateway.dns_zone); queries are extra."""
    yield ctx.monthly("front_door", "Azure DNS public zone", "zone-month", "dns_zone_month")


@pricer("azure", "azure-native:network:NatGateway")
def nat_gateway(step: Step, ctx: PricingContext) -> Iterator[Line]:
    yield ctx.hourly("network.nat", "NAT gateway", "gateway-hour", "nat_gateway_hour")
    yield ctx.per_gb(
        "network.nat", "NAT gateway data processed", "nat_gateway_gb", ctx.usage.nat_gb_month, "usage.nat_gb_month"
    )


@pricer("azure", "azure-native:network:PublicIPAddress")
def public_ip(step: Step, ctx: PricingContext) -> Iterator[Line]:
    yield ctx.hourly("network.nat", "Standard public IPv4 (static)", "ip-hour", "public_ip_hour")


def _is_generic_network(step: Step) -> bool:
    return step.inputs.get("resourceProviderNamespace") == "Microsoft.Network" and step.inputs.get("resourceType") in (
        "natGateways",
        "publicIPAddresses",
    )


@pricer("azure", "azure-native:resources:Resource", when=_is_generic_network)
def generic_network(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """Prod's StandardV2 NAT gateway and its public IP, declared as generic ARM resources (network.py):
    StandardV2 costs what Standard costs (nat-sku); the StandardV2 IP is priced as a Standard one (assumed)."""
    if step.inputs.get("resourceType") == "natGateways":
        yield from nat_gateway(step, ctx)
    else:
        yield ctx.hourly("network.nat", "StandardV2 public IPv4 (static)", "ip-hour", "public_ip_hour")


@pricer("azure", "azure-native:storage:StorageAccount")
def storage_account(step: Step, ctx: PricingContext) -> Iterator[Line]:
    sku = str((step.inputs.get("sku") or {}).get("name", "Standard_LRS"))
    key = "object_storage_zrs_gb_month" if sku.endswith("ZRS") else "object_storage_gb_month"
    yield ctx.per_gb(
        f"buckets.{ctx.key_of(step)}",
        f"Blob Storage Hot {sku.removeprefix('Standard_')}",
        key,
        ctx.usage.stored_gb,
        "usage.stored_gb",
        unit="GB-month",
    )


def _is_load_balancer(step: Step) -> bool:
    return (step.inputs.get("spec") or {}).get("type") == "LoadBalancer"


@pricer("azure", "kubernetes:core/v1:Service", when=_is_load_balancer)
def load_balancer_service(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """A Service of type LoadBalancer (the front door) adds a rule to the cluster's Standard Load Balancer
    and a public IP; AKS bills the rules and the processed bytes."""
    yield ctx.hourly("front_door", "Standard Load Balancer rule", "rule-hour", "load_balancer_hour")
    annotations = (step.inputs.get("metadata") or {}).get("annotations") or {}
    if annotations.get("service.beta.kubernetes.io/azure-load-balancer-internal") != "true":
        yield ctx.hourly("front_door", "Standard public IPv4 (front door)", "IP-hour", "public_ip_hour")
    yield ctx.per_gb(
        "front_door",
        "Standard Load Balancer data processed",
        "load_balancer_gb",
        ctx.usage.egress_gb_month,
        "usage.egress_gb_month",
    )


@pricer("azure", "azure-native:apimanagement:ApiManagementService")
def api_management(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """gateway.kind managed: API Management v2 is billed per unit-month (requests included up to the tier's
    quota)."""
    sku = step.inputs.get("sku") or {}
    tier, units = str(sku.get("name", "StandardV2")), int(sku.get("capacity", 1))
    price = float((ctx.catalog.service("api_management_unit_month", ctx.region, {}) or {}).get(tier.lower(), 0.0))
    yield Line("front_door", f"API Management {tier}", "unit-month", price, Band(units, units, units), hours=1)
