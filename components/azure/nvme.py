"""Local NVMe data disks of AKS GPU nodes for the model pods' weights volume, through Azure Container Storage
(version 2) (pure Python except `container_storage_extension`, which imports the SDK when called).

Facts (read 2026-12-01; MicrosoftDocs/azure-docs `articles/storage/container-storage/`):
- Status: Azure Container Storage v2.0.0 is generally available (local NVMe only), v2.1.0 GA (adds Elastic
  SAN and the installer that installs a CSI driver when a StorageClass asks for it): AKS blog
  https://blog.aks.azure.com/2026/04/08/acstor-v2.1-ga; install page below ("latest production version").
- Install (https://learn.microsoft.com/azure/storage/container-storage/install-container-storage-aks,
  ms.date 09/10/2025, version 2.x.x): `az aks update --enable-azure-container-storage` (installer only) or
  `... ephemeralDisk` (installer + local NVMe driver + a default StorageClass). The same page's Terraform
  form is a cluster extension: name `acstor` ("must be acstor for Azure CLI compatibility"), extension type
  `microsoft.azurecontainerstoragev2`, configuration setting `enable-azure-container-storage: "true"`; the
  latest version, upgraded automatically. Prerequisites: Linux node pools on a VM size with local NVMe data
  disks ("storage-optimized or GPU-accelerated VMs"); the `Microsoft.KubernetesConfiguration` resource
  provider registered on the subscription (cluster extensions). pulumi-azure-native 3.29.0 has
  `kubernetesconfiguration.Extension` (ARM Microsoft.KubernetesConfiguration/extensions).
- Installer-only: "Creating a StorageClass later triggers the correct CSI driver installation". The local
  NVMe StorageClass: provisioner `localdisk.csi.acstor.io`, `volumeBindingMode: WaitForFirstConsumer`,
  reclaim `Delete` (same page's `kubectl get sc` output; Azure/local-csi-driver docs). The driver stripes all
  local NVMe disks of a VM and by default serves generic ephemeral volumes only
  (use-container-storage-with-local-disk, v2 page). Where the CSI driver runs is set by the StorageClass
  annotation `storageoperator.acstor.io/nodeAffinity` (manage-local-container-storage-interface-driver-placement):
  llmcloud limits it to the NVMe pools (label `kubernetes.azure.com/agentpool`).
- NVMe capacity per VM size: the catalog row's `local_ssd_gib` where it is the NVMe data disks, i.e. where it is
  more than twice the temporary disk (catalog/data/azure.yaml header: NC A100 v4 960 GiB per GPU,
  ND H100/H200 v5 8 x 3.5 TB); on the other rows local_ssd_gib is about the temporary disk itself.
- The CSI node DaemonSet runs on GPU nodes (read 2026-12-01 in Azure/local-csi-driver, the open-source driver
  Microsoft's docs name, newest tag v0.3.0 = a9b1c9c6197ea90505c533bdb7e6540acadaec2c, 2026-08-03):
  `charts/latest/values.yaml` `daemonset.tolerations` are two key-less `operator: Exists` entries, effects
  NoSchedule and NoExecute, so every such taint (nvidia.com/gpu, spot) is tolerated; `daemonset.nodeSelector`
  is empty ("all nodes"); `templates/daemonset.yaml` sets `priorityClassName: system-node-critical`. Unchanged
  since commit ef18f9f (2025-06-20), same at v0.2.5, v0.2.13, v0.2.19. Microsoft Learn "Manage local CSI
  driver placement" (ms.date 2/5/2026): without a node affinity rule the driver runs on every node; placement
  is the StorageClass annotation above (its required... form only; preferred... is not supported).
- Generic ephemeral volumes need no annotation: the driver's admission webhook (v0.3.0
  `internal/webhook/enforceEphemeral/handler.go`) admits a claim of this provisioner when a Pod owns it (what
  the ephemeral-volume controller sets) or when it carries `localdisk.csi.acstor.io/accept-ephemeral-storage:
  "true"`, which is for standalone PVCs ("use-container-storage-with-local-disk": generic ephemeral volumes
  by default, the annotation "for use cases that require persistent volume claims").
- The cluster autoscaler cannot add a node for a pod that waits for such a volume (read 2026-12-01): the
  driver publishes CSIStorageCapacity per node (`--enable-capacity` with strict per-node topology,
  daemonset.yaml), and the autoscaler's simulated template node matches none, so the scheduler check fails
  and no scale-up happens (Azure/local-csi-driver docs/user-guide.md "Limitations", added 2026-05-21 by
  PR #463; kubernetes/autoscaler#9700, 2026-05-27, on AKS; from zero nodes too: kubernetes/autoscaler#5093,
  the same check with another node-local driver; the driver-side fix,
  Azure/local-csi-driver PR #505 "storage capacity for templated nodes", is open and not in v0.3.0). Hence
  the default below: NVMe only on pools the autoscaler never has to grow.
Not verified here (no Azure account): that the managed extension ships exactly that chart's values, and that
the GPU sizes' NVMe disks match the driver's disk filter (model "Microsoft NVMe Direct Disk" / "v2").

When (`local_volume_gib`): `azure.local_nvme` false: never; true: every pool on an NVMe size (the user
accepts that the autoscaler cannot grow it for model pods; `autoscaled_pool_errors` refuses a pool whose
min_nodes cannot hold its Hub models' minimum replicas); unset (the default): pools on an NVMe size with
a fixed node count (`min_nodes == max_nodes`), whose nodes all exist before any model pod waits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STORAGE_CLASS = "llmcloud-local-nvme"
PROVISIONER = "localdisk.csi.acstor.io"
NODE_AFFINITY_ANNOTATION = "storageoperator.acstor.io/nodeAffinity"
AGENT_POOL_LABEL = "kubernetes.azure.com/agentpool"
EXTENSION_NAME = "acstor"
EXTENSION_TYPE = "microsoft.azurecontainerstoragev2"


def nvme_gib(machine: Any) -> int:
    """GiB of local NVMe data disks on a GPU VM size (catalog row), 0: none (the row's local storage is its
    temporary disk)."""
    local = int(getattr(machine, "local_ssd_gib", 0) or 0)
    temp = int(getattr(machine, "temp_disk_gib", 0) or 0)
    if machine.accelerator is None or local <= 2 * temp:
        return 0
    return local


def local_volume_gib(option: bool | None, machine: Any, pool: Any) -> int:
    """GiB of local NVMe a pool's weights volumes are carved from (0: emptyDir), given `azure.local_nvme`
    (`option`) and the stack's node pool spec (`pool`, None: treated as one the autoscaler grows)."""
    gib = nvme_gib(machine)
    if not gib or option is False:
        return 0
    if option is True:
        return gib
    fixed = pool is not None and pool.min_nodes == pool.max_nodes
    return gib if fixed else 0


def autoscaled_pool_errors(loaded: Any, r: Any) -> list[Any]:
    """`azure.local_nvme: true` on a pool the autoscaler grows: its model pods with a weights volume there
    (Hub models; bucket models stream and have none) get no node from the autoscaler, so the nodes that exist
    from the start (`min_nodes`) must hold their minimum replicas, or they never start."""
    from ..k8s.weights import is_object_store

    errors = []
    for name, pool in r.node_pools.items():
        if not pool.local_volume_gib or pool.min_nodes == pool.max_nodes:
            continue
        models = [m for m in r.models.values() if m.node_pool == name and not is_object_store(m.source)]
        need = sum(m.nodes_for(m.replicas_min) for m in models)
        if need > pool.min_nodes:
            detail = ", ".join(f"{m.name}: {m.replicas_min}" for m in models if m.replicas_min)
            nodes = f"{need} node{'s' if need > 1 else ''}"
            errors.append(
                loaded.error(
                    ("node_pools", name, "min_nodes"),
                    f"with azure.local_nvme: true the weights volumes of pool {name}'s model pods are on local "
                    f"NVMe, and the cluster autoscaler adds no node for a pod waiting on such a volume: the "
                    f"minimum replicas ({detail}) need {nodes}, min_nodes is {pool.min_nodes}",
                    f"set node_pools.{name}.min_nodes to at least {need} (min_nodes = max_nodes: a fixed size), "
                    "or leave azure.local_nvme unset (local NVMe on fixed-size pools only)",
                )
            )
    return errors


def storage_class(agent_pools: Iterable[str]) -> dict[str, Any]:
    """The local NVMe StorageClass; creating it makes the installer deploy the CSI driver on those pools."""
    affinity = (
        "requiredDuringSchedulingIgnoredDuringExecution:\n"
        "  nodeSelectorTerms:\n"
        "  - matchExpressions:\n"
        f"    - key: {AGENT_POOL_LABEL}\n"
        "      operator: In\n"
        f"      values: [{', '.join(sorted(agent_pools))}]\n"
    )
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {NODE_AFFINITY_ANNOTATION: affinity}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def container_storage_extension(name: str, resource_group_name: Any, cluster_name: Any, opts: Any) -> Any:
    """Azure Container Storage (v2, installer) as a cluster extension of the AKS cluster."""
    import pulumi_azure_native.kubernetesconfiguration as kubernetesconfiguration

    return kubernetesconfiguration.Extension(
        name,
        extension_name=EXTENSION_NAME,
        extension_type=EXTENSION_TYPE,
        cluster_rp="Microsoft.ContainerService",
        cluster_resource_name="managedClusters",
        cluster_name=cluster_name,
        resource_group_name=resource_group_name,
        auto_upgrade_minor_version=True,
        configuration_settings={"enable-azure-container-storage": "true"},
        opts=opts,
    )
