"""Device plugins where the cloud does not run one, so accelerators show up as extended resources.

| cloud | NVIDIA GPU                                   | Neuron (Inferentia/Trainium)          | TPU        |
|-------|----------------------------------------------|---------------------------------------|------------|
| gcp   | GKE installs it (with the driver)            | n/a                                   | GKE        |
| aws   | ours: the EKS AL2023 NVIDIA AMI has driver + | ours: Neuron device plugin + its RBAC | n/a        |
|       | container toolkit, not the plugin            |                                       |            |
| azure | ours: AKS GPU nodes get the driver, the      | n/a                                   | n/a        |
|       | plugin is a documented manual step           |                                       |            |

The cloud decides through a plain parameter: `plugins_for(cloud, pools)`. Each DaemonSet runs only on
the accelerator pools (node affinity on llmcloud.dev/pool) and tolerates their taints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import registry
from ..resolve import ResolvedNodePool
from . import images
from .serving import POOL_LABEL

NAMESPACE = "kube-system"
DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"


def plugins_for(cloud: str, pools: Iterable[ResolvedNodePool]) -> dict[str, tuple[str, ...]]:
    """kind -> names of the pools that need our device plugin on `cloud` (empty on GKE)."""
    wanted = registry.cloud(cloud).device_plugins  # accelerator kinds whose device plugin llmcloud installs
    out: dict[str, list[str]] = {}
    for pool in pools:
        if pool.kind in wanted:
            out.setdefault(pool.kind, []).append(pool.name)
    return {kind: tuple(sorted(names)) for kind, names in out.items()}


def _affinity(pools: tuple[str, ...]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": list(pools)}]}
                ]
            }
        }
    }


def _tolerations(taint: str) -> list[dict[str, str]]:
    return [
        {"key": taint, "operator": "Exists", "effect": "NoSchedule"},
        *(
            {"key": c.spot_taint[0], "operator": "Exists", "effect": "NoSchedule"}
            for c in registry.clouds()
            if c.spot_taint
        ),
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
    ]


# Checks a device plugin cannot pass, with the reason, where scanners (checkov) read them: on the object.
SCAN_EXCEPTIONS = {
    "checkov.io/skip1": "CKV_K8S_23=the kubelet's device-plugin directory is root-owned: the plugin must run as root "
    "to create its socket there (no privileges, no escalation, all capabilities dropped)",
    "checkov.io/skip2": "CKV_K8S_40=runs as root for the same reason",
    "checkov.io/skip3": "CKV_K8S_8=device plugins expose no health endpoint; the kubelet re-registers a plugin "
    "whose socket disappears",
    "checkov.io/skip4": "CKV_K8S_9=no readiness endpoint either; a plugin is ready once registered with the kubelet",
    "checkov.io/skip5": "CKV_K8S_38=the Neuron plugin patches its node and pods through the API (RBAC limited to "
    "that); the NVIDIA plugin mounts no token",
}


def _daemonset(
    name: str,
    labels: Mapping[str, str],
    pools: tuple[str, ...],
    taint: str,
    container: dict[str, Any],
    service_account: str | None = None,
) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": name}
    spec: dict[str, Any] = {
        "priorityClassName": "system-node-critical",  # a node without its plugin cannot run its workload
        "affinity": _affinity(pools),
        "tolerations": _tolerations(taint),
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "device-plugin", "hostPath": {"path": DEVICE_PLUGIN_DIR, "type": "Directory"}}],
    }
    if service_account:
        spec["serviceAccountName"] = service_account
    else:
        spec["automountServiceAccountToken"] = False  # the NVIDIA plugin never calls the Kubernetes API
    container["securityContext"] = {**container["securityContext"], "readOnlyRootFilesystem": True}
    container["resources"]["limits"].setdefault("cpu", "200m")
    return {
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {**labels, **selector},
            "annotations": SCAN_EXCEPTIONS,
        },
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {**labels, **selector}}, "spec": spec},
        },
    }


def nvidia_daemonset(
    pools: tuple[str, ...], labels: Mapping[str, str], image_overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    container = {
        "name": "nvidia-device-plugin",
        "image": images.replace(images.NVIDIA_DEVICE_PLUGIN_IMAGE, image_overrides),
        "env": [
            {"name": "FAIL_ON_INIT_ERROR", "value": "false"},
            {"name": "DEVICE_LIST_STRATEGY", "value": "envvar"},
        ],
        # The plugin only writes its socket under the kubelet's directory: no privileges needed.
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "volumeMounts": [{"name": "device-plugin", "mountPath": DEVICE_PLUGIN_DIR}],
    }
    return _daemonset("nvidia-device-plugin", labels, pools, "nvidia.com/gpu", container)


def neuron_daemonset(
    pools: tuple[str, ...], labels: Mapping[str, str], image_overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    container = {
        "name": "neuron-device-plugin",
        "image": images.replace(images.NEURON_DEVICE_PLUGIN_IMAGE, image_overrides),
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "volumeMounts": [{"name": "device-plugin", "mountPath": DEVICE_PLUGIN_DIR}],
    }
    return _daemonset(
        "neuron-device-plugin",
        labels,
        pools,
        "aws.amazon.com/neuron",
        container,
        service_account="neuron-device-plugin",
    )


# The Neuron plugin reads and patches its node (core allocation), and patches pods it allocated.
NEURON_RULES = [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch", "update"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "update", "patch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
]


@dataclass(frozen=True)
class DevicePluginsArgs:
    cloud: str
    pools: tuple[ResolvedNodePool, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    image_overrides: Mapping[str, str] = field(default_factory=dict)  # the stack's `images:`


class DevicePlugins(pulumi.ComponentResource):
    """Outputs: installed (accelerator kinds whose plugin this stack runs; empty on GKE)."""

    def __init__(self, name: str, args: DevicePluginsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:DevicePlugins", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        wanted = plugins_for(args.cloud, args.pools)
        labels = dict(args.labels)
        if "gpu" in wanted:
            ds = nvidia_daemonset(wanted["gpu"], labels, args.image_overrides)
            k8s.apps.v1.DaemonSet(f"{name}-nvidia", metadata=ds["metadata"], spec=ds["spec"], opts=child)
        if "neuron" in wanted:
            sa = k8s.core.v1.ServiceAccount(
                f"{name}-neuron-sa",
                metadata={"name": "neuron-device-plugin", "namespace": NAMESPACE, "labels": labels},
                opts=child,
            )
            role = k8s.rbac.v1.ClusterRole(
                f"{name}-neuron-role",
                metadata={"name": "llmcloud-neuron-device-plugin", "labels": labels},
                rules=NEURON_RULES,
                opts=child,
            )
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-neuron-binding",
                metadata={"name": "llmcloud-neuron-device-plugin", "labels": labels},
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": role.metadata["name"],
                },
                subjects=[{"kind": "ServiceAccount", "name": sa.metadata["name"], "namespace": NAMESPACE}],
                opts=child,
            )
            ds = neuron_daemonset(wanted["neuron"], labels, args.image_overrides)
            k8s.apps.v1.DaemonSet(
                f"{name}-neuron",
                metadata=ds["metadata"],
                spec=ds["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[sa]),
            )
        self.installed = sorted(wanted)
        self.register_outputs({"installed": self.installed})
