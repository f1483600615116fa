"""AWS leftovers: Resource Groups Tagging API (GetResources by tag), priced where the type is known.

https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
The tagging API lists resources that carry (or once carried) tags; a terminated instance can stay
listed for a while, so instances are confirmed with DescribeInstances.
"""

from __future__ import annotations

from typing import Any

from ..labels import STACK_KEY
from ..leftovers import Leftover, disk_month, machine_month, month, service_month
from .preflight import _call

# List prices (USD, us regions, on 2026-07-30) the catalog does not carry; estimates.
# https://aws.amazon.com/ebs/pricing/, https://aws.amazon.com/vpc/pricing/ (public IPv4)
DISK_GB_MONTH = {
    "gp3": 0.08,
    "gp2": 0.10,
    "io1": 0.125,
    "io2": 0.125,
    "st1": 0.045,
    "sc1": 0.015,
    "standard": 0.05,
    "": 0.08,
}
ADDRESS_HOUR = 0.005  # a public IPv4 address left reserved


def clients(region: str) -> tuple[Any, Any]:
    from ..ops_http import Unreachable

    try:
        import boto3
    except ImportError:
        raise Unreachable("boto3 is not installed: pip install boto3 (AWS checks need it)") from None
    return boto3.client("resourcegroupstaggingapi", region_name=region), boto3.client("ec2", region_name=region)


def _kind(arn: str) -> tuple[str, str, str]:
    """arn:aws:ec2:us-east-1:123:volume/vol-1 -> ("ec2:volume", "vol-1", "us-east-1")."""
    parts = arn.split(":", 5)
    service, region, rest = parts[2], parts[3], parts[5] if len(parts) > 5 else ""
    if "/" in rest:
        kind, ident = rest.split("/", 1)
    elif ":" in rest:
        kind, ident = rest.split(":", 1)
    else:
        kind, ident = "", rest
    return f"{service}:{kind}" if kind else service, ident, region


def find(stack: str, region: str = "us-east-1", tagging: Any = None, ec2: Any = None) -> list[Leftover]:
    if tagging is None or ec2 is None:
        tagging, ec2 = clients(region)
    found: list[Leftover] = []
    kwargs: dict[str, Any] = {"TagFilters": [{"Key": STACK_KEY, "Values": [stack]}]}
    while True:
        page = _call(tagging.get_resources, **kwargs) or {}
        for item in page.get("ResourceTagMappingList", []):
            arn = item["ResourceARN"]
            kind, ident, where = _kind(arn)
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            found.append(Leftover(type=kind, name=tags.get("Name", ident.rsplit("/", 1)[-1]), id=arn, location=where))
        token = page.get("PaginationToken")
        if not token:
            break
        kwargs["PaginationToken"] = token
    return [x for x in (_price(x, region, ec2) for x in found) if x is not None]


def _price(x: Leftover, region: str, ec2: Any) -> Leftover | None:
    ident = x.id.rsplit("/", 1)[-1]
    if x.type == "ec2:volume":
        vols = (_call(ec2.describe_volumes, VolumeIds=[ident]) or {}).get("Volumes", [])
        if vols:
            x.monthly = disk_month(DISK_GB_MONTH, vols[0].get("Size"), vols[0].get("VolumeType", ""))
            x.note = f"{vols[0].get('Size')} GB {vols[0].get('VolumeType', '')}"
    elif x.type == "ec2:elastic-ip":
        x.monthly = month(ADDRESS_HOUR)
    elif x.type == "ec2:instance":
        reservations = (_call(ec2.describe_instances, InstanceIds=[ident]) or {}).get("Reservations", [])
        instances = [i for r in reservations for i in r.get("Instances", [])]
        if instances and instances[0].get("State", {}).get("Name") in ("terminated", "shutting-down"):
            return None  # gone: the tagging API lags behind
        if instances:
            itype = instances[0].get("InstanceType", "")
            x.monthly = machine_month("aws", region, itype, spot=instances[0].get("InstanceLifecycle") == "spot")
            x.note = itype
    elif x.type == "ec2:natgateway":
        x.monthly = service_month("aws", "nat_gateway_hour", region)
    elif x.type.startswith("elasticloadbalancing:loadbalancer"):
        x.monthly = service_month("aws", "load_balancer_hour", region)
    elif x.type == "eks:cluster":
        x.monthly = service_month("aws", "cluster_hour", region)
    elif x.type == "kms:key":
        x.monthly = 1.0  # a customer-managed key, per month
    elif x.type == "s3" or x.type.startswith("s3:"):
        x.kept, x.note = True, "data (kept by destroy without --delete-data)"
    elif x.type in (
        "ec2:vpc",
        "ec2:subnet",
        "ec2:route-table",
        "ec2:security-group",
        "ec2:internet-gateway",
        "iam:role",
        "ec2:launch-template",
        "logs:log-group",
        "ec2:vpc-endpoint",
    ):
        x.monthly = 0.0  # free, or billed only by use
    return x
