"""Test helpers: load + resolve + plan a stack offline, look things up in the plan, run Python afresh."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from llmcloud.components.engine import offline
from llmcloud.components.engine.plan import Plan, Step
from llmcloud.components.resolve import ResolvedStack, resolve
from llmcloud.components.spec import load_stack

ROOT = Path(__file__).resolve().parent.parent
# The golden plans' index: bundled stack -> the clouds it plans on ("<cloud>: does not resolve" for the others)
GOLDEN_PLANS_DIR = ROOT / "tests" / "golden" / "plans"
GOLDEN_INDEX: dict[str, list[str]] = json.loads((GOLDEN_PLANS_DIR / "_index.json").read_text())
# The golden plan files (<stack>.<cloud>.json), and (stack, cloud) for every plan they hold
GOLDEN_PLAN_FILES = sorted(p for p in GOLDEN_PLANS_DIR.glob("*.json") if not p.name.startswith("_"))
GOLDEN_COMBOS = [
    (stack, cloud) for stack, clouds in sorted(GOLDEN_INDEX.items()) for cloud in clouds if " " not in cloud
]


def fresh_python(*args: str, env: Mapping[str, str] | None = None, timeout: int = 300) -> str:
    """The stdout of `python ARGS` in a new interpreter (this one's, from the repository root, with `env` or
    this process's environment), which must exit 0 (else its stderr is the failure)."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@cache
def bench_cli() -> Any:
    """bench/bench_cli.py as a module (the benchmark's stack generator and its arithmetic)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_cli", ROOT / "bench" / "bench_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
