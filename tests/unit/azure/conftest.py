"""Azure test fixtures: stack files planned offline once per session (plans are deterministic)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import plan, resolved

REPO = Path(__file__).resolve().parents[3]
_PLANS: dict[tuple[str, str], object] = {}


@pytest.fixture(scope="session")
def azure_stack(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """azure_stack(text, name) -> path of a stack file next to the repository's base.yaml."""
    root = tmp_path_factory.mktemp("azure-stacks")
    (root / "base.yaml").write_text((REPO / "stacks" / "base.yaml").read_text())

    def write(text: str, name: str = "dev") -> Path:
        path = root / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture(scope="session")
def azure_plan(azure_stack: Callable[..., Path]):
    """azure_plan(text, name) -> (ResolvedStack, Plan), cached by (name, text)."""

    def run(text: str, name: str = "dev"):
        key = (name, textwrap.dedent(text))
        if key not in _PLANS:
            path = azure_stack(text, name)
            _PLANS[key] = (resolved(path), plan(path))
        return _PLANS[key]

    return run
