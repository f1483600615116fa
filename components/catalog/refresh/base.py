"""What the per-cloud fetchers share: what to look up, and what they hand back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# region -> section (machines | accelerators | cpu_machines) -> name -> [on_demand, spot or None]
PriceTable = dict[str, dict[str, dict[str, list[float | None]]]]
# region -> section -> names to look up
Targets = dict[str, dict[str, set[str]]]


def targets(raw: dict[str, Any]) -> Targets:
    """The prices to refresh: exactly the (region, section, name) entries the shipped catalog has.

    The catalog prices a machine only where it is offered, so a refresh never adds a region to a
    machine on its own: availability is decided by `regions`, not by a price list.
    """
    out: Targets = {}
    for region, sections in (raw.get("prices") or {}).items():
        for section in ("machines", "accelerators", "cpu_machines"):
            names = set((sections or {}).get(section) or {})
            if names:
                out.setdefault(region, {})[section] = names
    return out


def put(table: PriceTable, region: str, section: str, name: str, on_demand: float, spot: float | None) -> None:
    pair = [round(on_demand, 4), None if spot is None else round(spot, 4)]
    table.setdefault(region, {}).setdefault(section, {})[name] = pair


@dataclass
class Fetched:
    """One cloud's prices as read from its API, with where they came from."""

    prices: PriceTable
    sources: list[str]
    notes: list[str] = field(default_factory=list)  # printed as they are (e.g. "spot kept from ...")
    spot_from_api: bool = True  # False: the API has no spot prices; the shipped ones are kept
    sections: dict[str, Any] = field(default_factory=dict)  # other top-level catalog keys to replace (vm_zones)
