"""AKS facts the rehearsal asks for (components/rehearsal): pure Python over the plan, no SDK import.

Sources (checked 2026-12-01):
- allocatable: https://learn.microsoft.com/azure/aks/node-resource-reservations (1.29+: kube-reserved memory
  20 MiB per pod + 50 MiB, at most 25% of memory; the shared CPU table; 100 MiB eviction);
- control plane -> nodes: https://learn.microsoft.com/azure/aks/concepts-network (konnectivity tunnels the
  API server's calls to webhooks, any port);
- system pool taint: https://learn.microsoft.com/azure/aks/use-system-pools (CriticalAddonsOnly keeps
  everything but critical add-ons off; AKS's own add-ons tolerate it, third-party charts do not);
- custom VNet: https://learn.microsoft.com/azure/aks/configure-azure-cni (the control-plane identity needs
  Network Contributor on the subnet before the cluster is created; role assignments take minutes to apply);
- resource providers: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-providers-and-types.
"""

from __future__ import annotations

from typing import Any

KUBERNETES_SERVICE = "aks"
MIB = 2**20
GIB = 2**30

_PROVIDERS = {
    "azure-native:containerservice:": "Microsoft.ContainerService",
    "azure-native:network:": "Microsoft.Network",
    "azure-native:storage:": "Microsoft.Storage",
    "azure-native:keyvault:": "Microsoft.KeyVault",
    "azure-native:managedidentity:": "Microsoft.ManagedIdentity",
    "azure-native:apimanagement:": "Microsoft.ApiManagement",
    "azure-native:operationalinsights:": "Microsoft.OperationalInsights",
    "azure-native:dns:": "Microsoft.Network",
    "azure-native:monitor:": "Microsoft.Insights",  # diagnostic settings
    "azure-native:kubernetesconfiguration:": "Microsoft.KubernetesConfiguration",  # cluster extensions (nvme.py)
}
GENERIC = "azure-native:resources:Resource"  # the namespace is an input (prod's StandardV2 NAT gateway)


def _taints(raw: list[Any]) -> list[tuple[str, str, str]]:
    out = []
    for text in raw or []:
        spec, _, effect = str(text).rpartition(":")
        key, _, value = spec.partition("=")
        out.append((key, value, effect))
    return out


def _pool(profile: dict[str, Any], name: str, mode: str) -> dict[str, Any]:
    labels = {str(k): str(v) for k, v in (profile.get("nodeLabels") or {}).items()}
    labels["kubernetes.azure.com/agentpool"] = name
    labels["kubernetes.azure.com/mode"] = mode.lower()
    if profile.get("scaleSetPriority") == "Spot":
        labels["kubernetes.azure.com/scalesetpriority"] = "spot"
    taints = _taints(profile.get("nodeTaints"))
    spot_key = "kubernetes.azure.com/scalesetpriority"
    if profile.get("scaleSetPriority") == "Spot" and not any(t[0] == spot_key for t in taints):
        taints.append((spot_key, "spot", "NoSchedule"))  # AKS adds it to Spot pools
    max_nodes = profile.get("maxCount") if profile.get("enableAutoScaling") else profile.get("count")
    return {
        "name": labels.get("llmcloud.dev/pool", name),
        "machine_type": str(profile.get("vmSize", "")),
        "labels": labels,
        "taints": taints,
        # kubeletDiskType Temporary: pods write to the VM's temp disk, not the OS disk (components/azure/temp_disk.py).
        "disk_gb": _temp_disk_gib(profile) or profile.get("osDiskSizeGB") or 128,
        "max_nodes": int(max_nodes or 0),
        "max_pods": int(profile.get("maxPods") or 250),
    }


def _temp_disk_gib(profile: dict[str, Any]) -> int:
    """GiB of temp disk holding the pods of an agent pool with kubeletDiskType Temporary (catalog row), else 0."""
    if profile.get("kubeletDiskType") != "Temporary":
        return 0
    from llmcloud.components.catalog import load

    size = str(profile.get("vmSize", ""))
    return next((m.temp_disk_gib for m in load("azure").machines if m.machine_type == size), 0)


def pools(plan: Any, resolved: Any) -> list[dict[str, Any]]:
    out = []
    for cluster in plan.by_type("azure-native:containerservice:ManagedCluster"):
        for profile in cluster.inputs.get("agentPoolProfiles") or []:
            out.append(_pool(profile, str(profile.get("name", "system")), str(profile.get("mode", "System"))))
    for step in plan.by_type("azure-native:containerservice:AgentPool"):
        out.append(
            _pool(step.inputs, str(step.inputs.get("agentPoolName") or step.name), str(step.inputs.get("mode", "User")))
        )
    return out


def reserved(vcpus: int, memory_gib: float, max_pods: int) -> tuple[int, int]:
    from llmcloud.components.rehearsal.scheduling import reserved_cpu_millis

    kube = min((20 * max_pods + 50) * MIB, int(memory_gib * GIB * 0.25))
    return reserved_cpu_millis(vcpus), kube + 100 * MIB


def control_plane_ports(plan: Any, resolved: Any) -> tuple[set[int] | None, str]:
    return None, "AKS tunnels the API server's calls to the nodes (konnectivity)"


def builtin_api_groups(plan: Any, resolved: Any) -> set[str]:
    groups = {"metrics.k8s.io", "snapshot.storage.k8s.io"}
    for cluster in plan.by_type("azure-native:containerservice:ManagedCluster"):
        network = cluster.inputs.get("networkProfile") or {}
        if network.get("networkDataplane") == "cilium":
            groups.add("cilium.io")
        if ((cluster.inputs.get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled"):
            groups.add("keda.sh")  # the AKS KEDA add-on
    return groups


def _control_plane_grants(plan: Any) -> list[tuple[Any, Any]]:
    """(cluster, role assignment) for every role granted to the cluster's own (control-plane) identity."""
    out = []
    identities = {f"{s.name}-id": s for s in plan.by_type("azure-native:managedidentity:UserAssignedIdentity")}
    assignments = plan.by_type("azure-native:authorization:RoleAssignment")
    for cluster in plan.by_type("azure-native:containerservice:ManagedCluster"):
        for key in (cluster.inputs.get("identity") or {}).get("userAssignedIdentities") or {}:
            identity = identities.get(str(key))
            if identity is None:
                continue
            for ra in assignments:
                if identity.urn in ((ra.property_dependencies or {}).get("principalId") or []):
                    out.append((cluster, ra))
    return out


def orderings(plan: Any, resolved: Any) -> list[tuple[Any, Any, str]]:
    out = [
        (
            cluster,
            ra,
            "the control-plane identity needs its role on the subnet before AKS creates the "
            "cluster's load balancer and routes in it",
        )
        for cluster, ra in _control_plane_grants(plan)
    ]
    clusters = plan.by_type("azure-native:containerservice:ManagedCluster")
    for fic in plan.by_type("azure-native:managedidentity:FederatedIdentityCredential"):
        for cluster in clusters:
            out.append((fic, cluster, "the federated credential's issuer is the cluster's OIDC issuer URL"))
    return out


WAIT = "pulumi-python:dynamic:Resource"  # rbac_wait.RbacPropagationWait (inputs: trigger, mode, timeout)


def _waits_between(plan: Any, dependent: Any, grant: Any) -> bool:
    """Whether `dependent` waits on an RbacPropagationWait that itself follows `grant` (the neutral check knows
    only time.Sleep)."""
    waits = [s for s in plan.by_type(WAIT) if s.inputs.get("mode") in ("sleep", "kubernetes")]
    return any(plan.depends_on(w, grant.urn) and plan.depends_on(dependent, w.urn) for w in waits)


def propagation_delays(plan: Any, resolved: Any) -> list[tuple[Any, Any, str]]:
    return [
        (cluster, ra, "Azure role assignments can take up to 10 minutes to apply")
        for cluster, ra in _control_plane_grants(plan)
        if not _waits_between(plan, cluster, ra)
    ]


def required_services(plan: Any, resolved: Any) -> list[dict[str, Any]]:
    users_of: dict[str, set[str]] = {}
    for step in plan.steps:
        if not step.custom:
            continue
        if step.type == GENERIC:
            namespace = str(step.inputs.get("resourceProviderNamespace") or "")
            user = f"{step.inputs.get('resourceType')} (generic resource)"
        else:
            namespace = next((ns for prefix, ns in _PROVIDERS.items() if step.type.startswith(prefix)), "")
            user = step.type.split(":")[2]
        if namespace:
            users_of.setdefault(namespace, set()).add(user)
    needs = []
    for namespace in [*dict.fromkeys(_PROVIDERS.values()), *sorted(set(users_of) - set(_PROVIDERS.values()))]:
        users = sorted(users_of.get(namespace, ()))
        if users:
            needs.append(
                {
                    "name": f"resource provider {namespace}",
                    "why": ", ".join(users),
                    "enabled": None,
                    "how": f"`az provider register --namespace {namespace}` once per subscription "
                    "(a plan cannot register it; `llmcloud preflight` checks online)",
                }
            )
    return needs
