"""Every action step of the workflow `llmcloud ci init --github` writes passes only inputs the action declares,
and every input it requires, as read from the action's own action.yml at the pinned commit
(tests/data/actions/inputs.json, recorded by build.py there, which also checks each tag still points at its
commit). GitHub runs a step with an unknown input and only warns, so a misspelt one is silently ignored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
INPUTS = json.loads((REPO / "tests" / "data" / "actions" / "inputs.json").read_text())
STACKS = ("--stack", "dev", "--stack", "prod", "--stack", "aws-example", "--stack", "azure-example")


@pytest.fixture
def workflow(cli, tmp_path, monkeypatch) -> dict:
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    assert cli("ci", "init", "--github", *STACKS).exit_code == 0
    return yaml.safe_load((tmp_path / ".github" / "workflows" / "llmcloud.yml").read_text())


def test_the_record_is_of_the_pinned_commits() -> None:
    from llmcloud.cli.ci import pinned_actions

    assert {a: (r["commit"], r["tag"]) for a, r in INPUTS.items()} == pinned_actions()


def problems(workflow: dict) -> list[str]:
    """Each action step's inputs against its action.yml: unknown ones, missing required ones, other commits."""
    found = []
    for job, spec in workflow["jobs"].items():
        for step in spec["steps"]:
            if "uses" not in step:
                continue
            action, commit = step["uses"].split("@")
            record = INPUTS[action]
            given = set(step.get("with") or {})
            required = {n for n, spec in record["inputs"].items() if spec["required"]}
            if record["commit"] != commit:
                found.append(f"{job}: {action}@{commit} is not the recorded commit")
            found += [f"{job}: {action} has no input {name}" for name in sorted(given - set(record["inputs"]))]
            found += [f"{job}: {action} needs {name}" for name in sorted(required - given)]
    return found


def test_every_step_passes_declared_inputs_and_the_required_ones(workflow) -> None:
    assert len({s["uses"] for j in workflow["jobs"].values() for s in j["steps"] if "uses" in s}) >= 9
    assert problems(workflow) == []


def test_a_misspelt_or_missing_input_is_caught(workflow) -> None:
    steps = workflow["jobs"]["deploy-dev"]["steps"]
    gcloud = next(s for s in steps if s.get("uses", "").startswith("google-github-actions/setup-gcloud@"))
    gcloud["with"] = {"install-components": gcloud["with"]["install_components"]}  # a dash for the underscore
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    del cache["with"]["key"]
    assert problems(workflow) == [
        "deploy-dev: actions/cache needs key",
        "deploy-dev: google-github-actions/setup-gcloud has no input install-components",
    ]
