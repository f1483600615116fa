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

# Disk and address prices the catalog does not carry live with each cloud's finder
# (components/<cloud>/leftovers.py: DISK_GB_MONTH, ADDRESS_HOUR).


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
        return {
            "cloud": self.cloud,
            "stack": self.stack,
            "skipped": self.skipped,
            "monthly_estimate": self.monthly,
            "leftovers": [x.to_json() for x in self.leftovers],
        }


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


def disk_month(table: dict[str, float], size_gb: Any, kind: str = "") -> float | None:
    """Monthly price of a disk of `size_gb` from a cloud's per-GB `table` (its "" row is the default kind)."""
    try:
        size = float(size_gb)
    except (TypeError, ValueError):
        return None
    return round(size * table.get(kind, table[""]), 2)


def run(cloud: str, stack: str, **clients: Any) -> Report:
    """Ask `cloud` for resources labelled llmcloud-stack=`stack`. `clients` as in each cloud's `find`
    (tests inject them); unreachable APIs give a skipped report."""
    from .. import registry
    from ..ops_http import ApiError, Unreachable

    report = Report(cloud, stack)
    try:
        report.leftovers = registry.cloud(cloud).find_leftovers(stack, **clients)
    except Unreachable as exc:
        report.skipped = str(exc)
    except ApiError as exc:
        report.skipped = f"the {cloud} API refused: {exc}"
    return report
