"""Leftovers: what still carries a stack's label in the cloud after `destroy`, with its monthly cost.

Each cloud is asked through its inventory API, by the `llmcloud-stack` label that every resource got
(components/labels.py): GCP Cloud Asset Inventory, AWS Resource Groups Tagging API, Azure Resource
Graph. Data that destroy keeps on purpose (weights buckets) is listed as kept, not as a leftover.
Costs are estimates from the catalog (machines, NAT, load balancers, control planes) and the list
prices below (disks per GB-month, addresses per hour); "?" where the type or size is not known.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..catalog import HOURS_PER_MONTH

# List prices (USD, us regions, on 2026-07-30) the catalog does not carry; estimates.
# GCP: https://cloud.google.com/compute/disks-image-pricing, https://cloud.google.com/vpc/network-pricing
# AWS: https://aws.amazon.com/ebs/pricing/, https://aws.amazon.com/vpc/pricing/ (public IPv4)
# Azure: https://azure.microsoft.com/pricing/details/managed-disks/ (per GB, approximating the tiers)
DISK_GB_MONTH = {
    "gcp": {"pd-standard": 0.04, "pd-balanced": 0.10, "pd-ssd": 0.17, "hyperdisk-balanced": 0.08, "": 0.10},
    "aws": {"gp3": 0.08, "gp2": 0.10, "io1": 0.125, "io2": 0.125, "st1": 0.045, "sc1": 0.015, "standard": 0.05,
            "": 0.08},
    "azure": {"Premium_LRS": 0.15, "StandardSSD_LRS": 0.075, "Standard_LRS": 0.045, "PremiumV2_LRS": 0.12,
              "": 0.15},
}
ADDRESS_HOUR = {"gcp": 0.01, "aws": 0.005, "azure": 0.005}  # a public IPv4 address left reserved


@dataclass
class Leftover:
    type: str  # the cloud's resource type (compute.googleapis.com/Disk, ec2:volume, microsoft.compute/disks)
    name: str
    id: str
    location: str = ""
    monthly: float | None = None  # estimated USD per month; None: unknown
    kept: bool = False  # data that destroy keeps on purpose (weights buckets)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    cloud: str
    stack: str
    leftovers: list[Leftover] = field(default_factory=list)
    skipped: str | None = None

    @property
    def billable(self) -> list[Leftover]:
        return [x for x in self.leftovers if not x.kept]

    @property
    def monthly(self) -> float:
        return round(sum(x.monthly or 0.0 for x in self.billable), 2)

    def to_json(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "stack": self.stack, "skipped": self.skipped,
                "monthly_estimate": self.monthly, "leftovers": [x.to_json() for x in self.leftovers]}


def month(hourly: float | None) -> float | None:
    return round(hourly * HOURS_PER_MONTH, 2) if hourly is not None else None


def machine_month(cloud: str, region: str, machine_type: str, count: int = 1, spot: bool = False) -> float | None:
    """Monthly list price of `count` nodes of `machine_type` from the catalog; None when not in it."""
    from .. import catalog

    cat = catalog.load(cloud)
    for m in [*cat.machines, *cat.cpu_machines]:
        if m.machine_type == machine_type:
            price = cat.machine_price(region, m)
            if price is not None:
                return round(price.hourly(spot) * HOURS_PER_MONTH * count, 2)
    return None


def service_month(cloud: str, key: str, region: str = "", sub: str | None = None) -> float | None:
    from .. import catalog

    value = catalog.load(cloud).service(key, region or None)
    if isinstance(value, dict):
        value = value.get(sub or "standard")
    return month(float(value)) if value is not None else None


def disk_month(cloud: str, size_gb: Any, kind: str = "") -> float | None:
    try:
        size = float(size_gb)
    except (TypeError, ValueError):
        return None
    table = DISK_GB_MONTH[cloud]
    return round(size * table.get(kind, table[""]), 2)


def run(cloud: str, stack: str, **clients: Any) -> Report:
    """Ask `cloud` for resources labelled llmcloud-stack=`stack`. `clients` as in each cloud's `find`
    (tests inject them); unreachable APIs give a skipped report."""
    from importlib import import_module

    from ..ops_http import ApiError, Unreachable

    report = Report(cloud, stack)
    try:
        report.leftovers = import_module(f"{__name__}.{cloud}").find(stack, **clients)
    except Unreachable as exc:
        report.skipped = str(exc)
    except ApiError as exc:
        report.skipped = f"the {cloud} API refused: {exc}"
    return report
