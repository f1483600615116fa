"""The CLI's modules import each other without a cycle (the pipeline is cli/pipeline.py, which imports no
command module), and the deploy/down aliases are the very functions of up/destroy."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[3] / "cli"


def _edges() -> dict[str, set[str]]:
    """module -> CLI modules it imports, at any depth of the file (function-level imports included)."""
    graph: dict[str, set[str]] = {}
    for path in CLI.glob("*.py"):
        deps = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("llmcloud.cli."):
                deps.add(node.module.split(".")[2])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_cli_modules():
    graph = _edges()
    assert {"main", "pipeline", "preview", "deploy"} <= set(graph)
    assert _cycle(graph) is None
    assert graph["pipeline"] <= {"common", "progress"}  # the pipeline depends on no command module


def test_aliases_are_registered_from_the_same_function():
    from llmcloud.cli.main import app

    by_name = {c.name or c.callback.__name__: c for c in app.registered_commands}
    assert by_name["deploy"].callback is by_name["up"].callback
    assert by_name["down"].callback is by_name["destroy"].callback
    assert by_name["deploy"].hidden and by_name["down"].hidden
