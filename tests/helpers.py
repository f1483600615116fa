"""Test helpers: load + resolve + plan a stack offline, and look things up in the plan."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from llmcloud.components.engine import offline
from llmcloud.components.engine.plan import Plan, Step
from llmcloud.components.resolve import ResolvedStack, resolve
from llmcloud.components.spec import load_stack


def resolved(stack: str | Path, cloud: str | None = None) -> ResolvedStack:
    return resolve(load_stack(str(stack)), cloud)


def plan(stack: str | Path, cloud: str | None = None) -> Plan:
    return offline.run(resolved(stack, cloud))


@cache
def repo_plan(name: str, cloud: str | None = None) -> Plan:
    """Plan of a bundled stack (stacks/<name>.yaml), cached across tests: plans are deterministic."""
    root = Path(__file__).resolve().parent.parent
    return plan(root / "stacks" / f"{name}.yaml", cloud)


def one(plan: Plan, type_: str, name: str | None = None) -> Step:
    steps = [s for s in plan.by_type(type_) if name is None or s.name == name]
    assert len(steps) == 1, f"expected one {type_} named {name}, found {[s.name for s in steps]}"
    return steps[0]


def get(inputs: dict[str, Any], dotted: str) -> Any:
    value: Any = inputs
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value
