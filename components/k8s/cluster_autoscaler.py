"""ClusterAutoscaler: the Kubernetes Cluster Autoscaler for EKS managed node groups, from its official chart.

GKE and AKS scale node pools themselves; on EKS the autoscaler runs in the cluster. It discovers the
node groups by their Auto Scaling group tags (`k8s.io/cluster-autoscaler/enabled`,
`k8s.io/cluster-autoscaler/<cluster>`), which components/aws/node_group.py sets together with the
node-template tags that let it scale a group up from zero. Its AWS permissions come through EKS Pod
Identity on the service account kube-system/cluster-autoscaler (components/aws/identity.py): no keys.
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


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    region: str


def values(cluster_name: str, region: str) -> dict[str, object]:
    """Chart values (a plain function so tests can check them without the runtime)."""
    return {
        "autoDiscovery": {"clusterName": cluster_name},
        "awsRegion": region,
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        # Balance GPU groups across zones and never delete nodes with local weights mid-load.
        "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-local-storage": False,
                      "expander": "least-waste", "scale-down-unneeded-time": "10m"},
        "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                     "readOnlyRootFilesystem": True},
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    """Outputs: release."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ClusterAutoscaler", name, None, opts)
        chart = images.CLUSTER_AUTOSCALER_CHART
        release = k8s.helm.v3.Release(
            f"{name}-release", name="cluster-autoscaler", chart=chart["chart"], version=chart["version"],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart["repo"]), namespace=NAMESPACE,
            values=pulumi.Output.from_input(args.cluster_name).apply(lambda n: values(n, args.region)),
            atomic=True, opts=pulumi.ResourceOptions(parent=self))
        self.release = release.name
        self.register_outputs({"release": self.release})
