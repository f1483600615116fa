"""AksGpuAgentPool: one GPU (or CPU) user agent pool of an AKS cluster.

- VM size from the catalog; AKS installs the NVIDIA driver, said explicitly with
  gpu_profile.driver "Install" (the GPUProfile field of REST API 2025-09-01, which this SDK uses;
  the older `SkipGPUDriverInstall` tag convention is not needed). AKS does NOT install the
  NVIDIA device plugin: the Kubernetes layer deploys it so `nvidia.com/gpu` becomes schedulable.
  https://learn.microsoft.com/azure/aks/use-nvidia-gpu
- Taint nvidia.com/gpu=present:NoSchedule so only pods that ask for GPUs land there (AKS does not
  taint GPU nodes itself).
- Spot: priority Spot, eviction Delete (a deallocated spot VM still bills its disk and blocks quota),
  max price -1 (pay up to on-demand, evicted only for capacity). AKS adds the taint
  kubernetes.azure.com/scalesetpriority=spot:NoSchedule to spot nodes; we declare it too, so the
  plan shows it, policy can check it and Pulumi sees no drift.
  https://learn.microsoft.com/azure/aks/spot-node-pool
- The code owns min and max; the cluster autoscaler owns the current size (ignore_changes on count).
- Zones come from the catalog per VM size and location (zones.py); none = a regional pool.
- Ephemeral storage: on sizes whose temporary disk is larger than the default OS disk, kubeletDiskType
  Temporary puts emptyDir volumes, containerd's data and kubelet's ephemeral storage on it; resolve sets
  pool.local_ssd_gib to its size (Azure.ephemeral_local_ssd_gib, components/azure/temp_disk.py). Other
  pools keep them on the managed OS disk (`disk_gb`).
- Host encryption (prod): temp and OS-disk caches are encrypted on the VM host. The subscription needs
  the feature Microsoft.Compute/EncryptionAtHost registered first (README "Azure", first `up`).
  https://learn.microsoft.com/azure/aks/enable-host-encryption
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.containerservice as containerservice

from ..labels import POOL_LABEL
from ..resolve import ResolvedNodePool
from .temp_disk import kubelet_disk_type

SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
ACCELERATOR_LABEL = "llmcloud.dev/accelerator"


def agent_pool_name(pool: str) -> str:
    """AKS Linux pool names: 1-12 lowercase letters and digits, starting with a letter."""
    return re.sub(r"[^a-z0-9]", "", pool.lower())[:12]


def node_taints(pool: ResolvedNodePool) -> list[str]:
    taints = [str(pool.taint)] if pool.taint else []  # the accelerator's taint, from its catalog row
    if pool.spot:
        taints.append(SPOT_TAINT)
    return taints


def node_labels(pool: ResolvedNodePool) -> dict[str, str]:
    labels = {POOL_LABEL: pool.name}
    if pool.kind == "gpu":
        labels[ACCELERATOR_LABEL] = pool.accelerator
    return labels


@dataclass(frozen=True)
class AksGpuAgentPoolArgs:
    resource_group_name: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    pool: ResolvedNodePool
    subnet_id: pulumi.Input[str]
    kubernetes_version: str | None = None
    enable_node_public_ip: bool = False
    enable_encryption_at_host: bool = False
    zones: tuple[str, ...] | None = None  # None: pool.zones; (): regional
    tags: dict[str, str] = field(default_factory=dict)


class AksGpuAgentPool(pulumi.ComponentResource):
    """Outputs: name, vm_size, accelerator (the neutral accelerator name, or empty for CPU pools)."""

    def __init__(self, name: str, args: AksGpuAgentPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:AksGpuAgentPool", name, None, opts)
        pool = args.pool
        spot: dict[str, object] = {}
        surge = None if pool.spot else containerservice.AgentPoolUpgradeSettingsArgs(max_surge="1")
        if pool.spot:
            spot = {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1}
        self.agent_pool = containerservice.AgentPool(
            name,
            agent_pool_name=agent_pool_name(pool.name),
            resource_group_name=args.resource_group_name,
            resource_name_=args.cluster_name,
            mode="User",
            type="VirtualMachineScaleSets",
            vm_size=pool.machine_type,
            os_type="Linux",
            os_sku="Ubuntu",
            os_disk_size_gb=pool.disk_gb,
            os_disk_type="Managed",
            # Temporary: pods write to the VM's temp disk (components/azure/temp_disk.py). Unset is AKS's
            # default, OS; left unset so pools deployed before this setting see no change.
            kubelet_disk_type=kubelet_disk_type(pool.local_ssd_gib),
            orchestrator_version=args.kubernetes_version,
            availability_zones=list(pool.zones if args.zones is None else args.zones) or None,
            vnet_subnet_id=args.subnet_id,
            enable_node_public_ip=args.enable_node_public_ip,
            enable_encryption_at_host=args.enable_encryption_at_host or None,
            enable_auto_scaling=True,
            count=pool.min_nodes,
            min_count=pool.min_nodes,
            max_count=pool.max_nodes,
            gpu_profile=containerservice.GPUProfileArgs(driver="Install") if pool.kind == "gpu" else None,
            node_taints=node_taints(pool),
            node_labels=node_labels(pool),
            # Surge one node at a time: a GPU node is too expensive (and too scarce) to double a pool.
            # Spot pools take no surge settings (AKS upgrades them in place).
            upgrade_settings=surge,
            tags=args.tags,
            **spot,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["count"]),
        )
        self.name = self.agent_pool.name
        self.vm_size = pulumi.Output.from_input(pool.machine_type)
        self.accelerator = pulumi.Output.from_input(pool.accelerator if pool.kind == "gpu" else "")
        self.register_outputs({"name": self.name, "vm_size": self.vm_size, "accelerator": self.accelerator})
