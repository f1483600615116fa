"""GkeAcceleratorNodePool: one GPU, TPU or CPU node pool of a GKE cluster.

- GPUs: the exact accelerator string and count, driver installed by GKE
  (gpu_driver_installation_config), taint nvidia.com/gpu=present:NoSchedule so only pods that ask
  for GPUs land there.
- TPUs: the ct5lp/ct6e machine carries the chips; multi-host slices get a COMPACT placement policy
  with the slice topology. GKE taints TPU nodes with google.com/tpu itself; we add the same taint
  explicitly so the plan shows it and policy can check it.
- The code owns min and max; the cluster autoscaler owns the current size (ignore_changes).
- Upgrades: a surge node of an 8-GPU shape or a spare TPU slice is rarely there, so accelerator pools
  upgrade in place one node at a time (max_surge 0, max_unavailable 1), in the cluster's maintenance
  window. https://cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from ..labels import POOL_LABEL
from ..resolve import ResolvedNodePool
from .checks import initial_node_count, pool_zone_count, pool_zones
from .local_ssd import bundled_local_ssd_count
from .options import child

# Machine families that need gVNIC for their NIC bandwidth (A3 and A4 refuse to boot without it).
GVNIC_FAMILIES = ("a3", "a4", "g2", "ct5lp", "ct6e")


@dataclass(frozen=True)
class GkeAcceleratorNodePoolArgs:
    cluster_id: pulumi.Input[str]
    location: str  # the cluster's location
    pool: ResolvedNodePool
    service_account: pulumi.Input[str]
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()  # the enabled APIs


def node_labels(pool: ResolvedNodePool) -> dict[str, str]:
    # cloud.google.com/gke-accelerator (and gke-tpu-*) are GKE-managed: GKE sets them from the
    # accelerator itself and refuses or overwrites a user value.
    return {POOL_LABEL: pool.name}


def local_ssd_count(pool: ResolvedNodePool) -> int:
    """Local SSD disks backing the node's ephemeral storage: the machine's bundled ones (resolve sets
    pool.local_ssd_gib from Gcp.ephemeral_local_ssd_gib), 0 for machines without."""
    return bundled_local_ssd_count(pool.local_ssd_gib)


def taints(pool: ResolvedNodePool) -> list[tuple[str, str, str]]:
    # The accelerator's taint from its catalog row, in the GKE API's spelling.
    return [(pool.taint.key, pool.taint.value, pool.taint.provider_effect)] if pool.taint else []


def local_ssd_config(pool: ResolvedNodePool) -> Any:
    count = local_ssd_count(pool)
    return gcp.container.NodePoolNodeConfigEphemeralStorageLocalSsdConfigArgs(local_ssd_count=count) if count else None


class GkeAcceleratorNodePool(pulumi.ComponentResource):
    """Outputs: name, machine_type, accelerator (the GKE accelerator string or empty)."""

    def __init__(self, name: str, args: GkeAcceleratorNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GkeAcceleratorNodePool", name, None, opts)
        pool = args.pool
        accelerators = None
        if pool.kind == "gpu":
            accelerators = [
                gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=pool.accelerator_id,
                    count=pool.accelerators_per_node,
                    gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version="LATEST"
                    ),
                )
            ]
        placement = None
        if pool.kind == "tpu" and pool.hosts_per_slice > 1:
            placement = gcp.container.NodePoolPlacementPolicyArgs(type="COMPACT", tpu_topology=pool.tpu_topology)
        family = pool.machine_type.split("-")[0]
        flex = pool.provisioning == "flex_start"
        # Flex-start nodes come only from the autoscaler and never from a reservation; a reservation pool
        # takes its nodes from the named one (components/gcp/checks.py: flex-start and reservations).
        affinity = None
        if flex:
            affinity = gcp.container.NodePoolNodeConfigReservationAffinityArgs(
                consume_reservation_type="NO_RESERVATION"
            )
        elif pool.provisioning == "reservation":
            affinity = gcp.container.NodePoolNodeConfigReservationAffinityArgs(
                consume_reservation_type="SPECIFIC_RESERVATION",
                key="compute.googleapis.com/reservation-name",
                values=[pool.reservation or ""],
            )
        self.node_pool = gcp.container.NodePool(
            name,
            cluster=args.cluster_id,
            location=args.location,
            # A TPU slice lives in one zone; GPUs spread over the zones that have them, as many as keep
            # the initial total within min..max (initial_node_count is per zone: components/gcp/checks.py).
            node_locations=list(pool_zones(pool)),
            initial_node_count=0
            if flex
            else initial_node_count(pool.min_nodes, pool.max_nodes, pool_zone_count(pool)) or 0,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min_nodes,
                total_max_node_count=pool.max_nodes,
                # Spot capacity comes and goes per zone: ANY takes whatever zone has it.
                location_policy="ANY" if pool.spot or flex else "BALANCED",
            ),
            placement_policy=placement,
            # Flex-start: auto-repair off, as GKE's flex-start guide creates its pools (see checks.py).
            management=gcp.container.NodePoolManagementArgs(auto_repair=not flex, auto_upgrade=True),
            # Flex-start nodes get GKE's short-lived upgrades (strategy SHORT_LIVED, chosen by GKE: "for
            # nodes that use flex-start VMs, GKE uses short-lived upgrades", node-pool-upgrade-strategies,
            # checked 2026-12-01); the surge settings are for the others.
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=0, max_unavailable=1)
            if pool.kind in ("gpu", "tpu") and not flex
            else None,
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.machine_type,
                guest_accelerators=accelerators,
                spot=pool.spot,
                flex_start=True if flex else None,
                reservation_affinity=affinity,
                disk_size_gb=pool.disk_gb,
                disk_type="pd-balanced" if family not in ("a3", "a4", "ct6e") else "hyperdisk-balanced",
                # Bundled Local SSD holds emptyDir, images and writable layers (components/gcp/local_ssd.py).
                ephemeral_storage_local_ssd_config=local_ssd_config(pool),
                image_type="COS_CONTAINERD",
                gvnic=gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True) if family in GVNIC_FAMILIES else None,
                # Image streaming: containers start before the multi-GB serving image is fully pulled.
                gcfs_config=gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True),
                taints=[
                    gcp.container.NodePoolNodeConfigTaintArgs(key=k, value=v, effect=e) for k, v, e in taints(pool)
                ],
                labels=node_labels(pool),
                resource_labels=args.labels,
                service_account=args.service_account,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
            ),
            opts=child(self, args.depends_on, ignore_changes=["initialNodeCount", "nodeCount"]),
        )
        self.name = self.node_pool.name
        self.machine_type = pulumi.Output.from_input(pool.machine_type)
        self.accelerator = pulumi.Output.from_input(pool.accelerator_id or "")
        self.register_outputs({"name": self.name, "machine_type": self.machine_type, "accelerator": self.accelerator})
