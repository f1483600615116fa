"""Shared fixtures: stack files written on the fly, offline plans, and a CLI runner that isolates HOME."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STACKS = REPO / "stacks"


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[..., Path]:
    """write_stack(text, name="dev") -> path of stacks/<name>.yaml under a temporary directory.
    The repository's base.yaml is copied next to it so `extends: base.yaml` works."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "base.yaml").write_text((STACKS / "base.yaml").read_text())

    def write(text: str, name: str = "dev") -> Path:
        path = stacks / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run the Typer app in-process with HOME isolated, no colours and a fixed width."""
    from llmcloud.cli.main import app
    from typer.testing import CliRunner

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("LLMCLOUD_CLOUD", raising=False)
    monkeypatch.delenv("LLMCLOUD_BUDGET", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run
