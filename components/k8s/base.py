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


GATEWAY_SELECTOR = {"app.kubernetes.io/component": "api-gateway"}
# Namespaces whose scrapers read vLLM's /metrics: GKE Managed Prometheus collectors, kube-prometheus-stack.
METRICS_NAMESPACES = ("gmp-system", "monitoring")
SERVING_PORT = 8000


def network_policies() -> dict[str, dict[str, object]]:
    """Default deny for ingress; model servers are reached from inside the namespace (the gateway, LWS
    group members) and scraped by the monitoring namespaces; only the gateway accepts outside traffic
    (its load balancer's health checks and proxies come from the cloud's ranges)."""
    return {
        "default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
        },
        "allow-metrics-scrape": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                        for ns in METRICS_NAMESPACES
                    ],
                    "ports": [{"protocol": "TCP", "port": SERVING_PORT}],
                }
            ],
        },
        "allow-gateway-ingress": {
            "podSelector": {"matchLabels": GATEWAY_SELECTOR},
            "policyTypes": ["Ingress"],
            "ingress": [{}],
        },
    }


class ServingNamespace(pulumi.ComponentResource):
    """Outputs: namespace, service_account."""

    def __init__(self, name: str, args: ServingNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ServingNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={
                    **args.labels,
                    # GPU pods need no privileges: enforce "baseline", warn on anything "restricted" would refuse.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=child,
        )
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.service_account, namespace=ns.metadata.name, annotations=args.annotations, labels=args.labels
            ),
            automount_service_account_token=False,  # vLLM never calls the Kubernetes API
            opts=child,
        )
        for policy_name, spec in network_policies().items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name, namespace=ns.metadata.name, labels=args.labels),
                spec=spec,
                opts=child,
            )
        self.namespace = ns.metadata.name
        self.service_account = sa.metadata.name
        self.register_outputs({"namespace": self.namespace, "service_account": self.service_account})
