"""ClusterAutoscaler: the Kubernetes Cluster Autoscaler for EKS managed node groups, from its official chart.

GKE and AKS scale node pools themselves; on EKS the autoscaler runs in the cluster. It discovers the
node groups by their Auto Scaling group tags (`k8s.io/cluster-autoscaler/enabled`,
`k8s.io/cluster-autoscaler/<cluster>`), which components/aws/node_group.py sets together with the
node-template tags that let it scale a group up from zero. Its AWS permissions come through EKS Pod
Identity on the service account kube-system/cluster-autoscaler (components/aws/identity.py): no keys.

Its image's minor version must equal the cluster's Kubernetes minor (the project supports that pairing
only): IMAGE_TAGS pins the newest patch of each minor, and the chart value image.tag follows the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..labels import POOL_LABEL, SYSTEM_POOL
from . import images

# Where the autoscaler runs; components/aws/platform.py grants this service account its Pod Identity.
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
# Kubernetes minor -> Cluster Autoscaler release: the newest patch tag of each minor in kubernetes/autoscaler
# (cluster-autoscaler-1.36.1, -1.35.2, -1.34.5, -1.33.6 of 2026-07-22, whose release notes of 2026-07-23 list
# their registry.k8s.io images; cluster-autoscaler-1.32.7 of 2026-02-13), checked 2026-12-01. They replace
# v1.36.0, v1.35.1, v1.34.4, v1.33.5 and v1.32.5, which kubernetes/k8s.io PR #9676 had promoted on 2026-07-03.
# https://github.com/kubernetes/autoscaler/releases
IMAGE_TAGS = {"1.32": "v1.32.7", "1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2", "1.36": "v1.36.1"}


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def image_tag(kubernetes_version: str | None) -> str:
    """The autoscaler release for the cluster's minor; for a minor newer than the table, the newest pinned."""
    if kubernetes_version in IMAGE_TAGS:
        return IMAGE_TAGS[kubernetes_version]
    newest = max(IMAGE_TAGS, key=_minor)
    if kubernetes_version is None or _minor(kubernetes_version) > _minor(newest):
        return IMAGE_TAGS[newest]
    older = [v for v in IMAGE_TAGS if _minor(v) <= _minor(kubernetes_version)]
    return IMAGE_TAGS[max(older, key=_minor)] if older else IMAGE_TAGS[min(IMAGE_TAGS, key=_minor)]


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    region: str
    kubernetes_version: str | None = None  # the cluster's minor ("1.36"); None: the newest pinned release


def values(cluster_name: str, region: str, kubernetes_version: str | None = None) -> dict[str, object]:
    """Chart values (a plain function so tests can check them without the runtime)."""
    return {
        "image": {"repository": IMAGE, "tag": image_tag(kubernetes_version)},
        "autoDiscovery": {"clusterName": cluster_name},
        "awsRegion": region,
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        # Balance GPU groups across zones and never delete nodes with local weights mid-load.
        "extraArgs": {
            "balance-similar-node-groups": True,
            "skip-nodes-with-local-storage": False,
            "expander": "least-waste",
            "scale-down-unneeded-time": "10m",
        },
        "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    """Outputs: release."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ClusterAutoscaler", name, None, opts)
        chart = images.CLUSTER_AUTOSCALER_CHART
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="cluster-autoscaler",
            chart=chart["chart"],
            version=chart["version"],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart["repo"]),
            namespace=NAMESPACE,
            values=pulumi.Output.from_input(args.cluster_name).apply(
                lambda n: values(n, args.region, args.kubernetes_version)
            ),
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = release.name
        self.register_outputs({"release": self.release})
