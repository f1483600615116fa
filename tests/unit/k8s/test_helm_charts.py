"""The Helm charts llmcloud installs, rendered by Helm itself (helm-python-sdk: Helm 4's Go SDK behind a C ABI)
at the pinned versions (tests/data/charts, rebuilt from each chart's release tag by build.py there) with the
values each golden plan gives its release. Checked against what llmcloud assumes of them:
- the values pass the chart's values.schema.json where it has one, and the chart renders with them;
- the rendered objects of built-in kinds pass kubernetes-validate (strict);
- the pods are those the deploy rehearsal's chart facts describe (components/rehearsal/pods.py CHARTS):
  requests, node selectors, required node affinity, tolerations, DaemonSet or not;
- the webhooks and aggregated APIs the control plane calls are on the ports those facts name;
- the CRDs' API groups are those facts' groups;
- every service account a cloud identity in the plan is bound to (GKE principal, EKS Pod Identity,
  Azure federated credential) is created by the chart and runs one of its pods.
Not run here: no cluster, so no controller started from these objects."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml
from helpers import GOLDEN_PLAN_FILES, GOLDEN_PLANS_DIR
from llmcloud.components.k8s import images
from llmcloud.components.rehearsal import pods

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ROOT / "tests" / "data" / "charts"
PLANS = GOLDEN_PLAN_FILES
K8S_VERSION = "1.31"
# Helm splits a rendered template into documents at every `---` (pkg/releaseutil SplitManifests), also where
# a template's text runs straight into it ("---# comment"), which a YAML parser reads as content.
DOCUMENT_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as the API server reads it: a bare `=` (an enum value in the Prometheus Operator's CRDs) is the
    string "=", where YAML 1.1 loaders see a `value` tag they cannot construct."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def _load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=_Loader))


WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet", "Job")
OPERATOR_MADE = ("monitoring.coreos.com/v1", "Prometheus"), ("monitoring.coreos.com/v1", "Alertmanager")


def _pins() -> dict[str, str]:
    """Chart name -> pinned version, from the code that installs them."""
    from llmcloud.components.aws.load_balancer_controller import CHART as LBC

    pinned = {pods.chart_name({"chart": pin.chart}): pin.version for pin in images.CHARTS.values()}
    pinned[LBC["chart"]] = LBC["version"]
    pinned[images.CLUSTER_AUTOSCALER_CHART["chart"]] = images.CLUSTER_AUTOSCALER_CHART["version"]
    return pinned


def _package(name: str) -> Path:
    """The chart's package at the pinned version (v-prefixed or not, as its project releases it)."""
    version = _pins()[name].removeprefix("v")
    found = [p for p in (PACKAGES / f"{name}-{version}.tgz", PACKAGES / f"{name}-v{version}.tgz") if p.is_file()]
    assert found, f"no package of {name} {version}: rebuild with tests/data/charts/build.py after a pin changes"
    return found[0]


def _plan(path: Path) -> Any:
    """A golden plan as the rehearsal's functions read it (steps with type, name, inputs)."""
    data = json.loads(path.read_text())
    return SimpleNamespace(
        steps=[
            SimpleNamespace(
                type=s["newState"]["type"], name=s["urn"].rsplit("::", 1)[-1], inputs=s["newState"]["inputs"]
            )
            for s in data["steps"]
        ]
    )


def _releases() -> list[tuple[str, str]]:
    """(plan, release) for each distinct release of the golden plans: the same chart, name, namespace and values
    in several plans is rendered and checked once."""
    out, seen = [], set()
    for path in PLANS:
        for step, name, _ in pods.helm_releases(_plan(path)):
            inputs = step.inputs
            key = json.dumps([name, inputs.get("name"), inputs.get("namespace"), inputs.get("values")], sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append((path.stem, inputs.get("name") or name))
    return out


RELEASES = _releases()


@functools.cache
def render(plan_name: str, release: str) -> tuple[Any, Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """(release step, chart facts, rendered objects, the chart's crds/ objects)."""
    plan = _plan(GOLDEN_PLANS_DIR / f"{plan_name}.json")
    step, name, facts = next(r for r in pods.helm_releases(plan) if (r[0].inputs.get("name") or r[1]) == release)
    package = _package(name)
    values = step.inputs.get("values") or {}
    with helm_python.Chart.load(package) as chart:
        assert chart.version.removeprefix("v") == _pins()[name].removeprefix("v")  # Helm matches 0.10.0 to v0.10.0
        if chart.schema:
            chart.validate_schema(values)
        manifests = chart.render(values, name=release, namespace=step.inputs.get("namespace") or "default")
        crds = [doc for f in chart.crds or [] for doc in _load_all(f["data"]) if isinstance(doc, dict)]
    objects = [
        doc
        for path, text in sorted(manifests.items())
        if path.endswith((".yaml", ".yml"))
        for piece in DOCUMENT_SEPARATOR.split(text)
        for doc in [_load(piece)]
        if isinstance(doc, dict)
    ]
    return step, facts, objects, crds


def _items(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects with `kind: List` unpacked (the API server creates a List's items)."""
    return [item for obj in objects for item in (obj.get("items") or [] if obj.get("kind") == "List" else [obj])]


@pytest.mark.parametrize(("plan_name", "release"), RELEASES, ids=[f"{p}-{r}" for p, r in RELEASES])
def test_the_chart_renders_and_its_objects_validate(plan_name: str, release: str) -> None:
    _, _, objects, _ = render(plan_name, release)
    assert objects
    for obj in _items(objects):
        group = obj["apiVersion"].rpartition("/")[0]
        if "." in group and not group.endswith(".k8s.io"):
            continue  # a custom resource: its CRD's schema is not in kubernetes-validate
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{release}: {obj['kind']}/{obj['metadata'].get('name')}: {str(exc).splitlines()[0]}")


def _is_test(obj: dict[str, Any]) -> bool:
    """A `helm test` hook: created by `helm test`, not by an install."""
    return "test" in ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")


def _rendered_pods(release: str, objects: list[dict[str, Any]]) -> dict[str, pods.PodSpec]:
    """The pod templates the chart creates (install hooks included: Helm runs them during the install), and
    the pods the Prometheus Operator makes of the Prometheus and Alertmanager objects, as their specs set
    them (the operator adds its config-reloader containers, which no render shows)."""
    out = {}
    for obj in _items(objects):
        name = obj["metadata"]["name"]
        if _is_test(obj):
            continue
        if obj["kind"] in WORKLOADS:
            template = obj["spec"]["template"]
        elif (obj["apiVersion"], obj["kind"]) in OPERATOR_MADE:
            spec = obj["spec"]
            template = {
                "spec": {
                    "containers": [{"resources": spec.get("resources") or {}}],
                    **{k: spec[k] for k in ("nodeSelector", "tolerations", "affinity") if spec.get(k)},
                }
            }
        else:
            continue
        out[name] = pods.from_template(f"helm {release}: {name}", "Helm", template, daemon=obj["kind"] == "DaemonSet")
    return out


def _scheduling(pod: pods.PodSpec) -> tuple[Any, ...]:
    return (pod.requests, pod.node_selector, pod.required_terms, sorted(map(repr, pod.tolerations)), pod.daemon)


@pytest.mark.parametrize(("plan_name", "release"), RELEASES, ids=[f"{p}-{r}" for p, r in RELEASES])
def test_the_rehearsals_chart_facts_describe_the_rendered_pods(plan_name: str, release: str) -> None:
    step, _, objects, _ = render(plan_name, release)
    rendered = _rendered_pods(release, objects)
    assumed = {p.owner.split(": ", 1)[1]: p for p in pods.helm_pods(SimpleNamespace(steps=[step]))}
    matched = {}
    for name, pod in assumed.items():
        # the chart facts name a pod as its workload is named, or by the end of that name
        # (cluster-autoscaler's Deployment is <release>-<cloud>-cluster-autoscaler)
        candidates = [w for w in rendered if w == name] or [w for w in rendered if w.endswith(f"-{name}")]
        assert len(candidates) == 1, f"{release}: the facts' pod {name} is none or several of {sorted(rendered)}"
        matched[candidates[0]] = pod
    assert sorted(matched) == sorted(rendered), f"{release}: pods the facts do not know: {set(rendered) - set(matched)}"
    for workload, pod in matched.items():
        assert _scheduling(pod) == _scheduling(rendered[workload]), f"{release}: {workload}"


def _container_port(objects: list[dict[str, Any]], service: dict[str, Any], port: int | None) -> int:
    """The pod port a Service's port leads to (its targetPort, by number or by the container port's name)."""
    ports = service["spec"]["ports"]
    entry = next((p for p in ports if port is None or p["port"] == port), None) if port else ports[0]
    assert entry is not None, f"Service {service['metadata']['name']} has no port {port}"
    target = entry.get("targetPort", entry["port"])
    if isinstance(target, int):
        return target
    selector = service["spec"]["selector"]
    for obj in _items(objects):
        if obj["kind"] not in WORKLOADS:
            continue
        labels = obj["spec"]["template"]["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in selector.items()):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                for p in container.get("ports") or []:
                    if p.get("name") == target:
                        return int(p["containerPort"])
    raise AssertionError(f"Service {service['metadata']['name']}: no pod port named {target}")


@pytest.mark.parametrize(("plan_name", "release"), RELEASES, ids=[f"{p}-{r}" for p, r in RELEASES])
def test_the_control_plane_calls_the_ports_the_facts_name(plan_name: str, release: str) -> None:
    _, facts, objects, _ = render(plan_name, release)
    services = {
        (o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in _items(objects) if o["kind"] == "Service"
    }
    called = set()
    for obj in _items(objects):
        refs = []
        if obj["kind"] in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            refs = [("webhook", w["clientConfig"].get("service")) for w in obj.get("webhooks") or []]
        elif obj["kind"] == "APIService":
            refs = [("apiservice", obj["spec"].get("service"))]
        for kind, ref in refs:
            if ref:  # a webhook by URL is not on a pod of the chart
                service = services[(ref["namespace"], ref["name"])]
                called.add((kind, _container_port(objects, service, ref.get("port", 443))))
    assert called == {(e.kind, e.port) for e in facts.endpoints}, release


@pytest.mark.parametrize(("plan_name", "release"), RELEASES, ids=[f"{p}-{r}" for p, r in RELEASES])
def test_the_charts_custom_resources_pass_the_charts_crds(plan_name: str, release: str) -> None:
    """The chart's own custom resources (kube-prometheus-stack's Prometheus, Alertmanager, rules and monitors,
    made with llmcloud's values) against the chart's own CRDs: their JSON Schema, then defaults and CEL rules."""
    import jsonschema
    from crd_rules import evaluate, with_defaults

    _, _, objects, crds = render(plan_name, release)
    schemas = {}
    for crd in [*crds, *(o for o in _items(objects) if o["kind"] == "CustomResourceDefinition")]:
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                schemas[key] = version["schema"]["openAPIV3Schema"]
    checked = 0
    for obj in _items(objects):
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        if schema is None:
            continue
        where = f"{release}: {obj['kind']}/{obj['metadata']['name']}"
        errors = [e.message[:200] for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert not errors, f"{where}: {errors[:3]}"
        _, refusals, unsupported = evaluate(schema, with_defaults(schema, json.loads(json.dumps(obj))), where)
        assert not refusals and not unsupported, (refusals, unsupported)
        checked += 1
    if pods.chart_name(render(plan_name, release)[0].inputs) == "kube-prometheus-stack":
        assert checked >= 30  # Prometheus, Alertmanager, ServiceMonitors, PrometheusRules


@pytest.mark.parametrize(("plan_name", "release"), RELEASES, ids=[f"{p}-{r}" for p, r in RELEASES])
def test_the_crd_groups_are_the_facts_groups(plan_name: str, release: str) -> None:
    _, facts, objects, crds = render(plan_name, release)
    groups = {o["spec"]["group"] for o in [*_items(objects), *crds] if o.get("kind") == "CustomResourceDefinition"}
    assert groups == set(facts.crd_groups), release


def _bound_accounts(plan: Any) -> set[tuple[str, str]]:
    """(namespace, service account) of every cloud identity binding in the plan."""
    found = set()
    for step in plan.steps:
        if step.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            found.add((step.inputs["namespace"], step.inputs["serviceAccount"]))
        text = json.dumps(step.inputs)
        found |= set(re.findall(r"subject/ns/([a-z0-9-]+)/sa/([a-z0-9-]+)", text))
        found |= set(re.findall(r"system:serviceaccount:([a-z0-9-]+):([a-z0-9-]+)", text))
    return found


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_every_identity_bound_to_a_charts_namespace_runs_one_of_its_pods(path: Path) -> None:
    plan = _plan(path)
    releases: dict[str, list[str]] = {}
    for step, name, _ in pods.helm_releases(plan):
        releases.setdefault(step.inputs.get("namespace"), []).append(step.inputs.get("name") or name)
    checked = 0
    for namespace, account in sorted(_bound_accounts(plan)):
        if namespace not in releases:
            continue  # llmcloud's own service account (the model servers'), created by the plan
        objects = [o for release in releases[namespace] for o in _items(render(path.stem, release)[2])]
        created = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"}
        running = {o["spec"]["template"]["spec"].get("serviceAccountName") for o in objects if o["kind"] in WORKLOADS}
        assert account in created and account in running, f"{namespace}/{account}: created {created}, run {running}"
        checked += 1
    if any(
        pods.chart_name(s.inputs) in ("keda", "cert-manager", "aws-load-balancer-controller")
        for s, _, _ in pods.helm_releases(plan)
    ):
        assert checked, f"{path.name}: no identity binding found for the charts' service accounts"


def test_every_chart_of_the_plans_is_packaged_here() -> None:
    names = Counter(name for path in PLANS for _, name, _ in pods.helm_releases(_plan(path)))
    packaged = {p.name.removesuffix(".tgz").rsplit("-", 1)[0] for p in PACKAGES.glob("*.tgz")}
    assert set(names) == packaged, names


def test_a_wrong_fact_or_value_fails() -> None:
    """The comparisons can fail: a pod's requests changed, and a value the schema refuses."""
    step, _, objects, _ = render("azure-example.azure", "cert-manager")
    rendered = _rendered_pods("cert-manager", objects)
    changed = pods.from_template("x", "Helm", {"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}})
    assert _scheduling(changed) != _scheduling(rendered["cert-manager"])
    package = _package("cert-manager")
    with helm_python.Chart.load(package) as chart, pytest.raises(helm_python.HelmError):
        chart.validate_schema({**step.inputs["values"], "serviceAccount": {"nmae": "typo"}})
