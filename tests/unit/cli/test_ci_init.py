"""`llmcloud ci init` writes pipelines that parse, validate against the CI systems' schemas, and follow
the rules: OIDC only, cost in the summary, budget gate, manual approval before prod, cached plugins."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _schema_check(path: Path, schema: str) -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(exe), "--builtin-schema", schema, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_github_workflow(cli, project):
    result = cli("ci", "init", "--github")
    assert result.exit_code == 0, result.stderr
    path = project / ".github" / "workflows" / "llmcloud.yml"
    _schema_check(path, "vendor.github-workflows")
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert doc["permissions"] == {"id-token": "write", "contents": "read"}
    jobs = doc["jobs"]
    assert {"preview-dev", "deploy-dev", "preview-prod", "deploy-prod", "reap"} <= set(jobs)
    preview_runs = [s.get("run", "") for s in jobs["preview-dev"]["steps"]]
    assert "llmcloud cost dev --markdown >> \"$GITHUB_STEP_SUMMARY\"" in preview_runs
    assert any(r.startswith("llmcloud preview dev --json") for r in preview_runs)
    assert jobs["deploy-prod"]["environment"] == "prod"  # required reviewers = the manual approval
    assert "deploy-dev" in jobs["deploy-prod"]["needs"]
    assert any(s.get("uses") == "google-github-actions/auth@v2" for s in jobs["deploy-dev"]["steps"])
    assert any(s.get("with", {}).get("path") == "~/.pulumi/plugins" for s in jobs["deploy-dev"]["steps"])
    assert any(s.get("run") == "llmcloud up prod --yes" for s in jobs["deploy-prod"]["steps"])
    for forbidden in ("AWS_SECRET_ACCESS_KEY", "credentials_json", "ARM_CLIENT_SECRET", "GOOGLE_CREDENTIALS"):
        assert forbidden not in text


def test_gitlab_pipeline(cli, project):
    assert cli("ci", "init", "--gitlab").exit_code == 0
    path = project / ".gitlab-ci.yml"
    _schema_check(path, "vendor.gitlab-ci")
    doc = yaml.safe_load(path.read_text())
    assert doc["deploy-prod"]["rules"][0]["when"] == "manual"
    assert "when" not in doc["deploy-dev"]["rules"][0]
    assert "id_tokens" in doc["deploy-dev"]
    assert doc["reap"]["rules"] == [{"if": "$CI_PIPELINE_SOURCE == 'schedule'"}]


def test_existing_file_needs_force(cli, project):
    assert cli("ci", "init").exit_code == 0
    again = cli("ci", "init")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert cli("ci", "init", "--force").exit_code == 0
