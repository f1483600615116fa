"""Autoscaling: a KEDA ScaledObject per model on vLLM's load: the queue, the KV cache and running requests.

The queue (`vllm:num_requests_waiting`) stays at 0 until the KV cache is full, so it alone lets busy
replicas be scaled away. Three triggers, each an average per replica; the HPA KEDA creates takes the
largest replica count any of them asks for:
- queue-depth: waiting requests per replica above TARGET_WAITING_PER_REPLICA (the replica is full);
- kv-cache: KV-cache use (`vllm:kv_cache_usage_perc`, 0..1) above TARGET_KV_CACHE_USAGE (about to
  preempt or queue);
- running: requests being generated per replica above the model's target (default
  TARGET_RUNNING_PER_REPLICA, at least the stack's expected_concurrency).
Metric names are vLLM's at the pinned version, read at v0.33.0 (vllm/v1/metrics/loggers.py of the release
wheel: vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc; the old
vllm:gpu_cache_usage_perc is gone since 0.12; monitoring.VLLM_METRICS_TAG).

Why KEDA and not an HPA on an external metric: one object works on every cloud (only the Prometheus
address differs), and it scales to zero when replicas.min is 0, which an HPA cannot. CPU is the
wrong signal for an engine that is accelerator-bound. KEDA creates and owns the HPA itself.

Where the metric comes from (README, "The serving layer" has the details):
- gcp:   Google Cloud Managed Service for Prometheus (PodMonitoring in monitoring.py), queried through
         its Prometheus-compatible API with KEDA's GCP workload identity (TriggerAuthentication
         podIdentity.provider=gcp). The keda-operator KSA needs roles/monitoring.viewer.
- aws/azure: an in-cluster Prometheus (kube-prometheus-stack; ServiceMonitor in monitoring.py).

Scale from zero: at zero replicas no vLLM pod reports a queue, so nothing can wake the model from its
own metric. With min 0 a second trigger reads the gateway's request count for the model (built by
k8s/gateway.py `wake_trigger`; `wake_query` overrides its query), while the gateway holds the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import registry
from . import images

METRIC = "vllm:num_requests_waiting"
RUNNING_METRIC = "vllm:num_requests_running"
KV_CACHE_METRIC = "vllm:kv_cache_usage_perc"
# Waiting requests per replica that trigger a scale-up: vLLM already batches what fits in the KV cache,
# so any sustained queue means the replica is full.
TARGET_WAITING_PER_REPLICA = 4
# KV-cache use per replica above which another replica is added: vLLM preempts (recomputes) sequences
# when the cache is full; 80 % leaves room for the requests that arrive while a replica starts.
TARGET_KV_CACHE_USAGE = 0.8
# Requests generated at once per replica above which another replica is added: beyond this, time per
# output token grows with the batch on one replica.
TARGET_RUNNING_PER_REPLICA = 16
IN_CLUSTER_PROMETHEUS = "http://prometheus-operated.monitoring.svc:9090"  # kube-prometheus-stack
# The TriggerAuthentication (one per stack, in the serving namespace; KedaOperator) every model's triggers name
# on a cloud whose managed Prometheus KEDA reads with its own workload identity.
MANAGED_PROMETHEUS_AUTH = "managed-prometheus"


def prometheus_url(cloud: str, project: str | None = None, override: str | None = None) -> str:
    if override:
        return override
    return registry.cloud(cloud).managed_prometheus_url(project) or IN_CLUSTER_PROMETHEUS


def load_query(metric: str, model: str, namespace: str) -> str:
    # vLLM labels its metrics with model_name = --served-model-name; the sum over replicas is divided by
    # the replica count by KEDA (metricType AverageValue).
    return f'sum({metric}{{namespace="{namespace}",model_name="{model}"}})'


def queue_query(model: str, namespace: str) -> str:
    return load_query(METRIC, model, namespace)


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
    target_running: int = TARGET_RUNNING_PER_REPLICA
    target_kv_cache: float = TARGET_KV_CACHE_USAGE
    labels: Mapping[str, str] = field(default_factory=dict)


def uses_gcp_identity(args: QueueDepthAutoscalerArgs) -> bool:
    """KEDA authenticates to the cloud's managed Prometheus with its own identity (Cloud.keda_identity_provider)."""
    return registry.cloud(args.cloud).keda_identity_provider is not None and args.prometheus_url is None


def scaled_object(args: QueueDepthAutoscalerArgs, namespace: str) -> dict[str, Any]:
    """The ScaledObject spec (pure; `namespace` is the plain name used inside the PromQL)."""
    server = prometheus_url(args.cloud, args.project, args.prometheus_url)
    auth = {"authenticationRef": {"name": MANAGED_PROMETHEUS_AUTH}} if uses_gcp_identity(args) else {}

    def prometheus(name: str, query: str, threshold: str) -> dict[str, Any]:
        return {
            "type": "prometheus",
            "name": name,
            "metricType": "AverageValue",  # the query's sum / replicas is compared with the threshold
            "metadata": {
                "serverAddress": server,
                "query": query,
                "threshold": threshold,
                "activationThreshold": "0",
                "ignoreNullValues": "true",  # no series yet (fresh deploy, zero replicas) reads as 0
            },
            **auth,
        }

    triggers = [
        prometheus("queue-depth", queue_query(args.model, namespace), str(args.target_waiting)),
        prometheus("kv-cache", load_query(KV_CACHE_METRIC, args.model, namespace), f"{args.target_kv_cache:g}"),
        prometheus("running", load_query(RUNNING_METRIC, args.model, namespace), str(args.target_running)),
    ]
    if args.min_replicas == 0 or args.wake_query:
        # At zero replicas no pod reports a queue: the gateway's requests for the model wake it (k8s/gateway.py).
        from .gateway import wake_trigger

        triggers.append(
            wake_trigger(args.model, namespace, server, auth.get("authenticationRef"), query=args.wake_query)
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

    def __init__(self, name: str, args: QueueDepthAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:QueueDepthAutoscaler", name, None, opts)
        if args.max_replicas < max(args.min_replicas, 1):
            raise ValueError(f"{args.model}: max replicas {args.max_replicas} < min {args.min_replicas}")
        # Children do not inherit the component's depends_on (pulumi/pulumi#8721): the ScaledObject must wait for
        # the KEDA release that installs its CRD, and for the TriggerAuthentication its triggers name.
        child = pulumi.ResourceOptions(parent=self, depends_on=list((opts.depends_on if opts else None) or []))
        meta = {"name": args.target_name, "namespace": args.namespace, "labels": dict(args.labels)}
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
    """KEDA from its official Helm chart (kedacore/charts), pinned, and on a cloud whose managed Prometheus KEDA
    reads with its own workload identity (Cloud.keda_identity_provider), the one TriggerAuthentication every
    model's triggers name (MANAGED_PROMETHEUS_AUTH, in `namespace`, after `namespace_resource`). Outputs: release."""

    def __init__(
        self,
        name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        cloud: str | None = None,
        namespace: str | None = None,
        namespace_resource: pulumi.Resource | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
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
        provider = registry.cloud(cloud).keda_identity_provider if cloud else None
        if provider is not None and namespace is not None:
            # Its spec names only the identity provider, the same for every model: one object serves them all.
            # A model whose prometheus_url points elsewhere does not name it (uses_gcp_identity).
            after: list[pulumi.Resource] = [release, *([namespace_resource] if namespace_resource else [])]
            k8s.apiextensions.CustomResource(
                f"{name}-managed-prometheus-auth",
                api_version="keda.sh/v1alpha1",
                kind="TriggerAuthentication",
                metadata={"name": MANAGED_PROMETHEUS_AUTH, "namespace": namespace, "labels": dict(labels or {})},
                spec={"podIdentity": {"provider": provider}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            )
        self.release = release.name
        self.register_outputs({"release": self.release})
