"""The CLI as CI pipelines use it: exact exit codes, JSON-only stdout, clear one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BUNDLED = sorted(p.name for p in (REPO / "stacks").glob("*.yaml") if p.stem != "base")


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)
    # no pulumi CLI for these tests, whatever the machine has
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("HF_TOKEN", "")


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_stack_validates_and_previews_offline(cli, name):
    result = cli("validate", f"stacks/{name}")
    assert result.exit_code == 0, result.stderr
    result = cli("preview", f"stacks/{name}", "--offline", "--json", "--budget", "1000000")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["engine"] == "offline"
    assert plan["changeSummary"]["create"] == len(plan["steps"]) > 10
    assert plan["cost"]["monthly"]["floor"] <= plan["cost"]["monthly"]["expected"] <= plan["cost"]["monthly"]["max"]
    assert all(step["urn"].startswith(f"urn:pulumi:{plan['stack']}::llmcloud::") for step in plan["steps"])


def test_preview_json_matches_contract_3(cli):
    result = cli("preview", "dev", "--offline", "--json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)  # stdout is JSON only
    assert {"stack", "cloud", "engine", "steps", "changeSummary", "cost", "policy"} <= set(plan)
    assert plan["stack"] == "dev-gcp" and plan["cloud"] == "gcp"
    pool = next(
        s
        for s in plan["steps"]
        if s["newState"]["type"] == "gcp:container/nodePool:NodePool" and s["urn"].endswith("llm-dev-l4")
    )
    state = pool["newState"]
    assert state["custom"] is True and state["parent"].endswith("GkeAcceleratorNodePool::llm-dev-l4")
    assert state["inputs"]["nodeConfig"]["machineType"] == "g2-standard-4"
    assert state["protect"] is False and state["retainOnDelete"] is False
    assert plan["outputs"]["kubeconfig"] == "[secret]"
    assert plan["outputs"]["cluster_name"] == "<computed>"


def test_preview_without_pulumi_falls_back_with_one_notice(cli):
    result = cli("preview", "dev", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["engine"] == "offline"
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("note:") and "pulumi" in ln]
    assert len(notes) == 1 and "pulumi CLI is not installed" in notes[0]


def test_preview_table_shows_tree_and_cost(cli):
    result = cli("preview", "dev", "--offline")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "llm-dev-l4" in out and "machine=g2-standard-4" in out and "gpu=nvidia-l4" in out
    assert "Monthly cost" in out and "node_pools.l4" in out and "g2-standard-4 (spot)" in out
    assert "Resources: 28 to create" in out or "to create" in out


def test_budget_blocks_with_exit_3(cli):
    result = cli("preview", "dev", "--offline", "--json", "--budget", "10")
    assert result.exit_code == 3
    plan = json.loads(result.stdout)
    assert plan["cost"]["budget"] == {"monthly_usd": 10.0, "band": "expected", "over": True}
    assert "exceeds the budget of $10.00" in result.stderr


def test_budget_on_max_band(cli):
    cost = json.loads(cli("cost", "dev", "--json").stdout)
    between = (cost["monthly"]["expected"] + cost["monthly"]["max"]) / 2
    assert cli("preview", "dev", "--offline", "--json", "--budget", str(between)).exit_code == 0
    assert cli("preview", "dev", "--offline", "--json", "--budget", str(between), "--budget-on", "max").exit_code == 3


@pytest.mark.parametrize("command", ["up", "destroy", "deploy", "down"])
def test_deploy_commands_need_the_pulumi_cli(cli, command):
    result = cli(command, "dev", "--yes")
    assert result.exit_code == 4
    assert "pulumi CLI" in result.stderr and "get.pulumi.com" in result.stderr


def test_invalid_cloud_is_usage_error(cli):
    result = cli("validate", "dev", "--cloud", "ibm")
    assert result.exit_code == 2
    assert "unknown cloud 'ibm'" in result.stderr


def test_schema_is_json_schema_of_the_stack(cli):
    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "StackSpec"
    assert "node_pools" in schema["properties"]
    accel = schema["$defs"]["NodePoolSpec"]["properties"]["accelerator"]
    assert "L4" in accel["enum"] and "TPU-v5e" in accel["enum"]


def test_validate_json(cli):
    result = cli("validate", "prod", "--json")
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["protect_data"] is True
    assert data["node_pools"]["a100"]["machine_type"] == "a2-ultragpu-2g"


def test_missing_sdk_names_the_extra(cli, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pulumi_gcp" else real(name, *a))
    result = cli("preview", "dev", "--offline")
    assert result.exit_code == 4
    assert "pip install 'llmcloud[gcp]'" in result.stderr


def test_cost_json_matches_contract_4(cli):
    cost = json.loads(cli("cost", "dev", "--json").stdout)
    assert cost["currency"] == "USD" and cost["hours_per_month"] == 730
    pool = next(line for line in cost["lines"] if line["resource"] == "node_pools.l4")
    assert pool["quantity"] == {"floor": 0, "expected": 1, "max": 2}
    assert pool["monthly"]["expected"] == pytest.approx(pool["unit_price"] * 730, abs=0.01)


def test_pulumi_cli_found_in_home_install(tmp_path, monkeypatch):
    from llmcloud.cli.common import pulumi_cli

    monkeypatch.setenv("HOME", str(tmp_path))
    assert pulumi_cli() is None
    exe = tmp_path / ".pulumi" / "bin" / "pulumi"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert pulumi_cli() == str(exe)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["preview", "dev", "--offline", "--json", "--budget", "1"], 3),
        (["preview", "dev", "--offline", "--json"], 0),
        (["validate", "nosuchstack"], 2),
        (["--no-such-option"], 2),
    ],
)
def test_console_script_exit_codes(args, code):
    """The real entry point (main), which leaves with os._exit after Pulumi work: codes and output intact."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "llmcloud.cli.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == code, proc.stderr
    if "--json" in args:
        assert json.loads(proc.stdout)["stack"] == "dev-gcp"  # complete JSON: flushed before leaving


def test_validate_names_the_models_it_could_not_size(cli, write_stack):
    file = write_stack("""
extends: base.yaml
node_pools:
  l4: {accelerator: L4, max_nodes: 1}
models:
  mine: {source: "gs://b/my-private-model", node_pool: l4}
""")
    result = cli("validate", file, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["unchecked_models"] == ["mine"]
    plain = cli("validate", file)
    assert "not checked for fit (not in the catalog's models.yaml): mine" in plain.stderr


@pytest.mark.parametrize(
    ("stack", "expected"), [("aws-example", "ami=AL2023_x86_64_NVIDIA"), ("azure-example", "priority=Spot")]
)
def test_preview_tree_shows_key_settings_on_every_cloud(cli, stack, expected):
    result = cli("preview", f"stacks/{stack}.yaml", "--offline")
    assert result.exit_code == 0, result.stderr
    assert expected in result.stdout
