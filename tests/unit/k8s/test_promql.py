"""Every PromQL expression the bundled stacks' plans carry is parsed by promql-parser (GreptimeTeam's Rust port
of Prometheus's parser, which also type-checks function calls), and each holds the shape its consumer needs:
- KEDA's Prometheus triggers: one series or none. KEDA's scaler reads a zero-element result as 0 and fails
  on more than one element ("prometheus query ... returned multiple elements", pkg/scalers/prometheus_scaler.go;
  its docs: "query must return a vector/scalar single element response").
- Alert rules (GMP `Rules`, `PrometheusRule`): an instant vector (their `for` durations are checked by the
  CRD schemas' patterns, tests/unit/k8s/test_k8s_crd_schemas.py).
- The Grafana dashboard's panel queries, and the series selector inside its `label_values(...)` variable.
No Prometheus runs here: this checks syntax, types and shape, not results."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from helpers import GOLDEN_PLAN_FILES

ROOT = Path(__file__).resolve().parents[3]
PLANS = GOLDEN_PLAN_FILES
RULE_KINDS = ("kubernetes:monitoring.googleapis.com/v1:Rules", "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
# Without `by`/`without` these return one series (topk, bottomk, count_values, limitk can return several)
ONE_SERIES_AGGREGATIONS = ("sum", "avg", "max", "min", "count", "group", "stddev", "stdvar")
# What Prometheus's rule manager refuses as an alert's result ("rule result is not a vector or scalar")
NOT_A_VECTOR = (promql_parser.MatrixSelector, promql_parser.SubqueryExpr, promql_parser.StringLiteral)
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$")


def queries(plan: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind of query, PromQL, where it came from) for every query in a plan's steps."""
    for step in plan["steps"]:
        state = step["newState"]
        inputs, where = state["inputs"], {"urn": step["urn"]}
        if state["type"] == "kubernetes:keda.sh/v1alpha1:ScaledObject":
            for trigger in inputs["spec"]["triggers"]:
                if trigger["type"] == "prometheus":
                    yield "keda", trigger["metadata"]["query"], where
        elif state["type"] in RULE_KINDS:
            for group in inputs["spec"]["groups"]:
                for rule in group["rules"]:
                    yield "rule", rule["expr"], {**where, "alert": rule.get("alert")}
        elif state["type"] == "kubernetes:core/v1:ConfigMap":
            for key, text in (inputs.get("data") or {}).items():
                if not key.endswith(".json") or '"panels"' not in text:
                    continue
                board = json.loads(text)
                for panel in board["panels"]:
                    for target in panel.get("targets", []):
                        yield "panel", target["expr"], {**where, "panel": panel["title"]}
                for variable in board.get("templating", {}).get("list", []):
                    if variable.get("type") == "query":
                        match = LABEL_VALUES.match(variable["query"])
                        assert match, f"{step['urn']}: variable {variable['name']}: {variable['query']}"
                        yield "variable", match["selector"], {**where, "variable": variable["name"]}


def single_series(expr: Any) -> bool:
    """Does the expression return at most one series whatever the data? An aggregation without grouping,
    a number, or arithmetic of those."""
    if isinstance(expr, promql_parser.ParenExpr):
        return single_series(expr.expr)
    if isinstance(expr, promql_parser.NumberLiteral):
        return True
    if isinstance(expr, promql_parser.AggregateExpr):
        return expr.modifier is None and str(expr.op) in ONE_SERIES_AGGREGATIONS
    if isinstance(expr, promql_parser.BinaryExpr):
        return single_series(expr.lhs) and single_series(expr.rhs)
    return False


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_every_query_of_the_plan_parses_with_the_shape_its_consumer_needs(path: Path) -> None:
    found = list(queries(json.loads(path.read_text())))
    kinds = {kind for kind, _, _ in found}
    assert {"keda", "rule", "panel", "variable"} <= kinds, f"{path.name}: found only {sorted(kinds)}"
    for kind, text, where in found:
        try:
            expr = promql_parser.parse(text)
        except ValueError as exc:
            pytest.fail(f"{path.name} {where}: {text!r} is not PromQL: {exc}")
        if kind == "keda":
            assert single_series(expr), f"{where}: KEDA needs one series or none, {text!r} can return several"
        if kind == "rule":
            assert not isinstance(expr, NOT_A_VECTOR), f"{where}: an alert needs an instant vector, not {text!r}"


def test_the_checks_fail_on_broken_or_many_series_queries() -> None:
    plan = json.loads((ROOT / "tests" / "golden" / "plans" / "dev.gcp.json").read_text())
    (_, text, _), *_ = (q for q in queries(plan) if q[0] == "keda")
    assert single_series(promql_parser.parse(text))
    with pytest.raises(ValueError):
        promql_parser.parse(text[:-1])  # an unclosed parenthesis
    with pytest.raises(ValueError, match="expected type matrix"):
        promql_parser.parse("rate(vllm:num_requests_waiting)")  # rate() of an instant vector
    # one series per model_name: KEDA would fail as soon as two models report
    assert not single_series(promql_parser.parse(text.replace("sum(", "sum by (model_name) (", 1)))
    assert not single_series(promql_parser.parse("vllm:num_requests_waiting"))
