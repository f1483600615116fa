"""GKE facts the rehearsal asks for (components/rehearsal): pure Python over the plan, no SDK import.

Sources (checked 2026-12-01):
- allocatable: https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes (CPU and memory
  reservation tables, 100 MiB eviction threshold);
- control plane -> nodes on private clusters: https://cloud.google.com/kubernetes-engine/docs/how-to/
  private-clusters#add_firewall_rules (GKE's own rule opens tcp:443 and tcp:10250 only);
- Workload Identity pool: https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity (the
  PROJECT.svc.id.goog pool exists once a cluster with Workload Identity does);
- APIs: https://cloud.google.com/service-usage/docs/enable-disable (a new project has them disabled).
"""

from __future__ import annotations

import ipaddress
from typing import Any

KUBERNETES_SERVICE = "gke"
MIB = 2**20
GIB = 2**30
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}

# API -> resource type prefixes that need it (used when components/gcp/services.py is absent).
_FALLBACK_SERVICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "container.googleapis.com": ("the GKE cluster and node pools", ("gcp:container/",)),
    "compute.googleapis.com": ("the network, router, NAT, addresses and node VMs", ("gcp:compute/", "gcp:container/")),
    "iam.googleapis.com": ("service accounts and Workload Identity bindings", ("gcp:serviceaccount/",)),
    "cloudresourcemanager.googleapis.com": ("project IAM bindings", ("gcp:projects/iAMMember",)),
    "storage.googleapis.com": ("the weights bucket", ("gcp:storage/",)),
    "secretmanager.googleapis.com": ("API keys in Secret Manager", ("gcp:secretmanager/",)),
    "certificatemanager.googleapis.com": ("the front door's certificate", ("gcp:certificatemanager/",)),
    "dns.googleapis.com": ("DNS records", ("gcp:dns/",)),
    "cloudkms.googleapis.com": ("KMS keys", ("gcp:kms/",)),
}


def _services() -> dict[str, tuple[str, tuple[str, ...]]]:
    """REQUIRED_SERVICES of components/gcp/services.py (owned by the GCP issue) when it exists, else ours.
    Accepts {api: why}, {api: {"why"/"needed_by": ..., "types": [...]}}, or a list of names or (name, why)."""
    try:
        from . import services as owned  # type: ignore[attr-defined]
    except ImportError:
        return dict(_FALLBACK_SERVICES)
    raw = getattr(owned, "REQUIRED_SERVICES", None)
    if not raw:
        return dict(_FALLBACK_SERVICES)
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    items = (
        raw.items()
        if isinstance(raw, dict)
        else [(r if isinstance(r, str) else r[0], "" if isinstance(r, str) else r[1]) for r in raw]
    )
    for name, info in items:
        fallback = _FALLBACK_SERVICES.get(name, ("", ()))
        if isinstance(info, dict):
            why = str(info.get("why") or info.get("needed_by") or fallback[0])
            types = tuple(info.get("types") or fallback[1])
        else:
            why, types = (str(info) if info else fallback[0]), fallback[1]
        out[name] = (why or "llmcloud's GCP resources", types)
    return out


def _cluster(plan: Any) -> Any:
    return next(iter(plan.by_type("gcp:container/cluster:Cluster")), None)


def pools(plan: Any, resolved: Any) -> list[dict[str, Any]]:
    out = []
    for step in plan.by_type("gcp:container/nodePool:NodePool"):
        cfg = step.inputs.get("nodeConfig") or {}
        labels = {str(k): str(v) for k, v in (cfg.get("labels") or {}).items()}
        name = labels.get("llmcloud.dev/pool", step.name)
        labels["cloud.google.com/gke-nodepool"] = str(step.inputs.get("name") or step.name)
        if cfg.get("spot"):
            labels["cloud.google.com/gke-spot"] = "true"
        # Labels GKE puts on accelerator nodes itself (the model servers select on them).
        spec = (getattr(resolved, "node_pools", None) or {}).get(name)
        if spec is not None and spec.accelerator_id:
            if spec.kind == "tpu":
                labels["cloud.google.com/gke-tpu-accelerator"] = spec.accelerator_id
                topology = (step.inputs.get("placementPolicy") or {}).get("tpuTopology") or spec.tpu_topology
                if topology:
                    labels["cloud.google.com/gke-tpu-topology"] = str(topology)
            elif spec.kind == "gpu":
                labels["cloud.google.com/gke-accelerator"] = spec.accelerator_id
        taints = [
            (t.get("key", ""), str(t.get("value", "")), _EFFECTS.get(t.get("effect", ""), t.get("effect", "")))
            for t in cfg.get("taints") or []
        ]
        # GKE taints GPU and TPU nodes itself, whatever the pool asks for.
        if cfg.get("guestAccelerators") and not any(t[0] == "nvidia.com/gpu" for t in taints):
            taints.append(("nvidia.com/gpu", "present", "NoSchedule"))
        machine = str(cfg.get("machineType", ""))
        if machine.startswith("ct") and not any(t[0] == "google.com/tpu" for t in taints):
            taints.append(("google.com/tpu", "present", "NoSchedule"))
        auto = step.inputs.get("autoscaling") or {}
        zones = len(step.inputs.get("nodeLocations") or []) or 1
        max_nodes = (
            auto.get("totalMaxNodeCount")
            or (auto.get("maxNodeCount") or 0) * zones
            or step.inputs.get("nodeCount")
            or step.inputs.get("initialNodeCount")
            or 0
        )
        out.append(
            {
                "name": name,
                "machine_type": machine,
                "labels": labels,
                "taints": taints,
                # Local SSD backing ephemeral storage replaces the boot disk for pods (components/gcp/local_ssd.py).
                "disk_gb": _local_ssd_gib(cfg) or cfg.get("diskSizeGb") or 100,
                "max_nodes": int(max_nodes),
                "max_pods": int(step.inputs.get("maxPodsPerNode") or 110),
            }
        )
    return out


def _local_ssd_gib(node_config: dict[str, Any]) -> int:
    from llmcloud.components.gcp.local_ssd import ephemeral_gib

    count = (node_config.get("ephemeralStorageLocalSsdConfig") or {}).get("localSsdCount") or 0
    return ephemeral_gib(int(count)) if isinstance(count, int) else 0


def reserved(vcpus: int, memory_gib: float, max_pods: int) -> tuple[int, int]:
    """(CPU millicores, memory bytes) GKE keeps from pods: kube-reserved plus the eviction threshold."""
    from llmcloud.components.rehearsal.scheduling import reserved_cpu_millis

    mem, left = 0.0, memory_gib
    for size, share in ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02)):
        part = min(left, size)
        mem += part * share
        left -= part
        if left <= 0:
            break
    if memory_gib < 1:
        mem = 255 / 1024
    return reserved_cpu_millis(vcpus), int(mem * GIB) + 100 * MIB


def _ports(spec: list[Any]) -> set[int]:
    ports: set[int] = set()
    for p in spec or []:
        text = str(p)
        if "-" in text:
            lo, hi = text.split("-", 1)
            ports.update(range(int(lo), int(hi) + 1))
        elif text.isdigit():
            ports.add(int(text))
    return ports


def control_plane_ports(plan: Any, resolved: Any) -> tuple[set[int] | None, str]:
    cluster = _cluster(plan)
    private = (cluster.inputs.get("privateClusterConfig") or {}) if cluster else {}
    if not private.get("enablePrivateNodes"):
        return None, "public nodes: the control plane reaches them directly"
    master = private.get("masterIpv4CidrBlock")
    open_ports = {443, 10250}  # GKE's own firewall rule for private clusters
    for fw in plan.by_type("gcp:compute/firewall:Firewall"):
        if (fw.inputs.get("direction") or "INGRESS") != "INGRESS":
            continue
        sources = [str(s) for s in fw.inputs.get("sourceRanges") or []]
        if master and not any(_covers(s, master) for s in sources):
            continue
        for allow in fw.inputs.get("allows") or []:
            if str(allow.get("protocol", "")).lower() in ("tcp", "all"):
                open_ports |= _ports(allow.get("ports")) if allow.get("ports") else set(range(1, 65536))
    source = master or "the control plane"
    return open_ports, f"private nodes: GKE opens tcp:443,10250 from {source}; more needs a firewall rule"


def _covers(source: str, target: str) -> bool:
    try:
        return ipaddress.ip_network(target, strict=False).subnet_of(ipaddress.ip_network(source, strict=False))
    except (ValueError, TypeError):
        return False


def builtin_api_groups(plan: Any, resolved: Any) -> set[str]:
    groups = {
        "networking.gke.io",
        "cloud.google.com",
        "snapshot.storage.k8s.io",
        "metrics.k8s.io",
        "nodemanagement.gke.io",
        "internal.autoscaling.gke.io",
        "auto.gke.io",
        "warden.gke.io",
    }
    cluster = _cluster(plan)
    if cluster is not None:
        inputs = cluster.inputs
        if ((inputs.get("monitoringConfig") or {}).get("managedPrometheus") or {}).get("enabled"):
            groups.add("monitoring.googleapis.com")
        if (inputs.get("gatewayApiConfig") or {}).get("channel") not in (None, "CHANNEL_DISABLED"):
            groups.add("gateway.networking.k8s.io")
    return groups


def _enabling(plan: Any) -> dict[str, Any]:
    return {str(s.inputs.get("service")): s for s in plan.by_type("gcp:projects/service:Service")}


def orderings(plan: Any, resolved: Any) -> list[tuple[Any, Any, str]]:
    out = []
    cluster = _cluster(plan)
    if cluster is not None:
        pool = ((cluster.inputs.get("workloadIdentityConfig") or {}).get("workloadPool")) or ".svc.id.goog"
        for step in plan.steps:
            if step.type in (
                "gcp:serviceaccount/iAMMember:IAMMember",
                "gcp:serviceaccount/iAMBinding:IAMBinding",
                "gcp:projects/iAMMember:IAMMember",
                "gcp:storage/bucketIAMMember:BucketIAMMember",
            ):
                members = [str(step.inputs.get("member", ""))] + [str(m) for m in step.inputs.get("members") or []]
                if any(str(pool) in m for m in members):
                    out.append(
                        (
                            step,
                            cluster,
                            f"the Workload Identity pool {pool} exists only once the cluster "
                            "does; IAM refuses a member of a pool that does not exist",
                        )
                    )
    enabling = _enabling(plan)
    for api, (_, prefixes) in _services().items():
        service = enabling.get(api)
        if service is None:
            continue
        for step in plan.steps:
            if step.custom and step.type.startswith(prefixes) and step.type != "gcp:projects/service:Service":
                out.append((step, service, f"{api} must be enabled before the first call that uses it"))
    return out


def propagation_delays(plan: Any, resolved: Any) -> list[tuple[Any, Any, str]]:
    return []


def required_services(plan: Any, resolved: Any) -> list[dict[str, Any]]:
    """The APIs this stack needs (components/gcp/services.py decides, per stack), each enabled by the plan
    or not; Service Usage itself cannot be enabled by the plan (it enables the others): on by default in a
    new project, so the plan cannot tell (an advisory)."""
    from . import services

    enabling = _enabling(plan)
    why = _services()
    needs = []
    for api in services.required_services(resolved):
        how = f"a gcp.projects.Service for {api} in the plan (or `gcloud services enable {api}`)"
        enabled: bool | None = None if api == services.PREREQUISITE else api in enabling
        if api == services.PREREQUISITE:
            how = f"it is on in every new project; if it was turned off: `gcloud services enable {api}`"
        needs.append(
            {"name": api, "why": why.get(api, ("llmcloud's GCP resources", ()))[0], "enabled": enabled, "how": how}
        )
    return needs
