"""The API server's validation of a custom resource on create, beyond its JSON Schema: structural defaulting,
then the CRD's CEL rules (`x-kubernetes-validations`) with `self` bound to each node. Used by
tests/unit/k8s/test_crd_cel_rules.py (llmcloud's objects) and test_helm_charts.py (the charts' objects).

The evaluator is common-expression-language (Python bindings of the Rust `cel` crate), not cel-go: the
Kubernetes extension functions it lacks are listed in K8S_ONLY: a rule calling one is reported as not run."""

from __future__ import annotations

import copy
import re
from typing import Any

import cel

# Functions of Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library) that the evaluator does not have
K8S_ONLY = {"isURL", "url", "lowerAscii", "upperAscii", "quantity", "isQuantity", "ip", "isIP", "cidr", "isCIDR"}
_UNDEFINED = re.compile(r"Undefined variable or function: '(\w+)'")


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    """The object after structural defaulting: every unset property with a schema default gets it."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                with_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                with_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            with_defaults(schema["items"], item)
    return value


def evaluate(schema: dict[str, Any], value: Any, where: str) -> tuple[int, list[str], set[str]]:
    """(rules evaluated, refusals, K8s-only functions met) for `value` under `schema`, recursively."""
    evaluated, refusals, unsupported = 0, [], set()
    for rule in schema.get("x-kubernetes-validations") or []:
        expression = rule["rule"]
        if "oldSelf" in expression:
            continue
        try:
            result = cel.evaluate(expression, {"self": value})
        except Exception as exc:  # the evaluator's errors: missing keys, type mismatches, unknown functions
            missing = _UNDEFINED.search(str(exc))
            if missing and missing.group(1) in K8S_ONLY:
                unsupported.add(missing.group(1))
                continue
            refusals.append(f"{where}: {expression!r} fails to evaluate ({type(exc).__name__}: {exc})")
            continue
        evaluated += 1
        if result is not True:
            refusals.append(f"{where}: {rule.get('message') or expression!r}")
    children: list[tuple[dict[str, Any], Any, str]] = []
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        children += [(sub, value[k], f"{where}.{k}") for k, sub in properties.items() if k in value]
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            children += [(extra, v, f"{where}.{k}") for k, v in value.items()]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        children += [(schema["items"], item, f"{where}[{i}]") for i, item in enumerate(value)]
    for sub, child, path in children:
        n, bad, missing = evaluate(sub, child, path)
        evaluated, unsupported = evaluated + n, unsupported | missing
        refusals += bad
    return evaluated, refusals, unsupported
