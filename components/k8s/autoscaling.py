"""Queue-depth autoscaling: a KEDA ScaledObject per model on `vllm:num_requests_waiting`.

Why KEDA and not an HPA on an external metric: one object works on every cloud (only the Prometheus
address differs), and it scales to zero when replicas.min is 0, which an HPA cannot. CPU is the
wrong signal for an engine that is accelerator-bound. KEDA creates and owns the HPA itself.

Where the metric comes from (README, "The serving layer" has the details):
- gcp:   Google Cloud Managed Service for Prometheus (PodMonitoring in monitoring.py), queried through
         its Prometheus-compatible API with KEDA's GCP workload identity (TriggerAuthentication
         podIdentity.provider=gcp). The keda-operator KSA needs roles/monitoring.viewer.
- aws/azure: an in-cluster Prometheus (kube-prometheus-stack; ServiceMonitor in monitoring.py).

Scale from zero: at zero replicas no vLLM pod reports a queue, so nothing can wake the model from its
own metric. With min 0 pass `wake_query` (a metric that exists at zero replicas, e.g. the gateway's
request count for the model); without it the model stays at zero until someone scales it by hand,
and a warning says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import images

METRIC = "vllm:num_requests_waiting"
# Waiting requests per replica that trigger a scale-up: vLLM already batches what fits in the KV cache,
# so any sustained queue means the replica is full.
TARGET_WAITING_PER_REPLICA = 4
IN_CLUSTER_PROMETHEUS = "http://prometheus-operated.monitoring.svc:9090"  # kube-prometheus-stack


def prometheus_url(cloud: str, project: str | None = None, override: str | None = None) -> str:
    if override:
        return override
    if cloud == "gcp":
        if not project:
            raise ValueError("the GKE Managed Prometheus endpoint needs the project id")
        return f"https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus"
    return IN_CLUSTER_PROMETHEUS


def queue_query(model: str, namespace: str) -> str:
    # vLLM labels its metrics with model_name = --served-model-name.
    return f'sum({METRIC}{{namespace="{namespace}",model_name="{model}"}})'


@dataclass(frozen=True)
class QueueDepthAutoscalerArgs:
    model: str
    namespace: str
    target_api_version: str  # apps/v1 or leaderworkerset.x-k8s.io/v1 (both have the scale subresource)
    target_kind: str  # Deployment | LeaderWorkerSet
    target_name: str
    min_replicas: int
    max_replicas: int
    cloud: str
    project: str | None = None
    prometheus_url: str | None = None
    wake_query: str | None = None
    target_waiting: int = TARGET_WAITING_PER_REPLICA
    labels: Mapping[str, str] = field(default_factory=dict)


def uses_gcp_identity(args: QueueDepthAutoscalerArgs) -> bool:
    return args.cloud == "gcp" and args.prometheus_url is None


def scaled_object(args: QueueDepthAutoscalerArgs, namespace: str) -> dict[str, Any]:
    """The ScaledObject spec (pure; `namespace` is the plain name used inside the PromQL)."""
    trigger: dict[str, Any] = {
        "type": "prometheus",
        "name": "queue-depth",
        "metricType": "AverageValue",  # the query's sum / replicas is compared with the threshold
        "metadata": {
            "serverAddress": prometheus_url(args.cloud, args.project, args.prometheus_url),
            "query": queue_query(args.model, namespace),
            "threshold": str(args.target_waiting),
            "activationThreshold": "0",
            "ignoreNullValues": "true",  # no series yet (fresh deploy, zero replicas) reads as 0
        },
    }
    if uses_gcp_identity(args):
        trigger["authenticationRef"] = {"name": f"{args.target_name}-gmp"}
    triggers = [trigger]
    if args.wake_query:
        triggers.append(
            {
                "type": "prometheus",
                "name": "wake",
                "metricType": "AverageValue",
                "metadata": {**trigger["metadata"], "query": args.wake_query, "threshold": "1"},
                **(
                    {"authenticationRef": trigger["authenticationRef"]}
                    if "authenticationRef" in trigger
                    else {}
                ),
            }
        )
    return {
        "scaleTargetRef": {
            "apiVersion": args.target_api_version,
            "kind": args.target_kind,
            "name": args.target_name,
        },
        "minReplicaCount": args.min_replicas,
        "maxReplicaCount": args.max_replicas,
        "pollingInterval": 15,
        # A cold start takes minutes (node, image, weights): never give a replica back within 10 min
        # of its last queue, and wait 30 min of idleness before scaling to zero.
        "cooldownPeriod": 1800,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": 600,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
                    },
                }
            }
        },
        "triggers": triggers,
    }


class QueueDepthAutoscaler(pulumi.ComponentResource):
    """Outputs: scaled_object (its name)."""

    def __init__(
        self, name: str, args: QueueDepthAutoscalerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmcloud:k8s:QueueDepthAutoscaler", name, None, opts)
        if args.max_replicas < max(args.min_replicas, 1):
            raise ValueError(f"{args.model}: max replicas {args.max_replicas} < min {args.min_replicas}")
        child = pulumi.ResourceOptions(parent=self)
        meta = {"name": args.target_name, "namespace": args.namespace, "labels": dict(args.labels)}
        if uses_gcp_identity(args):
            # KEDA's operator authenticates to Managed Prometheus with its own workload identity.
            k8s.apiextensions.CustomResource(
                f"{name}-auth",
                api_version="keda.sh/v1alpha1",
                kind="TriggerAuthentication",
                metadata={**meta, "name": f"{args.target_name}-gmp"},
                spec={"podIdentity": {"provider": "gcp"}},
                opts=child,
            )
        if args.min_replicas == 0 and not args.wake_query:
            pulumi.log.warn(
                f"model {args.model} scales to zero but has no wake_query: at zero replicas no "
                f"pod reports {METRIC}, so only a manual scale-up wakes it (README: The serving layer)",
                self,
            )
        so = k8s.apiextensions.CustomResource(
            f"{name}-scaledobject",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=meta,
            spec=scaled_object(args, args.namespace),
            opts=child,
        )
        self.scaled_object = so.metadata["name"]
        self.register_outputs({"scaled_object": self.scaled_object})


class KedaOperator(pulumi.ComponentResource):
    """KEDA from its official Helm chart (kedacore/charts), pinned. Outputs: release."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:KedaOperator", name, None, opts)
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="keda",
            chart=images.KEDA_CHART.chart,
            version=images.KEDA_CHART.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=images.KEDA_CHART.repo),
            # The chart's default operator service account, keda/keda-operator, is the identity that
            # queries Managed Prometheus on GKE (README, "The serving layer": the IAM binding it needs).
            namespace="keda",
            create_namespace=True,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = release.name
        self.register_outputs({"release": self.release})
