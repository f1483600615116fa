"""AWS pricers: EKS managed node groups (GPU, Neuron, CPU), the EKS cluster fee (standard or
extended support), NAT gateways and their public IPv4 addresses, the secrets KMS key, S3, and prod's
WAFv2 web ACL, VPC flow logs and audit-log bucket."""

from __future__ import annotations

from collections.abc import Iterator

from ..cost import POOL_LABEL, Band, Line, PricingContext, node_line, pool_band, pricer
from ..engine.plan import Step


def _minor(version: str) -> tuple[int, int] | None:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except (ValueError, AttributeError):
        return None


def support_tier(version: str | None, support_type: str | None, eks_versions: dict[str, str]) -> str:
    """standard | extended: a version older than the catalog's `standard_min` pays extended support,
    unless the cluster's upgrade policy is STANDARD (EKS then upgrades it instead)."""
    current, threshold = _minor(version or ""), _minor(str(eks_versions.get("standard_min", "")))
    if current is None or threshold is None or current >= threshold:
        return "standard"
    return "standard" if (support_type or "EXTENDED").upper() == "STANDARD" else "extended"


@pricer("aws", "aws:eks/nodeGroup:NodeGroup")
def node_group(step: Step, ctx: PricingContext) -> Iterator[Line]:
    types = step.inputs.get("instanceTypes") or []
    if not types:
        return
    instance_type = types[0]
    spot = str(step.inputs.get("capacityType", "ON_DEMAND")).upper() == "SPOT"
    pool = (step.inputs.get("labels") or {}).get(POOL_LABEL, step.name)
    cat = ctx.catalog
    machine = next((m for m in cat.machines if m.machine_type == instance_type), None)
    machine = machine or cat.cpu_machine(instance_type)
    if machine is None:
        return
    price = cat.machine_price(ctx.region, machine)
    if price is None:
        return
    scaling = step.inputs.get("scalingConfig") or {}
    lo = int(scaling.get("minSize", scaling.get("desiredSize", 1)))
    hi = int(scaling.get("maxSize", lo))
    resource = "cluster.system_pool" if pool == "system" else f"node_pools.{pool}"
    band = pool_band(lo, hi, ctx.expected_nodes.get(pool))
    yield node_line(resource, machine, price.hourly(spot), spot, band)


@pricer("aws", "aws:eks/cluster:Cluster")
def cluster(step: Step, ctx: PricingContext) -> Iterator[Line]:
    fees = ctx.catalog.service("cluster_hour", ctx.region, {})
    versions = ctx.catalog.service("eks_versions", ctx.region, {}) or {}
    version = step.inputs.get("version")
    tier = support_tier(version, (step.inputs.get("upgradePolicy") or {}).get("supportType"), versions)
    fee = float(fees.get(tier, fees.get("standard", 0.10)))
    note = f"Kubernetes {version}: {tier} support" if version else "EKS default version: standard support"
    yield Line("cluster", f"EKS cluster ({tier} support)", "cluster-hour", fee, Band(1, 1, 1), note=note)


@pricer("aws", "aws:ec2/natGateway:NatGateway")
def nat(step: Step, ctx: PricingContext) -> Iterator[Line]:
    yield ctx.hourly("network.nat", "NAT gateway", "gateway-hour", "nat_gateway_hour", note=step.name)
    if ctx.first_time("nat-data"):
        yield ctx.per_gb(
            "network.nat",
            "NAT gateway data processing",
            "nat_gateway_gb",
            ctx.usage.nat_gb_month,
            "usage.nat_gb_month (S3 traffic skips NAT through the gateway endpoint)",
        )


@pricer("aws", "aws:ec2/eip:Eip")
def public_ip(step: Step, ctx: PricingContext) -> Iterator[Line]:
    line = ctx.hourly("network.public_ip", "public IPv4 address", "address-hour", "public_ipv4_hour", note=step.name)
    if line.unit_price:
        yield line


@pricer("aws", "aws:kms/key:Key")
def kms_key(step: Step, ctx: PricingContext) -> Iterator[Line]:
    line = ctx.monthly("cluster.secrets_key", "KMS customer managed key", "key-month", "kms_key_month")
    if line.unit_price:
        yield line


@pricer("aws", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def bucket(step: Step, ctx: PricingContext) -> Iterator[Line]:
    if step.name.endswith("-audit-logs"):  # components/aws/logs.py: sized by the catalog's assumption
        gb = float(ctx.catalog.service("audit_logs_gb_month", ctx.region, 0.0))
        yield ctx.per_gb(
            "audit_logs",
            "S3 Standard (audit logs)",
            "object_storage_gb_month",
            gb,
            "catalog audit_logs_gb_month (assumed)",
            unit="GB-month",
        )
        return
    yield ctx.per_gb(
        f"buckets.{ctx.key_of(step)}",
        "S3 Standard",
        "object_storage_gb_month",
        ctx.usage.stored_gb,
        "usage.stored_gb",
        unit="GB-month",
    )


@pricer("aws", "aws:lb/loadBalancer:LoadBalancer")
def load_balancer(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """The front door's ALB: hours, plus capacity units approximated by the bytes it serves."""
    yield ctx.hourly("front_door", "Application Load Balancer", "ALB-hour", "load_balancer_hour")
    yield ctx.per_gb(
        "front_door",
        "Application Load Balancer capacity (approx. by GB)",
        "load_balancer_gb",
        ctx.usage.egress_gb_month,
        "usage.egress_gb_month",
    )


@pricer("aws", "aws:secretsmanager/secret:Secret")
def secret(step: Step, ctx: PricingContext) -> Iterator[Line]:
    yield ctx.monthly("front_door.api_keys", "Secrets Manager secret", "secret-month", "secret_month")


@pricer("aws", "aws:apigateway/restApi:RestApi")
def rest_api(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """gateway.kind managed: REST API calls, per million (usage.requests_per_month)."""
    yield ctx.per_month(
        "front_door",
        "API Gateway REST API requests",
        "million requests",
        "front_door_million_requests",
        ctx.usage.requests_per_month / 1e6,
        "usage.requests_per_month",
    )


@pricer("aws", "aws:wafv2/webAcl:WebAcl")
def web_acl(step: Step, ctx: PricingContext) -> Iterator[Line]:
    """prod's WAFv2 web ACL: the ACL, each rule, and every request it inspects."""
    yield ctx.monthly("front_door.waf", "WAFv2 web ACL", "web-ACL-month", "waf_web_acl_month")
    yield ctx.per_month(
        "front_door.waf",
        "WAFv2 rules",
        "rule-month",
        "waf_rule_month",
        len(step.inputs.get("rules") or []),
        "rate-based + managed IP reputation",
    )
    yield ctx.per_month(
        "front_door.waf",
        "WAFv2 requests",
        "million requests",
        "waf_million_requests",
        ctx.usage.requests_per_month / 1e6,
        "usage.requests_per_month",
    )


@pricer("aws", "aws:ec2/flowLog:FlowLog")
def flow_log(step: Step, ctx: PricingContext) -> Iterator[Line]:
    gb = float(ctx.catalog.service("flow_logs_gb_month", ctx.region, 0.0))
    yield ctx.per_gb(
        "network.flow_logs", "VPC flow logs to S3", "flow_logs_gb", gb, "catalog flow_logs_gb_month (assumed)"
    )
