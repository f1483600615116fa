"""Capacity and quota preflight: would the clouds let every accelerator pool reach max_nodes?

For each accelerator pool, two questions, asked of the cloud's APIs before `up`:
- quota: the region's limit for that accelerator family (GCP counts GPUs/TPU chips, AWS and Azure
  count vCPUs of the instance family), minus what is already used, against max_nodes x per node;
- zones: which of the pool's zones offer the accelerator (machine/SKU) to this project/subscription.

Verdicts: ok, quota (the limit is too low: a quota request fixes it), no-zone (none of the pool's
zones offers it to you: change zones or region), unknown (the API did not say). What no API can say
in advance is a stockout: the zone offers the machine and the quota is there, but the cloud has no
free machines at that moment (GCP ZONE_RESOURCE_POOL_EXHAUSTED, AWS InsufficientInstanceCapacity,
Azure AllocationFailed / ZonalAllocationFailed). `explain()` tells the two apart in deploy errors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PoolCheck:
    pool: str
    machine_type: str
    accelerator: str
    zones: list[str]  # the pool's zones
    offered: list[str] | None  # of those, the zones that offer it (None: not known)
    need: int  # max_nodes x GPUs (GCP) or vCPUs (AWS, Azure) per node
    unit: str  # GPUs | TPU chips | vCPUs
    metric: str  # the quota's name at the cloud
    limit: float | None = None
    used: float | None = None
    verdict: str = "unknown"
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    cloud: str
    region: str
    checks: list[PoolCheck] = field(default_factory=list)
    skipped: str | None = None  # why nothing was asked (offline, no credentials)

    @property
    def blocking(self) -> list[PoolCheck]:
        return [c for c in self.checks if c.verdict in ("quota", "no-zone")]

    def to_json(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "region": self.region,
            "skipped": self.skipped,
            "blocking": len(self.blocking),
            "checks": [c.to_json() for c in self.checks],
        }


def judge(check: PoolCheck) -> PoolCheck:
    """Set verdict and note from what the APIs said."""
    if check.offered is not None and not check.offered:
        check.verdict = "no-zone"
        check.note = (
            f"{check.machine_type} is not offered to you in {', '.join(check.zones)}: pick other zones or "
            "another region (a stack-file change, not a quota request)"
        )
        return check
    if check.limit is None:
        check.verdict = "unknown"
        check.note = check.note or f"the quota {check.metric} was not found; check it in the console"
        return check
    free = check.limit - (check.used or 0)
    if check.need > free:
        check.verdict = "quota"
        if check.limit == 0 and check.offered:
            check.note = (
                f"quota {check.metric} is 0 although {', '.join(check.offered)} offer {check.machine_type}: "
                "it is a quota increase away, not unavailable"
            )
        else:
            check.note = f"needs {check.need} {check.unit}, {free:g} free of {check.limit:g}: request an increase"
        return check
    check.verdict = "ok"
    if check.offered is not None and len(check.offered) < len(check.zones):
        missing = sorted(set(check.zones) - set(check.offered))
        check.note = f"not offered in {', '.join(missing)}"
    return check


# What deploy errors mean: a quota (fixable by a request) or a stockout (retry later / elsewhere).
STOCKOUT = (
    "ZONE_RESOURCE_POOL_EXHAUSTED",
    "does not have enough resources available",
    "InsufficientInstanceCapacity",
    "AllocationFailed",
    "ZonalAllocationFailed",
    "OverconstrainedAllocationRequest",
    "GCE_STOCKOUT",
)
# The size is not sold to this subscription/account in that zone (a no-zone verdict, not a stockout).
RESTRICTED = (
    "SkuNotAvailable",
    "NotAvailableForSubscription",
    "Unsupported: Your requested instance type",
    "is not supported in your requested Availability Zone",
)
QUOTA = (
    "QUOTA_EXCEEDED",
    "Quota '",
    "quota exceeded",
    "VcpuLimitExceeded",
    "exceeds approved",
    "OperationNotAllowed",
    "QuotaExceeded",
    "Insufficient regional quota",
)


def explain(message: str) -> str | None:
    """'quota', 'stockout' or 'restricted' for a cloud's deploy error, None when it is none of them."""
    lower = message.lower()
    if any(r.lower() in lower for r in RESTRICTED):
        return "restricted"
    if any(s.lower() in lower for s in STOCKOUT):
        return "stockout"
    if any(q.lower() in lower for q in QUOTA):
        return "quota"
    return None


def run(resolved: Any, **clients: Any) -> Report:
    """Ask the target cloud about every accelerator pool of `resolved`. `clients` are injected by tests
    (a JsonApi for GCP/Azure, boto3 clients for AWS); without them the cloud's default credentials are used.
    Unreachable APIs (offline, no credentials) give a skipped report, never an exception."""
    from .. import registry
    from ..ops_http import ApiError, Unreachable

    cloud = registry.cloud(resolved.cloud)
    report = Report(resolved.cloud, resolved.region)
    pools = [p for p in resolved.node_pools.values() if p.kind != "cpu"]
    if not pools:
        return report
    try:
        report.checks = cloud.preflight(resolved, pools, **clients)
    except Unreachable as exc:
        report.skipped = str(exc)
    except ApiError as exc:
        report.skipped = f"the {resolved.cloud} API refused: {exc}"
    return report
