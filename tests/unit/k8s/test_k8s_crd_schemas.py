"""Every custom resource of every bundled stack's rendered manifests validates against the CRD schema of
the pinned controller (tests/data/crds, SOURCES.md there), strictly: a field the schema does not define is
an error, as with the API server's strict field validation. Built-in kinds go through kubernetes-validate
--strict. The manifests are `llmcloud render`'s output as is: placeholders only inside maps."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helpers import GOLDEN_COMBOS, repo_plan
from llmcloud.cli.manifests import objects

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "tests" / "data" / "crds"
K8S_VERSION = "1.31"
# Every custom resource kind llmcloud renders has its CRD stored (SOURCES.md); a kind without one fails.
BUILT_IN_GROUPS = {"rbac.authorization.k8s.io", "networking.k8s.io", "apiextensions.k8s.io", "storage.k8s.io"}


def _strict(schema: Any) -> Any:
    """Unknown fields are errors where the structural schema lists properties and does not preserve unknown
    fields. Value validations (oneOf/anyOf/allOf/not branches) only constrain listed fields: left as they are."""
    if isinstance(schema, dict):
        out = {k: v if k in ("oneOf", "anyOf", "allOf", "not") else _strict(v) for k, v in schema.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the served version's openAPIV3Schema, made strict."""
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # 2.6 MB: libyaml
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                out[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])
    return out


def is_custom(obj: dict[str, Any]) -> bool:
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return "." in group and group not in BUILT_IN_GROUPS


def _errors(obj: dict[str, Any]) -> list[str]:
    """Schema errors of a custom resource; a kind whose CRD is not stored is an error itself."""
    key = (obj["apiVersion"], obj["kind"])
    if key not in schemas():
        return [f"no stored CRD for {key[0]} {key[1]} (tests/data/crds, SOURCES.md)"]
    validator = jsonschema.Draft7Validator(schemas()[key])
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}" for e in validator.iter_errors(obj)]


def test_the_stored_crds_cover_the_kinds_the_issue_names() -> None:
    kinds = {kind for _, kind in schemas()}
    assert {
        "ScaledObject",
        "TriggerAuthentication",
        "LeaderWorkerSet",
        "Gateway",
        "HTTPRoute",
        "PodMonitoring",
        "Rules",
        "ServiceMonitor",
        "PrometheusRule",
        "TargetGroupBinding",
        "Certificate",
        "Issuer",
        "GCPBackendPolicy",
        "GCPGatewayPolicy",
        "HealthCheckPolicy",
    } <= kinds
    sources = (CRDS / "SOURCES.md").read_text()
    for path in CRDS.glob("*.yaml"):
        assert path.name in sources, f"{path.name} has no source in SOURCES.md"


@pytest.mark.parametrize(("stack", "cloud"), GOLDEN_COMBOS)
def test_rendered_custom_resources_validate_against_the_pinned_crds(stack: str, cloud: str) -> None:
    checked = 0
    for obj in objects(repo_plan(stack, cloud)):
        if not is_custom(obj):
            continue  # built-in kinds: the next test
        errors = _errors(obj)
        assert not errors, f"{stack} on {cloud}: {obj['kind']}/{obj['metadata']['name']}: {errors[:5]}"
        checked += 1
    assert checked >= 3  # ScaledObject(s), scrape and rule objects at least


@pytest.mark.parametrize(("stack", "cloud"), GOLDEN_COMBOS)
def test_rendered_built_in_objects_pass_kubernetes_validate_strict(stack: str, cloud: str) -> None:
    for obj in objects(repo_plan(stack, cloud)):
        if is_custom(obj):
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{stack} on {cloud}: {obj['kind']}/{obj['metadata'].get('name')}: {str(exc).splitlines()[0]}")


def test_a_kind_without_a_stored_crd_fails() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    assert is_custom(widget) and any("no stored CRD" in e for e in _errors(widget))
    so = next(o for o in objects(repo_plan("dev")) if o["kind"] == "ScaledObject")
    assert any("no stored CRD" in e for e in _errors({**so, "apiVersion": "keda.sh/v1beta9"}))


def test_the_schema_check_catches_a_wrong_field() -> None:
    so = next(o for o in objects(repo_plan("dev")) if o["kind"] == "ScaledObject")
    bad = copy.deepcopy(so)
    bad["spec"]["minReplicas"] = 1  # the HPA's name, not KEDA's (minReplicaCount)
    assert any("minReplicas" in e for e in _errors(bad))
    bad = copy.deepcopy(so)
    bad["spec"]["triggers"][0].pop("type")
    assert any("type" in e for e in _errors(bad))
    lws = next(o for o in objects(repo_plan("gcp-tpu")) if o["kind"] == "LeaderWorkerSet")
    bad = copy.deepcopy(lws)
    bad["spec"]["leaderWorkerTemplate"]["restartPolicy"] = "Sometimes"
    assert _errors(bad)


def test_no_map_is_replaced_by_a_placeholder_string() -> None:
    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        else:
            assert not (key in ("annotations", "labels", "data", "stringData") and isinstance(value, str)), key

    for stack, cloud in GOLDEN_COMBOS:
        for obj in objects(repo_plan(stack, cloud)):
            walk(obj)


def _sources() -> dict[str, tuple[str, str]]:
    """file -> (repository, tag), from SOURCES.md's table."""
    rows = {}
    for line in (CRDS / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].endswith(".yaml"):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_the_crd_tags_are_the_pinned_versions() -> None:
    from llmcloud.components.aws import load_balancer_controller as lbc
    from llmcloud.components.k8s import images

    expected = {
        "kedacore/keda": f"v{images.KEDA_CHART.version}",
        "kubernetes-sigs/lws": f"v{images.LWS_CHART.version}",
        "prometheus-community/helm-charts": f"kube-prometheus-stack-{images.PROMETHEUS_STACK_CHART.version}",
        "cert-manager/cert-manager": images.CERT_MANAGER_CHART.version,
        # the chart's appVersion equals its version since chart 3.0.0
        "kubernetes-sigs/aws-load-balancer-controller": f"v{lbc.CHART['version']}",
    }
    rows = _sources()
    assert set(rows) == {p.name for p in CRDS.glob("*.yaml")}
    for file, (repo, tag) in rows.items():
        if repo in expected:
            assert tag == expected[repo], f"{file}: CRD from {repo} {tag}, but the pin is {expected[repo]}"
    assert set(expected) <= {repo for repo, _ in rows.values()}
