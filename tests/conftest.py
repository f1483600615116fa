"""Shared fixtures: stack files written on the fly, offline plans, and a CLI runner that isolates HOME."""

from __future__ import annotations

import json
import shutil
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


class FakePulumi:
    """The stand-in pulumi CLI (tests/fakes/pulumi): script what it answers, read what it was asked."""

    def __init__(self, scenario_file: Path, log: Path, defaults: dict | None = None) -> None:
        self.scenario_file = scenario_file
        self.log = log
        self.defaults = defaults or {}

    def script(self, **scenario) -> None:
        self.scenario_file.write_text(json.dumps({**self.defaults, **scenario}))

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def ops(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls() if c["argv"][:1] != ["version"]]


@pytest.fixture
def fake_pulumi_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    """The stand-in on PATH (as <root>/bin/pulumi, like the installer lays it out), with a passphrase and
    GCP credentials in the environment, in the repository's directory."""
    bin_dir = tmp_path / "pulumi-home" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "fakes" / "pulumi", bin_dir / "pulumi")
    (bin_dir / "pulumi").chmod(0o755)
    # `preview` and `up` check that the programs each cloud's kubeconfig runs are installed (TOOLS in
    # components/<cloud>/checks.py: gke-gcloud-auth-plugin, aws, kubelogin, az): stand-ins that do nothing
    from llmcloud.components import registry

    for tool in {tool for cloud in registry.CLOUDS for tool in registry.cloud(cloud).tools}:
        stand_in = bin_dir / tool
        stand_in.write_text("#!/bin/sh\nexit 0\n")
        stand_in.chmod(0o755)
    log = tmp_path / "pulumi-calls.jsonl"
    scenario_file = tmp_path / "scenario.json"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(tmp_path / "fake-state"))
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", str(scenario_file))
    monkeypatch.setenv("LLMCLOUD_PASSPHRASE", "correct horse battery staple")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.test-token")
    monkeypatch.chdir(REPO)
    fake = FakePulumi(scenario_file, log)
    fake.script()
    return fake


# ---- expected failures: the rehearsal (issue 16) refuses these stacks until the named issues land ----------
# One reviewed list, never a silenced check: each test below runs and is reported as XFAIL while the
# rehearsal finds the deploy would fail, and as XPASS once the fix lands (then delete its line here).
_GCP = (
    "#17: GCP APIs not enabled by the plan, no firewall for KEDA 6443/LWS 9443 from the private control "
    "plane, Workload Identity members created before the cluster; #15: KEDA ScaledObject/"
    "TriggerAuthentication created before the keda release installs their CRDs"
)
_AWS = (
    "#18: EKS node groups before the vpc-cni add-on and their role's policies, Kubernetes provider before the "
    "access policy association; #15: ScaledObjects before the KEDA CRDs"
)
_AZURE = (
    "#19: AKS 1.31 is past its last support day on 2026-12-01; every pool is tainted so the gateway, KEDA, "
    "cert-manager and Prometheus cannot schedule; #15: ScaledObjects before the KEDA CRDs"
)
# Bundled stacks that the rehearsal stops, each naming the issue that fixes it. Empty since issues #15, #17,
# #18 and #19 landed; a test listed here is an expected failure (not strict), so delete its line once it passes.
REHEARSAL_XFAIL: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = REHEARSAL_XFAIL.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"rehearsal finds the deploy would fail: {reason}", strict=False))
