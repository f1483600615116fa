"""GCP preflight: Compute Engine regional quotas and the zones that offer the accelerator.

- quota: `regions.get` lists the region's quotas (metric, limit, usage); GPUs are counted per GPU
  (NVIDIA_L4_GPUS, PREEMPTIBLE_NVIDIA_L4_GPUS for spot), TPU chips per chip;
  https://cloud.google.com/compute/docs/reference/rest/v1/regions/get
- zones: `acceleratorTypes.aggregatedList` (GPUs) or `machineTypes.aggregatedList` (TPU hosts), filtered
  by name: a zone is listed only when the project may use the type there.
  https://cloud.google.com/compute/docs/reference/rest/v1/acceleratorTypes/aggregatedList
A quota of 0 on a project whose zones list the GPU is the usual first-deploy surprise: new projects
get 0 for most GPUs. It is a quota request, not a missing GPU.
"""

from __future__ import annotations

import os
from typing import Any

from ..ops_http import GCP_COMPUTE, JsonApi, gcp_token
from ..preflight import PoolCheck, judge

# accelerator type -> quota metric (regions.get). Spot capacity has its own PREEMPTIBLE_ metrics.
# https://cloud.google.com/compute/resource-usage#gpu_quota
METRICS = {
    "nvidia-tesla-t4": "NVIDIA_T4_GPUS",
    "nvidia-l4": "NVIDIA_L4_GPUS",
    "nvidia-tesla-a100": "NVIDIA_A100_GPUS",
    "nvidia-a100-80gb": "NVIDIA_A100_80GB_GPUS",
    "nvidia-h100-80gb": "NVIDIA_H100_GPUS",
    "nvidia-h100-mega-80gb": "NVIDIA_H100_MEGA_GPUS",
    "nvidia-h200-141gb": "NVIDIA_H200_GPUS",
    "nvidia-b200": "NVIDIA_B200_GPUS",
    "tpu-v5-lite-podslice": "TPU_LITE_PODSLICE_V5",
    "tpu-v6e-slice": "TPU_V6E",
}


def metric_for(accelerator_id: str, spot: bool) -> str:
    base = METRICS.get(accelerator_id) or accelerator_id.upper().replace("-", "_").replace("TESLA_", "") + "_GPUS"
    return f"PREEMPTIBLE_{base}" if spot else base


def _aggregated(api: JsonApi, project: str, collection: str, name: str, key: str) -> set[str]:
    zones: set[str] = set()
    params = {"filter": f'name = "{name}"', "returnPartialSuccess": "true"}
    while True:
        page = api.get(f"/compute/v1/projects/{project}/aggregated/{collection}", params)
        for scope, entry in (page.get("items") or {}).items():
            if entry.get(key):
                zones.add(scope.removeprefix("zones/"))
        token = page.get("nextPageToken")
        if not token:
            return zones
        params = {**params, "pageToken": token}


def check(resolved: Any, pools: list[Any], api: JsonApi | None = None) -> list[PoolCheck]:
    api = api or JsonApi(os.environ.get("LLMCLOUD_GCP_COMPUTE_URL", GCP_COMPUTE), gcp_token())
    project, region = resolved.project, resolved.region
    region_info = api.get(f"/compute/v1/projects/{project}/regions/{region}")
    quotas = {q.get("metric"): q for q in region_info.get("quotas", [])}
    checks = []
    for pool in pools:
        if pool.kind == "gpu":
            offered_zones = _aggregated(api, project, "acceleratorTypes", pool.accelerator_id, "acceleratorTypes")
        else:  # TPU hosts (ct5lp-, ct6e-) are machine types of their own
            offered_zones = _aggregated(api, project, "machineTypes", pool.machine_type, "machineTypes")
        # Flex-start counts against the preemptible quota too: "DWS Flex Start consumes the preemptible
        # version of the GPU quota pool" (https://cloud.google.com/managed-spark/docs/guides/dws-serverless,
        # the Dynamic Workload Scheduler behind GKE's flex-start; checked 2026-12-01).
        metric = metric_for(pool.accelerator_id or "", pool.spot or getattr(pool, "provisioning", None) == "flex_start")
        quota = quotas.get(metric)
        unit = "TPU chips" if pool.kind == "tpu" else "GPUs"
        c = PoolCheck(
            pool=pool.name,
            machine_type=pool.machine_type,
            accelerator=pool.accelerator,
            zones=list(pool.zones),
            offered=sorted(z for z in pool.zones if z in offered_zones),
            need=pool.max_nodes * pool.accelerators_per_node,
            unit=unit,
            metric=metric,
            limit=float(quota["limit"]) if quota else None,
            used=float(quota.get("usage", 0)) if quota else None,
        )
        checks.append(judge(c))
    return checks
