"""Every custom resource of every bundled stack's rendered manifests validates against the CRD schema of
the pinned controller (tests/data/crds, SOURCES.md there), strictly: a field the schema does not define is
an error, as with the API server's strict field validation. Built-in kinds go through kubernetes-validate
--strict. The manifests are `llmcloud render`'s output as is: placeholders only inside maps."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helpers import repo_plan
from llmcloud.cli.manifests import objects

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "tests" / "data" / "crds"
INDEX = json.loads((ROOT / "tests" / "golden" / "plans" / "_index.json").read_text())
COMBOS = [(stack, cloud) for stack, clouds in sorted(INDEX.items()) for cloud in clouds if " " not in cloud]
K8S_VERSION = "1.31"
# Custom resources whose CRDs are not stored (GKE-managed policies, cert-manager, the AWS Load Balancer
# Controller's TargetGroupBinding, added with #18): SOURCES.md says why; test_k8s_manifests checks their
# required fields.
NOT_STORED = {"networking.gke.io", "cert-manager.io", "elbv2.k8s.aws"}
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
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                out[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])
    return out


def _errors(obj: dict[str, Any]) -> list[str]:
    schema = schemas()[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft7Validator(schema)
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
    } <= kinds
    sources = (CRDS / "SOURCES.md").read_text()
    for path in CRDS.glob("*.yaml"):
        assert path.name in sources, f"{path.name} has no source in SOURCES.md"


@pytest.mark.parametrize(("stack", "cloud"), COMBOS)
def test_rendered_custom_resources_validate_against_the_pinned_crds(stack: str, cloud: str) -> None:
    checked = 0
    for obj in objects(repo_plan(stack, cloud)):
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        if "." not in group or group in BUILT_IN_GROUPS:
            continue  # built-in kinds: the next test
        if group in NOT_STORED:
            continue
        assert (obj["apiVersion"], obj["kind"]) in schemas(), f"no stored CRD for {obj['apiVersion']} {obj['kind']}"
        errors = _errors(obj)
        assert not errors, f"{stack} on {cloud}: {obj['kind']}/{obj['metadata']['name']}: {errors[:5]}"
        checked += 1
    assert checked >= 3  # ScaledObject(s), scrape and rule objects at least


@pytest.mark.parametrize(("stack", "cloud"), COMBOS)
def test_rendered_built_in_objects_pass_kubernetes_validate_strict(stack: str, cloud: str) -> None:
    for obj in objects(repo_plan(stack, cloud)):
        if (obj["apiVersion"], obj["kind"]) in schemas() or obj["apiVersion"].split("/")[0] in NOT_STORED:
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{stack} on {cloud}: {obj['kind']}/{obj['metadata'].get('name')}: {str(exc).splitlines()[0]}")


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

    for stack, cloud in COMBOS:
        for obj in objects(repo_plan(stack, cloud)):
            walk(obj)
