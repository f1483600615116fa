"""ServingMonitoring: scraping of vLLM's /metrics, alert rules and a Grafana dashboard.

- gcp: PodMonitoring + Rules (monitoring.googleapis.com/v1), read by Google Cloud Managed Service
  for Prometheus, which GKE runs when managed collection is on (the default since GKE 1.27).
- aws/azure: ServiceMonitor + PrometheusRule (monitoring.coreos.com/v1) for a prometheus-operator
  (kube-prometheus-stack) in the cluster.
- everywhere: the dashboard as a ConfigMap labelled grafana_dashboard=1, which the Grafana sidecar
  of kube-prometheus-stack (or any Grafana with the dashboard sidecar) loads.

vLLM metric names change between releases: every name used here, in the alerts and in autoscaling is in
VLLM_METRICS, the names of the pinned vLLM (images.VLLM_VERSION); a test fails on any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import registry
from . import images
from .serving import ROLE_LABEL

# The Prometheus names vLLM exports (vllm/v1/metrics/loggers.py; counters carry _total, histograms
# _bucket/_sum/_count). vllm:time_per_output_token_seconds (removed after 0.12) became
# vllm:request_time_per_output_token_seconds (per request) and vllm:inter_token_latency_seconds (per
# token); vllm:gpu_cache_usage_perc became vllm:kv_cache_usage_perc. Read at VLLM_METRICS_TAG in
# vllm/v1/metrics/loggers.py of the vllm 0.33.0 release wheel from PyPI (commit 4ba787ec9), 2026-12-01:
# every name below is defined there (labels model_name and engine), the two old names are not.
VLLM_METRICS_TAG = "v0.33.0"
VLLM_METRICS = (
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:num_preemptions_total",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:request_time_per_output_token_seconds",
    "vllm:e2e_request_latency_seconds",
    "vllm:request_queue_time_seconds",
)
SCRAPE_INTERVAL = "15s"
# Select every ServiceMonitor/PrometheusRule (not only the chart's own), and load dashboards from
# ConfigMaps labelled grafana_dashboard=1 in any namespace.
PROMETHEUS_STACK_VALUES = {
    "prometheus": {
        "prometheusSpec": {
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False,
            "retention": "15d",
        }
    },
    "grafana": {"sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "searchNamespace": "ALL"}}},
}
SERVER_PODS = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/component": "model-server"}


@dataclass(frozen=True)
class ServingMonitoringArgs:
    cloud: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    queue_alert_threshold: int = 20  # waiting requests on one replica for 10 minutes
    kv_cache_alert_threshold: float = 0.95
    # aws/azure: install kube-prometheus-stack (pinned) for the ServiceMonitor/PrometheusRule CRDs, the
    # Prometheus that KEDA queries and the Grafana that loads the dashboard. False: bring your own.
    create_prometheus_stack: bool = True


def alert_rules(args: ServingMonitoringArgs) -> list[dict[str, Any]]:
    ns = f'namespace="{args.namespace}"'
    return [
        {
            "alert": "VllmQueueBacklog",
            "expr": f"max by (namespace, model_name) (vllm:num_requests_waiting{{{ns}}})"
            f" > {args.queue_alert_threshold}",
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "{{ $labels.model_name }}: requests queue on a replica",
                "description": "The autoscaler is at its maximum or cannot get nodes; raise "
                "replicas.max / node_pools.max_nodes.",
            },
        },
        {
            "alert": "VllmKvCacheFull",
            "expr": f"max by (namespace, model_name) (vllm:kv_cache_usage_perc{{{ns}}})"
            f" > {args.kv_cache_alert_threshold}",
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "{{ $labels.model_name }}: KV cache nearly full (requests get preempted)"},
        },
        {
            "alert": "VllmHighErrorRate",
            # vLLM's API server counts responses with prometheus-fastapi-instrumentator (status as 5xx).
            "expr": f'sum by (namespace, pod) (rate(http_requests_total{{{ns},status=~"5.."}}[5m])) / '
            f"sum by (namespace, pod) (rate(http_requests_total{{{ns}}}[5m])) > 0.05",
            "for": "10m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "{{ $labels.pod }}: more than 5 % of requests fail"},
        },
        {
            "alert": "VllmRestarting",
            # kube-state-metrics (GKE: the kube state metrics package of Managed Prometheus).
            "expr": f'increase(kube_pod_container_status_restarts_total{{{ns},container="vllm"}}[30m]) > 2',
            "for": "0m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "{{ $labels.pod }}: vLLM restarted more than twice in 30 minutes"},
        },
    ]


def _panel(panel_id: int, title: str, exprs: list[tuple[str, str]], unit: str, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": legend} for i, (e, legend) in enumerate(exprs)],
    }


def dashboard(namespace: str) -> dict[str, Any]:
    sel = f'namespace="{namespace}",model_name=~"$model"'

    def quantiles(metric: str) -> list[tuple[str, str]]:
        return [
            (
                f"histogram_quantile({q}, sum by (le, model_name) (rate({metric}_bucket{{{sel}}}[5m])))",
                f"p{int(q * 100)} {{{{model_name}}}}",
            )
            for q in (0.5, 0.9, 0.99)
        ]

    panels = [
        _panel(
            1,
            "Queue depth (waiting requests)",
            [(f"sum by (model_name) (vllm:num_requests_waiting{{{sel}}})", "{{model_name}}")],
            "short",
            0,
            0,
        ),
        _panel(
            2,
            "Running requests",
            [(f"sum by (model_name) (vllm:num_requests_running{{{sel}}})", "{{model_name}}")],
            "short",
            12,
            0,
        ),
        _panel(
            3,
            "KV cache usage",
            [(f"max by (model_name) (vllm:kv_cache_usage_perc{{{sel}}})", "{{model_name}}")],
            "percentunit",
            0,
            8,
        ),
        _panel(
            4,
            "Tokens per second",
            [
                (
                    f"sum by (model_name) (rate(vllm:generation_tokens_total{{{sel}}}[1m]))",
                    "generated {{model_name}}",
                ),
                (
                    f"sum by (model_name) (rate(vllm:prompt_tokens_total{{{sel}}}[1m]))",
                    "prompt {{model_name}}",
                ),
            ],
            "short",
            12,
            8,
        ),
        _panel(5, "Time to first token (TTFT)", quantiles("vllm:time_to_first_token_seconds"), "s", 0, 16),
        _panel(6, "Inter-token latency (ITL)", quantiles("vllm:inter_token_latency_seconds"), "s", 12, 16),
        _panel(
            7,
            "Time per output token per request (TPOT)",
            quantiles("vllm:request_time_per_output_token_seconds"),
            "s",
            0,
            24,
        ),
        _panel(
            8,
            "Preemptions per second (KV cache full)",
            [(f"sum by (model_name) (rate(vllm:num_preemptions_total{{{sel}}}[5m]))", "{{model_name}}")],
            "short",
            12,
            24,
        ),
    ]
    return {
        "title": "llmcloud / vLLM",
        "uid": "llmcloud-vllm",
        "schemaVersion": 39,
        "timezone": "utc",
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "tags": ["llmcloud", "vllm"],
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "model",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": f'label_values(vllm:num_requests_running{{namespace="{namespace}"}}, model_name)',
                    "includeAll": True,
                    "multi": True,
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "panels": panels,
    }


def pod_monitoring_spec() -> dict[str, Any]:
    return {
        "selector": {"matchLabels": {**SERVER_PODS, ROLE_LABEL: "server"}},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": SCRAPE_INTERVAL}],
    }


def service_monitor_spec(namespace: str) -> dict[str, Any]:
    return {
        "selector": {"matchLabels": SERVER_PODS},
        "namespaceSelector": {"matchNames": [namespace]},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": SCRAPE_INTERVAL}],
    }


class ServingMonitoring(pulumi.ComponentResource):
    """Outputs: dashboard (the ConfigMap name)."""

    def __init__(self, name: str, args: ServingMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ServingMonitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = dict(args.labels)
        meta = {"name": "vllm", "namespace": args.namespace, "labels": labels}
        groups = [{"name": "llmcloud-vllm", "interval": "30s", "rules": alert_rules(args)}]
        if registry.cloud(args.cloud).managed_prometheus:
            # Managed Service for Prometheus: its own scrape and rule kinds.
            api, scrape_kind, scrape_spec, rules_kind = (
                "monitoring.googleapis.com/v1",
                "PodMonitoring",
                pod_monitoring_spec(),
                "Rules",
            )
        else:
            api, scrape_kind, scrape_spec, rules_kind = (
                "monitoring.coreos.com/v1",
                "ServiceMonitor",
                service_monitor_spec(args.namespace),
                "PrometheusRule",
            )
            if args.create_prometheus_stack:
                stack = k8s.helm.v3.Release(
                    f"{name}-prometheus-stack",
                    name="kube-prometheus-stack",
                    chart=images.PROMETHEUS_STACK_CHART.chart,
                    version=images.PROMETHEUS_STACK_CHART.version,
                    repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=images.PROMETHEUS_STACK_CHART.repo),
                    namespace="monitoring",
                    create_namespace=True,
                    values=PROMETHEUS_STACK_VALUES,
                    opts=child,
                )
                child = pulumi.ResourceOptions(parent=self, depends_on=[stack])
        k8s.apiextensions.CustomResource(
            f"{name}-{scrape_kind.lower()}",
            api_version=api,
            kind=scrape_kind,
            metadata=meta,
            spec=scrape_spec,
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-rules", api_version=api, kind=rules_kind, metadata=meta, spec={"groups": groups}, opts=child
        )
        cm = k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata={
                "name": "vllm-dashboard",
                "namespace": args.namespace,
                "labels": {**labels, "grafana_dashboard": "1"},
            },
            data={"llmcloud-vllm.json": json.dumps(dashboard(args.namespace), indent=1, sort_keys=True)},
            opts=child,
        )
        self.dashboard = cm.metadata["name"]
        self.register_outputs({"dashboard": self.dashboard})
