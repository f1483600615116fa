"""GCP leftovers: Cloud Asset Inventory searchAllResources by label, priced where the type is known.

https://cloud.google.com/asset-inventory/docs/reference/rest/v1/TopLevel/searchAllResources
The query `labels.llmcloud-stack:<stack>` finds every labelled resource of the project; GKE node VMs
and their disks carry the label through the node pools' resource labels.
"""

from __future__ import annotations

import os
from typing import Any

from ..labels import STACK_KEY
from ..leftovers import Leftover, disk_month, machine_month, month, service_month
from ..ops_http import GCP_ASSET, JsonApi, gcp_token

# List prices (USD, us regions, on 2026-07-30) the catalog does not carry; estimates.
# https://cloud.google.com/compute/disks-image-pricing, https://cloud.google.com/vpc/network-pricing
DISK_GB_MONTH = {"pd-standard": 0.04, "pd-balanced": 0.10, "pd-ssd": 0.17, "hyperdisk-balanced": 0.08, "": 0.10}
ADDRESS_HOUR = 0.01  # a public IPv4 address left reserved


def find(stack: str, project: str = "", region: str = "", api: JsonApi | None = None) -> list[Leftover]:
    api = api or JsonApi(os.environ.get("LLMCLOUD_GCP_ASSET_URL", GCP_ASSET), gcp_token())
    found = []
    params = {"query": f"labels.{STACK_KEY}:{stack}", "pageSize": "500"}
    while True:
        page = api.get(f"/v1/projects/{project}:searchAllResources", params)
        for result in page.get("results", []):
            labels = result.get("labels") or {}
            if labels.get(STACK_KEY) != stack:  # the query matches words; keep exact matches only
                continue
            found.append(_price(result, region))
        token = page.get("nextPageToken")
        if not token:
            return found
        params = {**params, "pageToken": token}


def _price(result: dict[str, Any], region: str) -> Leftover:
    kind = result.get("assetType", "")
    attrs = result.get("additionalAttributes") or {}
    x = Leftover(
        type=kind,
        name=result.get("displayName") or result.get("name", "").rsplit("/", 1)[-1],
        id=result.get("name", ""),
        location=result.get("location", ""),
    )
    if kind == "compute.googleapis.com/Disk":
        size = attrs.get("sizeGb")
        disk_type = str(attrs.get("type", "")).rsplit("/", 1)[-1]
        x.monthly = disk_month(DISK_GB_MONTH, size, disk_type)
        x.note = f"{size} GB {disk_type}".strip() if size else "size unknown"
    elif kind == "compute.googleapis.com/Address":
        x.monthly = month(ADDRESS_HOUR)
    elif kind == "compute.googleapis.com/Instance":
        machine = str(attrs.get("machineType", "")).rsplit("/", 1)[-1]
        x.monthly = machine_month("gcp", region or x.location.rsplit("-", 1)[0], machine) if machine else None
        x.note = machine
    elif kind == "container.googleapis.com/Cluster":
        x.monthly = service_month("gcp", "cluster_hour", region)
    elif kind == "compute.googleapis.com/ForwardingRule":
        x.monthly = service_month("gcp", "load_balancer_hour", region)
    elif kind == "storage.googleapis.com/Bucket":
        x.kept, x.note = True, "data (kept by destroy without --delete-data)"
    return x
