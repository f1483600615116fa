"""AWS preflight: EC2 vCPU quotas per instance family (Service Quotas) and the instance type's zones.

- quota: EC2 limits running instances by the vCPUs of a family, per region, on-demand and spot
  separately ("Running On-Demand G and VT instances", L-DB2E81BA, ...); usage is not part of the
  answer (it lives in CloudWatch), so `used` stays unknown and the need is compared to the limit;
  https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html
- zones: DescribeInstanceTypeOfferings with location type availability-zone-id: the catalog and the
  stack name AZs by ID (use1-az1), the same physical zone in every account.
Misleading: an instance type that is offered but has no capacity fails with
InsufficientInstanceCapacity (a stockout: retry, or another zone), while a quota fails with
VcpuLimitExceeded ("You have requested more vCPU capacity than your current vCPU limit") - and a
limit of 0 vCPUs for G or P instances, the default of new accounts, looks like "not available".
"""

from __future__ import annotations

from typing import Any

from ..ops_http import ApiError, Unreachable
from ..preflight import PoolCheck, judge

# family -> (on-demand quota code, spot quota code), Service Quotas codes of service "ec2".
QUOTA_CODES = {
    "G and VT": ("L-DB2E81BA", "L-3819A6DF"),
    "P": ("L-417A185B", "L-7212CCBC"),
    "Inf": ("L-1945791B", "L-B5D1601B"),
    "Trn": ("L-2C3B7624", "L-6B0D517C"),
    "DL": ("L-6E869C2A", "L-85EED4F7"),
    "Standard": ("L-1216C47A", "L-34B43A08"),
}


def family_of(instance_type: str) -> str:
    prefix = instance_type.split(".")[0].lower()
    if prefix.startswith(("g", "vt")):
        return "G and VT"
    if prefix.startswith("p"):
        return "P"
    if prefix.startswith("inf"):
        return "Inf"
    if prefix.startswith("trn"):
        return "Trn"
    if prefix.startswith("dl"):
        return "DL"
    return "Standard"


def quota_code(instance_type: str, spot: bool) -> str:
    return QUOTA_CODES[family_of(instance_type)][1 if spot else 0]


def clients(region: str) -> tuple[Any, Any]:
    try:
        import boto3
    except ImportError:
        raise Unreachable("boto3 is not installed: pip install boto3 (AWS checks need it)") from None
    return boto3.client("ec2", region_name=region), boto3.client("service-quotas", region_name=region)


def _call(fn: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        return fn(**kwargs)
    except NoCredentialsError:
        raise Unreachable("no AWS credentials (AWS_PROFILE, `aws sso login`, or a role)") from None
    except EndpointConnectionError as exc:
        raise Unreachable(f"the AWS API is not reachable ({exc})") from None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchResourceException",):
            return None
        raise ApiError(str(exc).splitlines()[0]) from None
    except BotoCoreError as exc:
        raise Unreachable(str(exc).splitlines()[0]) from None


def offered_zones(ec2: Any, instance_type: str) -> set[str]:
    zones: set[str] = set()
    kwargs: dict[str, Any] = {
        "LocationType": "availability-zone-id",
        "Filters": [{"Name": "instance-type", "Values": [instance_type]}],
    }
    while True:
        page = _call(ec2.describe_instance_type_offerings, **kwargs) or {}
        zones.update(o["Location"] for o in page.get("InstanceTypeOfferings", []))
        token = page.get("NextToken")
        if not token:
            return zones
        kwargs["NextToken"] = token


def quota_limit(quotas: Any, code: str) -> float | None:
    answer = _call(quotas.get_service_quota, ServiceCode="ec2", QuotaCode=code)
    if answer is None:  # never changed from the default: ask for the default
        answer = _call(quotas.get_aws_default_service_quota, ServiceCode="ec2", QuotaCode=code)
    value = (answer or {}).get("Quota", {}).get("Value")
    return float(value) if value is not None else None


def check(resolved: Any, pools: list[Any], ec2: Any = None, quotas: Any = None) -> list[PoolCheck]:
    if ec2 is None or quotas is None:
        ec2, quotas = clients(resolved.region)
    checks = []
    limits: dict[str, float | None] = {}
    for pool in pools:
        code = quota_code(pool.machine_type, pool.spot)
        if code not in limits:
            limits[code] = quota_limit(quotas, code)
        offered = offered_zones(ec2, pool.machine_type)
        family = family_of(pool.machine_type)
        c = PoolCheck(
            pool=pool.name,
            machine_type=pool.machine_type,
            accelerator=pool.accelerator,
            zones=list(pool.zones),
            offered=sorted(z for z in pool.zones if z in offered),
            need=pool.max_nodes * pool.vcpus,
            unit="vCPUs",
            metric=f"{code} ({'spot' if pool.spot else 'on-demand'} {family} instances)",
            limit=limits[code],
            used=None,
        )
        checks.append(judge(c))
    return checks
