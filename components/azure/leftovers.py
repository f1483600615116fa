"""Azure leftovers: Azure Resource Graph, resources whose tag llmcloud-stack is the stack.

https://learn.microsoft.com/rest/api/azureresourcegraph/resourcegraph/resources/resources
"""

from __future__ import annotations

import os
from typing import Any

from ..labels import STACK_KEY
from ..leftovers import Leftover, disk_month, machine_month, month, service_month
from ..ops_http import AZURE_ARM, JsonApi, azure_token

# List prices (USD, us regions, on 2026-07-30) the catalog does not carry; estimates.
# https://azure.microsoft.com/pricing/details/managed-disks/ (per GB, approximating the tiers)
DISK_GB_MONTH = {"Premium_LRS": 0.15, "StandardSSD_LRS": 0.075, "Standard_LRS": 0.045, "PremiumV2_LRS": 0.12, "": 0.15}
ADDRESS_HOUR = 0.005  # a public IPv4 address left reserved

API_VERSION = "2022-10-01"


def query(stack: str) -> str:
    safe = stack.replace("'", "")
    return (
        f"Resources | where tags['{STACK_KEY}'] == '{safe}' | project id, name, type, location, sku, properties, tags"
    )


def find(stack: str, region: str = "", api: JsonApi | None = None, subscription: str | None = None) -> list[Leftover]:
    if api is None or subscription is None:
        token, subscription = azure_token()
        api = JsonApi(os.environ.get("LLMCLOUD_AZURE_ARM_URL", AZURE_ARM), token)
    found = []
    body: dict[str, Any] = {
        "subscriptions": [subscription],
        "query": query(stack),
        "options": {"resultFormat": "objectArray"},
    }
    while True:
        page = api.post("/providers/Microsoft.ResourceGraph/resources", body, {"api-version": API_VERSION})
        found.extend(_price(row, region) for row in page.get("data", []))
        token = page.get("$skipToken")
        if not token:
            return found
        body["options"] = {**body["options"], "$skipToken": token}


def _price(row: dict[str, Any], region: str) -> Leftover:
    kind = str(row.get("type", "")).lower()
    props = row.get("properties") or {}
    sku = row.get("sku") or {}
    where = row.get("location", "") or region
    x = Leftover(type=kind, name=row.get("name", ""), id=row.get("id", ""), location=where)
    if kind == "microsoft.compute/disks":
        x.monthly = disk_month(DISK_GB_MONTH, props.get("diskSizeGB"), sku.get("name", ""))
        x.note = f"{props.get('diskSizeGB')} GB {sku.get('name', '')}"
    elif kind == "microsoft.network/publicipaddresses":
        x.monthly = month(ADDRESS_HOUR)
    elif kind == "microsoft.network/natgateways":
        x.monthly = service_month("azure", "nat_gateway_hour", where)
    elif kind == "microsoft.network/loadbalancers":
        x.monthly = service_month("azure", "load_balancer_hour", where)
    elif kind == "microsoft.compute/virtualmachinescalesets":
        capacity = int(sku.get("capacity") or 0)
        spot = props.get("virtualMachineProfile", {}).get("priority") == "Spot"
        x.monthly = machine_month("azure", where, sku.get("name", ""), capacity, spot=spot)
        x.note = f"{capacity} x {sku.get('name', '')}"
    elif kind == "microsoft.containerservice/managedclusters":
        tier = str(row.get("sku", {}).get("tier", "standard")).lower()
        x.monthly = service_month("azure", "cluster_hour", where, tier)
    elif kind == "microsoft.storage/storageaccounts":
        x.kept, x.note = True, "data (kept by destroy without --delete-data)"
    elif kind in (
        "microsoft.resources/resourcegroups",
        "microsoft.network/virtualnetworks",
        "microsoft.managedidentity/userassignedidentities",
    ):
        x.monthly = 0.0
    return x
