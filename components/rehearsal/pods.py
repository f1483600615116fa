"""Pods as the scheduler sees them: from the plan's workload objects and from the Helm charts llmcloud installs.

A Helm release in the plan is only a chart name and values; the pods it creates are chart facts, kept in
CHARTS below (each chart's pods, their default requests, where its values put tolerations, node selectors
and resources, its webhooks and aggregated APIs, the API groups of its CRDs). The facts come from each
chart's values.yaml and templates at the version llmcloud pins (components/k8s/images.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# ---- quantities ---------------------------------------------------------------------------------------

_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DEC = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def cpu_millis(value: Any) -> int:
    """ "500m" -> 500, "2" -> 2000, 1.5 -> 1500."""
    text = str(value).strip()
    if text.endswith("m"):
        return int(float(text[:-1]))
    return round(float(text) * 1000)


def bytes_of(value: Any) -> int:
    """ "256Mi" -> 268435456, "1G" -> 10**9, plain numbers are bytes."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)([KMGT]i?|k)?", text)
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    number, unit = float(match.group(1)), match.group(2) or ""
    return int(number * (_BIN.get(unit) or _DEC.get(unit) or 1))


# ---- pods ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toleration:
    key: str | None
    operator: str  # Equal | Exists
    value: str | None
    effect: str | None  # None: every effect

    def tolerates(self, key: str, value: str, effect: str) -> bool:
        if self.effect and self.effect != effect:
            return False
        if self.key is None:  # an empty key with Exists tolerates everything
            return self.operator == "Exists"
        if self.key != key:
            return False
        return self.operator == "Exists" or (self.value or "") == value


@dataclass
class PodSpec:
    """What scheduling needs of one pod template."""

    owner: str  # "Deployment llmcloud/llm-gateway" or "helm keda: keda-operator"
    kind: str  # Deployment | DaemonSet | ... | Helm
    # cpu in millicores, memory and ephemeral-storage in bytes, extended resources as counts
    requests: dict[str, int] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    # required node affinity: nodeSelectorTerms (ORed), each a list of matchExpressions (ANDed)
    required_terms: list[list[dict[str, Any]]] = field(default_factory=list)
    tolerations: list[Toleration] = field(default_factory=list)
    model: str | None = None  # llmcloud.dev/model label: the stack's models.<name>
    daemon: bool = False

    def selects(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != str(v) for k, v in self.node_selector.items()):
            return False
        if not self.required_terms:
            return True
        return any(all(_expression(e, labels) for e in term) for term in self.required_terms)

    def untolerated(self, taints: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        """The taints (key, value, effect) this pod does not tolerate (PreferNoSchedule never blocks)."""
        return [
            t for t in taints if t[2] != "PreferNoSchedule" and not any(tol.tolerates(*t) for tol in self.tolerations)
        ]


def _expression(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = str(expr.get("key") or ""), expr.get("operator"), [str(v) for v in expr.get("values") or []]
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return True  # Gt/Lt: not used by llmcloud; do not refuse what we cannot judge


def _tolerations(raw: Any) -> list[Toleration]:
    out = []
    for t in raw or []:
        if isinstance(t, dict):
            out.append(
                Toleration(t.get("key") or None, t.get("operator") or "Equal", t.get("value"), t.get("effect") or None)
            )
    return out


def _requests(containers: list[dict[str, Any]], init: list[dict[str, Any]]) -> dict[str, int]:
    """Effective pod requests: the sum over containers, at least the largest init container; a container
    with limits but no requests requests its limits (the API server defaults them so)."""

    def one(c: dict[str, Any]) -> dict[str, int]:
        res = c.get("resources") or {}
        wanted = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        return _quantities(wanted)

    total: dict[str, int] = {}
    for c in containers:
        for k, v in one(c).items():
            total[k] = total.get(k, 0) + v
    for c in init:
        for k, v in one(c).items():
            total[k] = max(total.get(k, 0), v)
    return total


def _quantities(wanted: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in wanted.items():
        if value in (None, "<computed>"):
            continue
        try:
            if name == "cpu":
                out["cpu"] = cpu_millis(value)
            elif name in ("memory", "ephemeral-storage"):
                out[name] = bytes_of(value)
            else:
                out[name] = int(float(str(value)))
        except ValueError:
            continue
    return out


def _required_terms(affinity: Any) -> list[list[dict[str, Any]]]:
    """A pod's required node affinity: its nodeSelectorTerms' matchExpressions."""
    required = (
        ((affinity or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or {}
    return [list(t.get("matchExpressions") or []) for t in required.get("nodeSelectorTerms") or []]


def from_template(owner: str, kind: str, template: dict[str, Any], *, daemon: bool = False) -> PodSpec:
    spec = template.get("spec") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    terms = _required_terms(spec.get("affinity"))
    requests = _requests(spec.get("containers") or [], spec.get("initContainers") or [])
    return PodSpec(
        owner=owner,
        kind=kind,
        requests=requests,
        node_selector={k: str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
        required_terms=terms,
        tolerations=_tolerations(spec.get("tolerations")),
        model=labels.get("llmcloud.dev/model"),
        daemon=daemon,
    )


def _templates(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return [("", spec.get("template") or {})]
    if kind == "CronJob":
        return [("", ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {})]
    if kind == "Pod":
        return [("", obj)]
    if kind == "LeaderWorkerSet":
        lwt = spec.get("leaderWorkerTemplate") or {}
        return [
            (f" {role}", lwt[key])
            for role, key in (("leader", "leaderTemplate"), ("worker", "workerTemplate"))
            if lwt.get(key)
        ]
    return []


def plan_pods(plan: Any) -> list[PodSpec]:
    """Every pod template of the plan's Kubernetes objects."""
    pods = []
    for step in plan.steps:
        if not step.type.startswith("kubernetes:") or "helm.sh" in step.type:
            continue
        obj = step.inputs
        meta = obj.get("metadata") or {}
        for role, template in _templates(obj):
            owner = f"{obj.get('kind')} {meta.get('namespace', 'default')}/{meta.get('name', step.name)}{role}"
            pods.append(from_template(owner, obj.get("kind", ""), template, daemon=obj.get("kind") == "DaemonSet"))
    return pods


# ---- Helm charts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPod:
    name: str
    requests: dict[str, str]  # the chart's default requests
    resources_at: tuple[str, ...] | None = None  # values path of this pod's `resources`
    tolerations_at: tuple[str, ...] = ("tolerations",)
    node_selector_at: tuple[str, ...] = ("nodeSelector",)
    default_tolerations: tuple[dict[str, Any], ...] = ()
    default_node_selector: tuple[tuple[str, str], ...] = ()
    # values path of this pod's `affinity`, and the required node affinity the chart sets when it has none
    affinity_at: tuple[str, ...] | None = None
    default_required_terms: tuple[tuple[dict[str, Any], ...], ...] = ()
    daemon: bool = False
    enabled_at: tuple[str, ...] | None = None  # values path of a boolean that turns the pod off


@dataclass(frozen=True)
class Endpoint:
    """Something the API server calls on a pod of the chart: a webhook or an aggregated API."""

    kind: str  # webhook | apiservice
    name: str
    port: int  # the pod port the control plane connects to
    failure: str  # what breaks when it is unreachable


@dataclass(frozen=True)
class Chart:
    pods: tuple[ChartPod, ...]
    endpoints: tuple[Endpoint, ...] = ()
    crd_groups: tuple[str, ...] = ()  # API groups of the CRDs the chart installs (with its default values)
    source: str = ""


_LINUX = (("kubernetes.io/os", "linux"),)

CHARTS: dict[str, Chart] = {
    # kedacore/charts keda 2.20.2 values.yaml (the pin): resources.operator|metricServer|webhooks requests 100m/100Mi;
    # one nodeSelector/tolerations for all three; metrics server serves on 6443, admission webhooks on 9443.
    # tests/unit/k8s/test_helm_charts.py renders this chart and the others below with Helm and compares.
    "keda": Chart(
        pods=(
            ChartPod(
                "keda-operator",
                {"cpu": "100m", "memory": "100Mi"},
                ("resources", "operator"),
                default_node_selector=_LINUX,
            ),
            ChartPod(
                "keda-operator-metrics-apiserver",
                {"cpu": "100m", "memory": "100Mi"},
                ("resources", "metricServer"),
                default_node_selector=_LINUX,
            ),
            ChartPod(
                "keda-admission-webhooks",
                {"cpu": "100m", "memory": "100Mi"},
                ("resources", "webhooks"),
                default_node_selector=_LINUX,
                enabled_at=("webhooks", "enabled"),
            ),
        ),
        endpoints=(
            Endpoint(
                "apiservice",
                "v1beta1.external.metrics.k8s.io",
                6443,
                "the HPA cannot read queue depth: every ScaledObject stays at its current size",
            ),
            Endpoint("webhook", "keda-admission", 9443, "ScaledObjects are admitted unvalidated or refused"),
        ),
        crd_groups=("keda.sh", "eventing.keda.sh"),
        source="https://github.com/kedacore/charts/blob/v2.20.2/keda/values.yaml",
    ),
    # kubernetes-sigs/lws charts/lws/values.yaml: requests cpu 1, memory 1Gi; webhook service port 9443.
    "lws": Chart(
        pods=(ChartPod("lws-controller-manager", {"cpu": "1", "memory": "1Gi"}, ("resources",)),),
        endpoints=(
            Endpoint(
                "webhook",
                "lws-webhook (mutating and validating)",
                9443,
                "every LeaderWorkerSet is refused (failurePolicy Fail)",
            ),
        ),
        crd_groups=("leaderworkerset.x-k8s.io", "disaggregatedset.x-k8s.io"),
        source="https://github.com/kubernetes-sigs/lws/blob/v0.10.0/charts/lws/values.yaml",
    ),
    # jetstack cert-manager v1.21.1 values.yaml (the pin): no default requests; each component has its own
    # tolerations/nodeSelector (default nodeSelector kubernetes.io/os: linux); the webhook listens on 10250.
    "cert-manager": Chart(
        pods=(
            ChartPod("cert-manager", {}, ("resources",), default_node_selector=_LINUX),
            ChartPod(
                "cert-manager-cainjector",
                {},
                ("cainjector", "resources"),
                ("cainjector", "tolerations"),
                ("cainjector", "nodeSelector"),
                default_node_selector=_LINUX,
            ),
            ChartPod(
                "cert-manager-webhook",
                {},
                ("webhook", "resources"),
                ("webhook", "tolerations"),
                ("webhook", "nodeSelector"),
                default_node_selector=_LINUX,
            ),
            ChartPod(
                "cert-manager-startupapicheck",
                {},
                ("startupapicheck", "resources"),
                ("startupapicheck", "tolerations"),
                ("startupapicheck", "nodeSelector"),
                default_node_selector=_LINUX,
            ),
        ),
        endpoints=(
            Endpoint(
                "webhook", "cert-manager-webhook", 10250, "Certificates and Issuers are refused (failurePolicy Fail)"
            ),
        ),
        crd_groups=("cert-manager.io", "acme.cert-manager.io"),
        source="https://github.com/cert-manager/cert-manager/blob/v1.21.1/deploy/charts/cert-manager/values.yaml",
    ),
    # prometheus-community kube-prometheus-stack 88.5.3 (the pin): the operator's admission webhook is served by
    # the operator on 10250 (prometheusOperator.tls.internalPort); its certificate is made by two hook Jobs
    # (admission-create before the install, admission-patch after it) set by prometheusOperator.admissionWebhooks
    # .patch; node-exporter (chart 4.56.1) runs on Linux nodes and tolerates every NoSchedule taint by default;
    # the operator's nodeSelector is empty by default. Pods are named as the chart names its objects, less the
    # release name: <release>-operator, <release>-prometheus, ...; node-exporter's template adds a required node
    # affinity (templates/daemonset.yaml) unless its values set one.
    "kube-prometheus-stack": Chart(
        pods=(
            ChartPod(
                "operator",
                {},
                ("prometheusOperator", "resources"),
                ("prometheusOperator", "tolerations"),
                ("prometheusOperator", "nodeSelector"),
            ),
            ChartPod(
                "admission-create",
                {},
                ("prometheusOperator", "admissionWebhooks", "patch", "resources"),
                ("prometheusOperator", "admissionWebhooks", "patch", "tolerations"),
                ("prometheusOperator", "admissionWebhooks", "patch", "nodeSelector"),
            ),
            ChartPod(
                "admission-patch",
                {},
                ("prometheusOperator", "admissionWebhooks", "patch", "resources"),
                ("prometheusOperator", "admissionWebhooks", "patch", "tolerations"),
                ("prometheusOperator", "admissionWebhooks", "patch", "nodeSelector"),
            ),
            ChartPod(
                "prometheus",
                {},
                ("prometheus", "prometheusSpec", "resources"),
                ("prometheus", "prometheusSpec", "tolerations"),
                ("prometheus", "prometheusSpec", "nodeSelector"),
            ),
            ChartPod(
                "alertmanager",
                {},
                ("alertmanager", "alertmanagerSpec", "resources"),
                ("alertmanager", "alertmanagerSpec", "tolerations"),
                ("alertmanager", "alertmanagerSpec", "nodeSelector"),
            ),
            ChartPod(
                "grafana",
                {},
                ("grafana", "resources"),
                ("grafana", "tolerations"),
                ("grafana", "nodeSelector"),
                enabled_at=("grafana", "enabled"),
            ),
            ChartPod(
                "kube-state-metrics",
                {},
                ("kube-state-metrics", "resources"),
                ("kube-state-metrics", "tolerations"),
                ("kube-state-metrics", "nodeSelector"),
            ),
            ChartPod(
                "prometheus-node-exporter",
                {},
                ("prometheus-node-exporter", "resources"),
                ("prometheus-node-exporter", "tolerations"),
                ("prometheus-node-exporter", "nodeSelector"),
                default_tolerations=({"operator": "Exists", "effect": "NoSchedule"},),
                default_node_selector=_LINUX,
                # without a required node affinity in values, the DaemonSet keeps off Fargate and virtual kubelets
                affinity_at=("prometheus-node-exporter", "affinity"),
                default_required_terms=(
                    (
                        {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["fargate"]},
                        {"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]},
                    ),
                ),
                daemon=True,
            ),
        ),
        endpoints=(
            Endpoint(
                "webhook", "kube-prometheus-stack-admission", 10250, "PrometheusRules are refused (failurePolicy Fail)"
            ),
        ),
        crd_groups=("monitoring.coreos.com",),
        source="https://github.com/prometheus-community/helm-charts/blob/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack/values.yaml",
    ),
    # aws/eks-charts aws-load-balancer-controller 3.5.0: two controller replicas, no default requests; its
    # webhooks serve on 9443 (the EKS cluster security group lets the control plane reach them).
    "aws-load-balancer-controller": Chart(
        pods=(ChartPod("aws-load-balancer-controller", {}, ("resources",), ("tolerations",), ("nodeSelector",)),),
        endpoints=(
            Endpoint(
                "webhook",
                "aws-load-balancer-webhook-service",
                9443,
                "Services of type LoadBalancer and TargetGroupBindings are refused",
            ),
        ),
        crd_groups=("elbv2.k8s.aws", "gateway.k8s.aws", "aga.k8s.aws"),
        source="https://github.com/aws/eks-charts/blob/5239609/stable/aws-load-balancer-controller/values.yaml",
    ),
    # kubernetes/autoscaler chart cluster-autoscaler 9.59.0: resources from values (none by default).
    "cluster-autoscaler": Chart(
        pods=(ChartPod("cluster-autoscaler", {}, ("resources",)),),
        source="https://github.com/kubernetes/autoscaler/blob/cluster-autoscaler-chart-9.59.0/"
        "cluster-autoscaler/charts/cluster-autoscaler/values.yaml",
    ),
}


def chart_name(inputs: dict[str, Any]) -> str:
    """ "oci://registry.k8s.io/lws/charts/lws" -> "lws"; "keda" -> "keda"."""
    return str(inputs.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]


def _get(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = values
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def helm_releases(plan: Any) -> list[tuple[Any, str, Chart | None]]:
    """(step, chart name, chart facts or None when llmcloud has none) for every Helm release in the plan."""
    out = []
    for step in plan.steps:
        if step.type in ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart"):
            name = chart_name(step.inputs)
            out.append((step, name, CHARTS.get(name)))
    return out


def helm_pods(plan: Any) -> list[PodSpec]:
    """The pods of every Helm release whose chart llmcloud knows, with the values the release sets."""
    pods = []
    for step, name, chart in helm_releases(plan):
        if chart is None:
            continue
        values = step.inputs.get("values") or {}
        release = step.inputs.get("name") or name
        for pod in chart.pods:
            if pod.enabled_at is not None and _get(values, pod.enabled_at) is False:
                continue
            resources = _get(values, pod.resources_at) if pod.resources_at else None
            wanted = (
                {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
                if isinstance(resources, dict)
                else dict(pod.requests)
            )
            tolerations = _get(values, pod.tolerations_at)
            selector = _get(values, pod.node_selector_at)
            terms = _required_terms(_get(values, pod.affinity_at) if pod.affinity_at else None) or [
                list(term) for term in pod.default_required_terms
            ]
            pods.append(
                PodSpec(
                    owner=f"helm {release}: {pod.name}",
                    kind="Helm",
                    requests=_quantities(wanted),
                    node_selector={
                        k: str(v)
                        for k, v in (
                            selector if isinstance(selector, dict) else dict(pod.default_node_selector)
                        ).items()
                    },
                    required_terms=terms,
                    tolerations=_tolerations(
                        tolerations if isinstance(tolerations, list) else list(pod.default_tolerations)
                    ),
                    daemon=pod.daemon,
                )
            )
    return pods
