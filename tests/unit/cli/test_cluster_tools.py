"""The programs each cloud's kubeconfig runs to sign in (TOOLS in components/<cloud>/checks.py) are required
before the engine starts: `preview` with the Pulumi CLI and `up` exit 4 naming the missing one and how to
install it, and nothing runs. Without them the cluster would be created, and then the Kubernetes provider could
not reach it (EKS: `aws eks get-token`; AKS: kubelogin, which asks the Azure CLI for a token)."""

from __future__ import annotations

import shutil

import pytest
from llmcloud.components import registry

CASES = [
    ("dev", "gcp", "gke-gcloud-auth-plugin", "gcloud components install"),
    ("aws-example", "aws", "aws", "AWS CLI v2"),
    ("azure-example", "azure", "kubelogin", "az aks install-cli"),
    ("azure-example", "azure", "az", "az login"),
]


def test_every_tool_of_every_cloud_is_covered() -> None:
    declared = {(c, t) for c in registry.CLOUDS for t in registry.cloud(c).tools}
    assert declared == {(cloud, tool) for _, cloud, tool, _ in CASES}


@pytest.mark.parametrize(("stack", "cloud", "tool", "hint"), CASES, ids=[c[2] for c in CASES])
@pytest.mark.parametrize("command", ["up", "preview"])
def test_a_missing_tool_stops_the_command_before_the_engine(
    cli, fake_pulumi_cli, monkeypatch, stack, cloud, tool, hint, command
) -> None:
    assert registry.cloud(cloud).missing_tools() == []  # the fixture's stand-ins are on PATH
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == tool else which(name, *a, **k))
    monkeypatch.setenv("LLMCLOUD_SKIP_CREDENTIAL_CHECK", "1")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    result = cli(command, stack, *(["--yes"] if command == "up" else []))
    assert result.exit_code == 4, result.stderr
    assert f"{tool} is not installed" in result.stderr and hint in result.stderr
    assert fake_pulumi_cli.ops() == []
