"""Azure preflight: regional vCPU quota of the VM family and the SKU's restrictions.

- quota: Compute usages of the location (`.../locations/{location}/usages`) list each VM family's vCPU
  limit and current use (standardNCASv3_T4Family, standardNCADSA100v4Family, ...); spot VMs count against
  one family-less quota, lowPriorityCores;
  https://learn.microsoft.com/rest/api/compute/usage/list
- zones: Resource SKUs (`.../skus?$filter=location eq '...'`) give a size's zones and its restrictions:
  NotAvailableForSubscription for the whole location or for some zones.
  https://learn.microsoft.com/rest/api/compute/resource-skus/list
Misleading: a deploy over quota fails with OperationNotAllowed ("Operation could not be completed as it
results in exceeding approved standardNCADSA100v4Family Cores quota"), a size withheld from the
subscription with SkuNotAvailable, and a stockout with AllocationFailed / ZonalAllocationFailed. A family
limit of 0 where the SKU list shows the size in every zone is a quota request, not a missing GPU.
"""

from __future__ import annotations

import os
from typing import Any

from ..ops_http import AZURE_ARM, JsonApi, azure_token
from ..preflight import PoolCheck, judge
from . import azure_options

USAGES_API = "2023-09-01"
SKUS_API = "2021-07-01"
SPOT_QUOTA = "lowPriorityCores"


def _skus(api: JsonApi, subscription: str, location: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    page = api.get(
        f"/subscriptions/{subscription}/providers/Microsoft.Compute/skus",
        {"api-version": SKUS_API, "$filter": f"location eq '{location}'"},
    )
    while True:
        for sku in page.get("value", []):
            if sku.get("resourceType") == "virtualMachines":
                out[sku["name"]] = sku
        link = page.get("nextLink")
        if not link:
            return out
        page = api.get(link.removeprefix(api.base.rstrip("/")).removeprefix(AZURE_ARM))


def offered_zones(sku: dict[str, Any] | None, location: str) -> set[str]:
    """Zones of `location` where the SKU may be deployed by this subscription."""
    if sku is None:
        return set()
    zones: set[str] = set()
    for info in sku.get("locationInfo", []):
        if info.get("location", "").lower() == location.lower():
            zones.update(info.get("zones", []))
    for restriction in sku.get("restrictions", []):
        if restriction.get("reasonCode") != "NotAvailableForSubscription":
            continue
        info = restriction.get("restrictionInfo", {})
        if restriction.get("type") == "Location":
            return set()
        zones -= set(info.get("zones", []))
    return zones


def _sold_in(sku: dict[str, Any], location: str) -> bool:
    """The location lists the SKU and does not withhold it from this subscription as a whole."""
    listed = any(i.get("location", "").lower() == location.lower() for i in sku.get("locationInfo", []))
    return listed and not any(
        r.get("reasonCode") == "NotAvailableForSubscription" and r.get("type") == "Location"
        for r in sku.get("restrictions", [])
    )


def check(
    resolved: Any, pools: list[Any], api: JsonApi | None = None, subscription: str | None = None
) -> list[PoolCheck]:
    if api is None or subscription is None:
        token, subscription = azure_token()
        api = JsonApi(os.environ.get("LLMCLOUD_AZURE_ARM_URL", AZURE_ARM), token)
    location = resolved.region
    usages = api.get(
        f"/subscriptions/{subscription}/providers/Microsoft.Compute/locations/{location}/usages",
        {"api-version": USAGES_API},
    )
    by_name = {u["name"]["value"].lower(): u for u in usages.get("value", [])}
    skus = _skus(api, subscription, location)
    checks = []
    for pool in pools:
        sku = skus.get(pool.machine_type)
        family = (sku or {}).get("family", "")
        metric = SPOT_QUOTA if pool.spot else family or f"{pool.machine_type} family"
        usage = by_name.get(metric.lower())
        offered = offered_zones(sku, location)
        # The zones the pool is deployed in (catalog vm_zones, components/azure/zones.py); () = regional:
        # then the question is only whether the location sells the size to this subscription.
        from .zones import pool_zones

        zones = pool_zones(location, pool.machine_type, azure_options(resolved).zones)
        regional = not zones
        if regional:  # AKS may use any zone the size has here: report them all
            zones = tuple(
                sorted(
                    {
                        str(z)
                        for i in (sku or {}).get("locationInfo", [])
                        if i.get("location", "").lower() == location.lower()
                        for z in i.get("zones", [])
                    }
                )
            )
        if zones:
            in_zones: list[str] | None = sorted(z for z in zones if z in offered)
        else:  # offered in the location without zones
            in_zones = None if sku is not None and _sold_in(sku, location) else []
        c = PoolCheck(
            pool=pool.name,
            machine_type=pool.machine_type,
            accelerator=pool.accelerator,
            zones=list(zones) or [location],
            offered=in_zones,
            need=pool.max_nodes * pool.vcpus,
            unit="vCPUs",
            metric=metric,
            limit=float(usage["limit"]) if usage else None,
            used=float(usage.get("currentValue", 0)) if usage else None,
        )
        if sku is None:
            c.note = f"{pool.machine_type} is not in the SKU list of {location}"
        checks.append(judge(c))
    return checks
