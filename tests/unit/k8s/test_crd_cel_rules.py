"""The validation rules of the pinned CRDs (`x-kubernetes-validations`, CEL), evaluated on every custom resource
the bundled stacks render, as the API server does on create: defaults from the schema applied first, then each
rule with `self` bound to its node. A rule that evaluates to false, or fails to evaluate (a field read that is
not set, a type mismatch), refuses the object. Transition rules (`oldSelf`) only run on updates.

The evaluator is common-expression-language (Python bindings of the Rust `cel` crate), not cel-go
(tests/crd_rules.py): a rule calling one of the Kubernetes functions it lacks (K8S_ONLY there) fails the test
as not evaluated; none of the rendered objects meets one today.
The JSON Schema part of the CRDs is tests/unit/k8s/test_k8s_crd_schemas.py's."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_rules import evaluate, with_defaults
from helpers import GOLDEN_COMBOS, repo_plan
from llmcloud.cli.manifests import objects
from llmcloud.components.gcp.front_door import health_check_policy

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "tests" / "data" / "crds"


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                out[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return out


def check(obj: dict[str, Any]) -> tuple[int, list[str], set[str]]:
    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    return evaluate(schema, with_defaults(schema, copy.deepcopy(obj)), f"{obj['kind']}/{obj['metadata']['name']}")


@pytest.mark.parametrize(("stack", "cloud"), GOLDEN_COMBOS)
def test_every_custom_resource_passes_its_crds_validation_rules(stack: str, cloud: str) -> None:
    evaluated = 0
    for obj in objects(repo_plan(stack, cloud)):
        if (obj["apiVersion"], obj["kind"]) not in crd_schemas():
            continue  # built-in kinds (and kinds without CRD rules): the schema tests
        n, refusals, unsupported = check(obj)
        assert not refusals, f"{stack} on {cloud}: {refusals}"
        assert not unsupported, f"{stack} on {cloud}: rules with K8s-only functions not evaluated: {unsupported}"
        evaluated += n
    # GKE's Gateway API, health check and scrape objects carry most rules; KEDA's ScaledObject some everywhere
    assert evaluated >= (40 if cloud == "gcp" else 1), f"{stack} on {cloud}: only {evaluated} rules evaluated"


def test_the_rules_refuse_what_the_api_server_refuses() -> None:
    policy = health_check_policy("llmcloud")
    assert check(policy)[1] == []
    # A fixed port without portSpecification: GKE reads it as USE_SERVING_PORT and refuses the port
    del policy["spec"]["default"]["config"]["httpHealthCheck"]["portSpecification"]
    _, refusals, _ = check(policy)
    assert any("must be unset for portSpecification being USE_SERVING_PORT" in r for r in refusals), refusals
    assert any("fails to evaluate" in r for r in refusals)  # the rules that read the unset field
    route = next(o for o in objects(repo_plan("dev")) if o["kind"] == "HTTPRoute")
    route["spec"]["rules"][0]["matches"] = [{"path": {"type": "PathPrefix", "value": "v1"}}]
    assert check(route)[1], "a path that does not start with / must be refused"
