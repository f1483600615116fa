"""The VM's temporary disk for AKS nodes' ephemeral storage (pure Python: resolve, validate and the rehearsal
read it without the SDK).

Facts (read 2026-12-01):
- `kubeletDiskType` on an agent pool, `OS` | `Temporary` (AKS REST API 2025-09-01, pulumi-azure-native 3.29.0
  `AgentPool.kubelet_disk_type`): "Determines the placement of emptyDir volumes, container runtime data root,
  and Kubelet ephemeral storage." `Temporary` puts them on the VM's temporary disk; the OS stays on the OS disk,
  managed or ephemeral (Microsoft sample "Everything you want to know about ephemeral OS disks and AKS",
  learn.microsoft.com/samples/azure-samples/aks-ephemeral-os-disk). The node bootstrapper does it by moving
  /var/lib/kubelet and containerd's root to /mnt/aks and bind-mounting them back, after `mnt.mount`, the
  resource disk at /mnt; so kubelet reports the temp disk as the node's ephemeral-storage (Azure/AgentBaker
  `parts/linux/cloud-init/artifacts/bind-mount.sh`, `pkg/agent/datamodel/const.go` TempDiskContainerDataDir).
- Status: the field is in the stable API versions; no Microsoft page read here calls it preview, and none of
  the AKS articles (MicrosoftDocs/azure-aks-docs) document it beyond the API reference. In February 2022 the
  service refused `Temporary` as a preview feature (XenitAB/terraform-modules#561); later IaC modules ship it
  (XenitAB/terraform-modules#1153, 2024). Whether a subscription still needs a feature registration could
  not be checked here: a real `up` is the check.
- Temp disk sizes: the catalog rows' `temp_disk_gib`, from each size page (catalog/data/azure.yaml header).
  The NVMe data disks of NC A100 v4 and ND H100/H200 v5 are not the temp disk: the model pods' weights
  volume goes there through Azure Container Storage (components/azure/nvme.py).
- `osDiskType` stays `Managed`: an ephemeral OS disk placed on the temp disk takes its size out of it
  ("the final size of the temporary disk will equal the initial size ... minus the OS image size", same sample).

The rule: a GPU pool gets `Temporary` when its size's temp disk is larger than llmcloud's default OS disk
(`disk_gb` 200 GB = 186 GiB), i.e. when moving the pods there gains room; otherwise the OS disk (`disk_gb`)
keeps them. The choice depends on the VM size alone (Cloud.ephemeral_local_ssd_gib sees the catalog row):
on a `Temporary` size, `disk_gb` sizes the OS disk only.
"""

from __future__ import annotations

from typing import Any

GB = 10**9
GIB = 2**30
DEFAULT_OS_DISK_GB = 200  # NodePoolSpec.disk_gb's default (components/spec/model.py)
KUBELET_TEMPORARY = "Temporary"
KUBELET_OS = "OS"


def kubelet_temp_disk_gib(machine: Any) -> int:
    """GiB of temporary disk the kubelet and containerd use on this VM size (kubeletDiskType Temporary);
    0: the size has none, or none larger than the default OS disk, and the OS disk holds them."""
    temp = int(getattr(machine, "temp_disk_gib", 0) or 0)
    if machine.accelerator is None or temp * GIB <= DEFAULT_OS_DISK_GB * GB:
        return 0
    return temp


def kubelet_disk_type(local_ssd_gib: int) -> str | None:
    """The agent pool's kubeletDiskType for a resolved pool's ephemeral capacity (ResolvedNodePool.local_ssd_gib):
    Temporary, or None, AKS's default (OS), which pools created before llmcloud set this field already have."""
    return KUBELET_TEMPORARY if local_ssd_gib > 0 else None
