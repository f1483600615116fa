"""Scheduling: every pod the deploy creates fits some node pool (taints, selectors, allocatable).

Pools and their taints and labels come from the plan through the cloud's facts; what a node can give
pods (allocatable) is the catalog's machine row minus the cloud's documented reservations. The pods are
the plan's pod templates plus the pods of each Helm release (pods.CHARTS, with the values llmcloud sets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ADVISORY, ERROR, GATE, Context, Finding
from .pods import PodSpec, helm_pods, plan_pods

GIB = 2**30
MIB = 2**20
# Labels every Linux node carries (kubelet well-known labels); charts select on them.
NODE_LABELS = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}


@dataclass
class Pool:
    name: str
    machine_type: str
    labels: dict[str, str]
    taints: list[tuple[str, str, str]]  # (key, value, effect) with Kubernetes effect names
    max_nodes: int
    allocatable: dict[str, int] = field(default_factory=dict)
    known: bool = True  # the machine type is in the catalog


def reserved_cpu_millis(vcpus: int) -> int:
    """The kube-reserved CPU table GKE, EKS and AKS all document: 6% of the first core, 1% of the
    second, 0.5% of the next two, 0.25% of every core above four."""
    millis = 0.0
    for core in range(1, vcpus + 1):
        millis += 60 if core == 1 else 10 if core == 2 else 5 if core <= 4 else 2.5
    return int(millis)


def pools(ctx: Context) -> list[Pool]:
    out = []
    machines = {m.machine_type: m for m in [*ctx.catalog.machines, *ctx.catalog.cpu_machines]}
    for raw in ctx.facts.pools(ctx.plan, ctx.resolved):
        machine = machines.get(raw["machine_type"])
        pool = Pool(
            name=raw["name"],
            machine_type=raw["machine_type"],
            labels={**NODE_LABELS, **raw["labels"]},
            taints=list(raw["taints"]),
            max_nodes=int(raw.get("max_nodes", 1)),
            known=machine is not None,
        )
        if machine is not None:
            max_pods = int(raw.get("max_pods", 110))
            cpu_reserved, mem_reserved = ctx.facts.reserved(machine.vcpus, machine.memory_gib, max_pods)
            pool.allocatable = {
                "cpu": machine.vcpus * 1000 - cpu_reserved,
                "memory": int(machine.memory_gib * GIB) - mem_reserved,
                "pods": max_pods,
            }
            disk_gb = raw.get("disk_gb")
            if disk_gb:
                # The boot disk holds the OS and images too; the kubelet evicts below 10-15% free.
                pool.allocatable["ephemeral-storage"] = int(disk_gb * GIB * 0.85) - 10 * GIB
            if machine.accelerator:
                acc = ctx.catalog.accelerators.get(machine.accelerator)
                if acc is not None:
                    pool.allocatable[acc.k8s_resource] = machine.count
        out.append(pool)
    return out


def _short(taint: tuple[str, str, str]) -> str:
    key, value, effect = taint
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def _fits(pod: PodSpec, pool: Pool) -> list[str]:
    """What the pod asks for beyond one node of the pool (empty: it fits)."""
    if not pool.known:
        return []  # a machine the catalog does not know: cannot judge, do not refuse
    over = []
    for resource, wanted in pod.requests.items():
        have = pool.allocatable.get(resource, 0 if "/" in resource else None)
        if have is None:
            continue
        if wanted > have:
            over.append(f"{resource} {_show(resource, wanted)} > {_show(resource, have)} allocatable")
    return over


def _show(resource: str, n: int) -> str:
    if resource == "cpu":
        return f"{n}m"
    if resource in ("memory", "ephemeral-storage"):
        return f"{n / GIB:.1f}Gi"
    return str(n)


def check(ctx: Context) -> list[Finding]:
    node_pools = pools(ctx)
    if not node_pools:
        return []
    findings = []
    for pod in [*plan_pods(ctx.plan), *helm_pods(ctx.plan)]:
        findings.extend(_daemon(pod, node_pools) if pod.daemon else _pod(pod, node_pools))
    return findings


def _pod(pod: PodSpec, node_pools: list[Pool]) -> list[Finding]:
    reasons, too_small = [], []
    for pool in node_pools:
        if not pod.selects(pool.labels):
            reasons.append(f"{pool.name}: labels do not match its node selector/affinity")
            continue
        blocked = pod.untolerated(pool.taints)
        if blocked:
            reasons.append(f"{pool.name}: taint {', '.join(_short(t) for t in blocked)} not tolerated")
            continue
        if pool.max_nodes <= 0:
            reasons.append(f"{pool.name}: max_nodes is 0")
            continue
        over = _fits(pod, pool)
        if over:
            too_small.append((pool, over))
            continue
        return []  # fits here
    if too_small:
        pool, over = too_small[0]
        detail = "; ".join(f"{p.name} ({p.machine_type}): {', '.join(o)}" for p, o in too_small)
        if pod.model:
            return [
                Finding(
                    "scheduling",
                    ERROR,
                    pod.owner,
                    f"no node of the pools it may use is big enough: {detail}",
                    f"a larger machine_type for node_pools.{pool.name}, or a smaller model/quantization",
                    path=("node_pools", pool.name, "machine_type"),
                )
            ]
        return [
            Finding(
                "scheduling",
                GATE,
                pod.owner,
                f"no node is big enough: {detail}",
                "lower this component's requests or give the system pool a larger machine "
                "(cluster.system_machine_type)",
            )
        ]
    return [
        Finding(
            "scheduling",
            GATE,
            pod.owner,
            "fits no node pool: " + "; ".join(reasons),
            "tolerate the pool's taint or select a pool without it (the component's values or the "
            "cloud's system pool settings)",
        )
    ]


def _daemon(pod: PodSpec, node_pools: list[Pool]) -> list[Finding]:
    """A DaemonSet runs on every node it selects and tolerates. One aimed at pools (a selector or affinity)
    that cannot run on them is a failure (a device plugin that never starts leaves the GPUs invisible);
    a catch-all one that skips tainted pools is only worth knowing."""
    targeted = bool(pod.node_selector or pod.required_terms)
    selected = [p for p in node_pools if pod.selects(p.labels)]
    if not selected:
        severity = GATE if targeted else ADVISORY
        return [
            Finding(
                "scheduling", severity, pod.owner, "selects no node pool of the plan", "fix its node selector/affinity"
            )
        ]
    findings = []
    for pool in selected:
        blocked = pod.untolerated(pool.taints)
        if blocked:
            severity = GATE if targeted else ADVISORY
            findings.append(
                Finding(
                    "scheduling",
                    severity,
                    pod.owner,
                    f"cannot run on pool {pool.name}: taint {', '.join(_short(t) for t in blocked)} not tolerated",
                    "add the toleration",
                )
            )
        elif _fits(pod, pool):
            findings.append(
                Finding(
                    "scheduling",
                    GATE,
                    pod.owner,
                    f"does not fit a node of pool {pool.name}: {', '.join(_fits(pod, pool))}",
                    "lower its requests",
                )
            )
    return findings
