"""Availability zones of an Azure VM size in a location: the catalog's `vm_zones` table.

Zones are per VM size, per location and per subscription (zone numbers are logical to a subscription),
so the catalog keeps a table `vm_zones: {location: {size: [zones]}}` instead of assuming "1", "2", "3"
for every GPU size (a pool that names a zone the size is not in fails with AvailabilityZoneNotSupported).
An empty list means the size is offered in the location but not zonally, or its zones were not verified:
such pools are regional (no `availabilityZones`), which AKS accepts wherever the size exists.
`llmcloud prices refresh` fills the table from the Resource SKUs API when Azure credentials are there
(`refresh_vm_zones`), so a refreshed catalog carries the zones of the subscription that read it.
https://learn.microsoft.com/rest/api/compute/resource-skus/list

Pure Python (no SDK): `validate`, preflight and the catalog refresh import it.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

SKUS_API = "2021-07-01"
MAX_PAGES = 50  # one location's SKU list is a few pages; stop a runaway paging loop


@functools.cache
def _table(path: str, mtime_ns: int) -> dict[str, dict[str, tuple[str, ...]]]:
    with open(path, encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    return {
        region: {size: tuple(str(z) for z in zones or ()) for size, zones in (sizes or {}).items()}
        for region, sizes in (raw.get("vm_zones") or {}).items()
    }


def table() -> dict[str, dict[str, tuple[str, ...]]]:
    """location -> VM size -> zones, from the catalog `catalog.load("azure")` reads (shipped or refreshed)."""
    from ..catalog import catalog_path

    path = catalog_path("azure")
    return _table(str(path), path.stat().st_mtime_ns)


def vm_zones(region: str, vm_size: str) -> tuple[str, ...]:
    """The zones of `vm_size` in `region`; () when it is regional only or not in the table."""
    return table().get(region, {}).get(vm_size, ())


def pool_zones(region: str, vm_size: str, wanted: list[str] | tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The zones a pool of `vm_size` gets: the size's zones, narrowed to `wanted` (azure.zones) when given.
    () = a regional pool. `checks.check` refuses a `wanted` list that leaves a zonal size with none."""
    zones = vm_zones(region, vm_size)
    if wanted:
        zones = tuple(z for z in zones if z in wanted)
    return zones


# ---- refresh from the Resource SKUs API (needs credentials: the answer is per subscription)


def offered_zones(sku: dict[str, Any] | None, location: str) -> set[str] | None:
    """Zones of `location` where this subscription may deploy the SKU; None when it may not deploy it there
    at all (absent, or restricted NotAvailableForSubscription for the whole location)."""
    if sku is None:
        return None
    zones: set[str] = set()
    listed = False
    for info in sku.get("locationInfo", []):
        if info.get("location", "").lower() == location.lower():
            listed = True
            zones.update(str(z) for z in info.get("zones", []))
    if not listed:
        return None
    for restriction in sku.get("restrictions", []):
        if restriction.get("reasonCode") != "NotAvailableForSubscription":
            continue
        if restriction.get("type") == "Location":
            return None
        zones -= set((restriction.get("restrictionInfo") or {}).get("zones", []))
    return zones


def read_skus(api: Any, subscription: str, location: str) -> dict[str, dict[str, Any]]:
    """VM SKUs of one location by name, following nextLink (bounded)."""
    out: dict[str, dict[str, Any]] = {}
    page = api.get(
        f"/subscriptions/{subscription}/providers/Microsoft.Compute/skus",
        {"api-version": SKUS_API, "$filter": f"location eq '{location}'"},
    )
    for _ in range(MAX_PAGES):
        for sku in page.get("value", []):
            if sku.get("resourceType") == "virtualMachines":
                out[sku["name"]] = sku
        link = page.get("nextLink")
        if not link:
            return out
        page = api.get(link.split("management.azure.com", 1)[-1].removeprefix(api.base.rstrip("/")))
    raise RuntimeError(f"Resource SKUs of {location}: more than {MAX_PAGES} pages; stopped")


def refresh_vm_zones(
    raw: dict[str, Any], api: Any, subscription: str
) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """(vm_zones table, notes) for every (location, size) the catalog prices, from the Resource SKUs API.
    A size the subscription may not deploy in a location keeps its shipped zones, with a note."""
    shipped = raw.get("vm_zones") or {}
    out: dict[str, dict[str, list[str]]] = {}
    notes: list[str] = []
    for region, sections in sorted((raw.get("prices") or {}).items()):
        sizes = sorted({*((sections or {}).get("machines") or {}), *((sections or {}).get("cpu_machines") or {})})
        if not sizes:
            continue
        skus = read_skus(api, subscription, region)
        out[region] = {}
        for size in sizes:
            zones = offered_zones(skus.get(size), region)
            if zones is None:
                out[region][size] = list((shipped.get(region) or {}).get(size) or [])
                notes.append(f"{size} is not offered to this subscription in {region}: shipped zones kept")
            else:
                out[region][size] = sorted(zones)
    return out, notes
