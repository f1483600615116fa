"""ServingNamespace: the namespace and the Kubernetes service account the model servers run as.

The service account carries the cloud's identity annotation (GKE Workload Identity, EKS Pod
Identity needs none, AKS workload identity client id), so pods read the weights bucket without keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class ServingNamespaceArgs:
    namespace: str
    service_account: str
    annotations: pulumi.Input[dict[str, str]]
    labels: dict[str, str] = field(default_factory=dict)


class ServingNamespace(pulumi.ComponentResource):
    """Outputs: namespace, service_account."""

    def __init__(self, name: str, args: ServingNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ServingNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels={
                **args.labels,
                # GPU pods need no privileges: enforce "baseline", warn on anything "restricted" would refuse.
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            }),
            opts=child)
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.service_account, namespace=ns.metadata.name,
                                                annotations=args.annotations, labels=args.labels),
            automount_service_account_token=False,  # vLLM never calls the Kubernetes API
            opts=child)
        self.namespace = ns.metadata.name
        self.service_account = sa.metadata.name
        self.register_outputs({"namespace": self.namespace, "service_account": self.service_account})
