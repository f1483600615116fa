"""Integration: the real CLI against a real cloud. These run only where the `pulumi` CLI, credentials
and a passphrase exist and LLMCLOUD_INTEGRATION=1 is set (they create billable resources); otherwise
they are skipped with the reason shown (`pytest -rs`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from llmcloud.cli.common import pulumi_cli
from llmcloud.components.engine.credentials import has_credentials, passphrase_env

REPO = Path(__file__).resolve().parents[2]
CLOUD = os.environ.get("LLMCLOUD_INTEGRATION_CLOUD", "gcp")


def _why_not() -> str | None:
    if os.environ.get("LLMCLOUD_INTEGRATION") != "1":
        return "set LLMCLOUD_INTEGRATION=1 to run tests that create cloud resources"
    if pulumi_cli() is None:
        return "the pulumi CLI is not installed"
    if passphrase_env() is None:
        return "no LLMCLOUD_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE set"
    if not has_credentials(CLOUD):
        return f"no {CLOUD} credentials"
    return None


pytestmark = [pytest.mark.integration, pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")]


def llmcloud(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmcloud.cli.main", *args], cwd=REPO, capture_output=True, text=True, timeout=3600
    )


def test_real_preview_prices_the_same_stack():
    result = llmcloud("preview", "dev", "--cloud", CLOUD, "--json")
    assert result.returncode == 0, result.stderr
    assert '"engine": "pulumi"' in result.stdout


def test_up_then_destroy_keeps_the_bucket():
    up = llmcloud("up", "dev", "--cloud", CLOUD, "--yes")
    assert up.returncode == 0, up.stderr
    try:
        drift = llmcloud("preview", "dev", "--cloud", CLOUD, "--expect-no-changes")
        assert drift.returncode == 0, drift.stderr
    finally:
        down = llmcloud("destroy", "dev", "--cloud", CLOUD, "--yes")
        assert down.returncode == 0, down.stderr
        assert "kept:" in down.stdout
