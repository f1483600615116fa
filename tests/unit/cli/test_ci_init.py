"""`llmcloud ci init` writes pipelines that a security audit accepts (zizmor, no finding at its most
pedantic), that validate against the CI systems' schemas, install llmcloud from the repository they run
in, log in per job by OIDC, reap per cloud, and deploy only the stacks chosen (issue 22)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
# a release tag: vX.Y.Z, or vX.Y where the action tags no patch releases (azure/use-kubelogin)
SHA_PIN = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+(?:\.\d+)?)$")


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _schema_check(path: Path, schema: str) -> None:
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _github(cli, project, *args: str) -> tuple[str, dict]:
    result = cli("ci", "init", "--github", *args)
    assert result.exit_code == 0, result.stderr
    path = project / ".github" / "workflows" / "llmcloud.yml"
    return path.read_text(), yaml.safe_load(path.read_text())


def _steps(job: dict) -> list[dict]:
    return job["steps"]


def test_zizmor_finds_nothing_in_the_github_workflow(cli, project):
    """The static security analyser for GitHub Actions, offline, at its most pedantic persona."""
    _github(cli, project, "--stack", "dev", "--stack", "prod", "--stack", "aws-example", "--stack", "azure-example")
    zizmor = BIN / "zizmor"
    proc = subprocess.run(
        [
            str(zizmor),
            "--offline",
            "--persona",
            "pedantic",
            "--format",
            "plain",
            str(project / ".github" / "workflows" / "llmcloud.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


def test_github_workflow_matches_githubs_schema(cli, project):
    _github(cli, project)
    _schema_check(project / ".github" / "workflows" / "llmcloud.yml", "vendor.github-workflows")


def test_every_action_is_pinned_to_a_commit_with_its_tag(cli, project):
    from llmcloud.cli.ci import pinned_actions

    ACTIONS = pinned_actions()  # the workflow's own and each cloud's login action

    text, _ = _github(cli, project, "--stack", "dev", "--stack", "aws-example", "--stack", "azure-example")
    uses = [line for line in text.splitlines() if "uses:" in line]
    assert uses
    for line in uses:
        match = SHA_PIN.match(line)
        assert match, f"not pinned to a commit with its version: {line!r}"
        action, sha, tag = match.groups()
        assert ACTIONS[action] == (sha, tag)
    assert {SHA_PIN.match(line).group(1) for line in uses} == set(ACTIONS)  # no stale entries


def test_llmcloud_is_installed_from_the_checkout_never_by_name(cli, project):
    text, doc = _github(cli, project)
    installs = [s["run"] for job in doc["jobs"].values() for s in _steps(job) if "pip install" in s.get("run", "")]
    assert installs and all(re.fullmatch(r"python -m pip install '\.\[(gcp|aws|azure)\]'", i) for i in installs)
    assert "llmcloud[" not in text
    # With the repository's constraints file, every install is pinned by it.
    (project / "constraints.txt").write_text("pyyaml==6.0.2\n")
    _, doc = _github(cli, project, "--force")
    installs = [s["run"] for job in doc["jobs"].values() for s in _steps(job) if "pip install" in s.get("run", "")]
    assert all(i.startswith("python -m pip install -c constraints.txt '.[") for i in installs)


def test_least_privilege(cli, project):
    _, doc = _github(cli, project, "--stack", "dev", "--stack", "aws-example")
    assert doc["permissions"] == {}
    for name, job in doc["jobs"].items():
        logs_in = any("OIDC" in s.get("name", "") for s in _steps(job))
        assert logs_in, name  # every job of this workflow talks to a cloud
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        checkouts = [s for s in _steps(job) if s.get("uses", "").startswith("actions/checkout@")]
        assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts), name
        assert "concurrency" in job, name
    uploads = [s for j in doc["jobs"].values() for s in _steps(j) if s.get("uses", "").startswith("actions/upload")]
    assert uploads and all(s["with"]["path"].startswith("plan-") for s in uploads)  # the masked plan only


def test_one_reaper_per_cloud_logged_in_to_its_cloud(cli, project):
    _, doc = _github(cli, project, "--stack", "dev", "--stack", "aws-example", "--stack", "azure-example")
    jobs = doc["jobs"]
    reapers = sorted(n for n in jobs if n.startswith("reap"))
    assert reapers == ["reap-aws", "reap-azure", "reap-gcp"]
    login_action = {
        "gcp": "google-github-actions/auth@",
        "aws": "aws-actions/configure-aws-credentials@",
        "azure": "azure/login@",
    }
    for cloud in ("gcp", "aws", "azure"):
        steps = _steps(jobs[f"reap-{cloud}"])
        logins = [s["uses"].split("@")[0] + "@" for s in steps if "OIDC" in s.get("name", "")]
        assert logins == [login_action[cloud]]
        [reap] = [s["run"] for s in steps if "llmcloud reap" in s.get("run", "")]
        assert f"--cloud {cloud}" in reap and "--markdown" in reap and "$GITHUB_STEP_SUMMARY" in reap


def test_jobs_only_for_chosen_stacks_prod_only_when_named(cli, project):
    _, doc = _github(cli, project)
    deploys = {n for n in doc["jobs"] if n.startswith("deploy-")}
    assert deploys == {"deploy-dev", "deploy-gcp-tpu", "deploy-aws-example", "deploy-azure-example"}  # no prod
    _, doc = _github(cli, project, "--force", "--stack", "dev", "--stack", "prod")
    jobs = doc["jobs"]
    assert {n for n in jobs if n.startswith("deploy-")} == {"deploy-dev", "deploy-prod"}
    assert jobs["deploy-prod"]["environment"] == "prod"  # required reviewers = the manual approval
    assert all("needs" not in job for job in jobs.values())  # no deploy waits on another environment
    assert any(s.get("run") == "llmcloud up prod --yes" for s in _steps(jobs["deploy-prod"]))


def test_unknown_stack_is_refused_before_writing(cli, project):
    result = cli("ci", "init", "--github", "--stack", "staging")
    assert result.exit_code == 2 and "stacks/staging.yaml" in result.stderr
    assert not (project / ".github").exists()


def test_gitlab_pipeline(cli, project):
    result = cli("ci", "init", "--gitlab", "--stack", "dev", "--stack", "prod", "--stack", "aws-example")
    assert result.exit_code == 0, result.stderr
    path = project / ".gitlab-ci.yml"
    _schema_check(path, "vendor.gitlab-ci")
    text = path.read_text()
    doc = yaml.safe_load(text)
    # a full version, not a moving tag; not -slim: Pulumi's installer needs curl, which only the full image has
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-trixie", doc["default"]["image"])
    assert "llmcloud[" not in text and "get.pulumi.com | sh -s -- --version 3." in text
    assert doc["deploy-prod"]["rules"][0]["when"] == "manual"
    assert doc["deploy-prod"]["rules"][0]["allow_failure"] is False
    assert "when" not in doc["deploy-dev"]["rules"][0]
    assert doc["deploy-dev"]["needs"] == [] and doc["deploy-prod"]["needs"] == []
    assert doc["deploy-dev"]["environment"] == {"name": "dev"}
    assert set(doc["deploy-dev"]["id_tokens"]) == {"GCP_OIDC_TOKEN"}
    assert set(doc["deploy-aws-example"]["id_tokens"]) == {"AWS_OIDC_TOKEN"}
    assert "id_tokens" not in doc["validate-dev"]  # validate talks to no cloud
    assert sorted(n for n in doc if n.startswith("reap")) == ["reap-aws", "reap-gcp"]
    assert set(doc["reap-aws"]["id_tokens"]) == {"AWS_OIDC_TOKEN"}
    assert any("--cloud aws" in line for line in doc["reap-aws"]["script"])
    for forbidden in ("AWS_SECRET_ACCESS_KEY", "credentials_json", "ARM_CLIENT_SECRET", "GOOGLE_CREDENTIALS"):
        assert forbidden not in text


def test_existing_file_needs_force(cli, project):
    assert cli("ci", "init").exit_code == 0
    again = cli("ci", "init")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert cli("ci", "init", "--force").exit_code == 0


def test_renovate_tracks_every_pinned_action():
    """renovate.json's regex managers find every (action, commit, tag): ACTIONS in cli/ci.py and each
    cloud's CI_LOGIN_ACTION and CI_TOOL_ACTION in components/<cloud>/__init__.py."""
    import json

    from llmcloud.cli.ci import ACTIONS, pinned_actions
    from llmcloud.components import registry

    managers = json.loads((REPO / "renovate.json").read_text())["customManagers"]

    def found_in(path: Path) -> dict[str, tuple[str, str]]:
        rel = str(path.relative_to(REPO))
        out = {}
        for m in managers:
            if not any(re.search(f.strip("/"), rel) for f in m["managerFilePatterns"]):
                continue
            for regex in m["matchStrings"]:
                for hit in re.finditer(regex.replace("(?<", "(?P<"), path.read_text()):
                    groups = hit.groupdict()
                    if "currentDigest" in groups:
                        out[groups["depName"]] = (groups["currentDigest"], groups["currentValue"])
        return out

    assert found_in(REPO / "cli" / "ci.py") == ACTIONS
    found = dict(ACTIONS)
    for cloud in registry.CLOUDS:
        door = registry.cloud(cloud)
        pins = found_in(REPO / "components" / cloud / "__init__.py")
        assert pins == {door.ci_login.github_action: door.ci_login.github_action_pin, **door.ci_tools.github_pins}
        found.update(pins)
    assert found == pinned_actions()


def test_every_job_gets_the_programs_its_clouds_kubeconfig_runs(cli, project):
    """`preview`, `up` and `reap` refuse to start without the programs each cloud's kubeconfig runs (TOOLS in
    components/<cloud>/checks.py): GitHub jobs get those its Ubuntu image lacks, GitLab jobs all of them,
    before the login that may use them (gcloud writes GKE's credential file)."""
    from llmcloud.components.aws.checks import TOOLS as AWS_TOOLS
    from llmcloud.components.azure.checks import TOOLS as AZURE_TOOLS
    from llmcloud.components.gcp.checks import TOOLS as GCP_TOOLS

    assert set(GCP_TOOLS) == {"gke-gcloud-auth-plugin"}
    assert set(AWS_TOOLS) == {"aws"} and set(AZURE_TOOLS) == {"kubelogin", "az"}
    stacks = ("--stack", "dev", "--stack", "aws-example", "--stack", "azure-example")
    _, doc = _github(cli, project, *stacks)
    for name, job in doc["jobs"].items():
        uses = [s.get("uses", "").split("@")[0] for s in _steps(job)]
        gcp = name.endswith(("-dev", "-gcp"))
        azure = name.endswith("azure-example") or name == "reap-azure"
        assert ("google-github-actions/setup-gcloud" in uses) == gcp, name
        if gcp:
            step = next(s for s in _steps(job) if s.get("uses", "").startswith("google-github-actions/setup-gcloud@"))
            assert step["with"]["install_components"] == "gke-gcloud-auth-plugin"
            assert uses.index("google-github-actions/setup-gcloud") > uses.index("google-github-actions/auth")
        assert ("azure/use-kubelogin" in uses) == azure, name
        if azure:
            step = next(s for s in _steps(job) if s.get("uses", "").startswith("azure/use-kubelogin@"))
            assert re.fullmatch(r"v\d+\.\d+\.\d+", step["with"]["kubelogin-version"])
    result = cli("ci", "init", "--gitlab", *stacks)
    assert result.exit_code == 0, result.stderr
    gitlab = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    for name in ("preview-dev", "deploy-dev", "reap-gcp"):
        script = gitlab[name]["script"]
        install = next(i for i, line in enumerate(script) if "google-cloud-cli-gke-gcloud-auth-plugin" in line)
        login = next(i for i, line in enumerate(script) if "create-cred-config" in line)
        assert install < login, name
        assert any("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE=" in line for line in script[login:]), name
    for name in ("preview-aws-example", "deploy-aws-example", "reap-aws"):
        assert any(line.endswith("/tmp/aws/install") for line in gitlab[name]["script"]), name
    for name in ("preview-azure-example", "deploy-azure-example", "reap-azure"):
        script = gitlab[name]["script"]
        install = next(i for i, line in enumerate(script) if line.startswith("az aks install-cli --kubelogin-version"))
        login = next(i for i, line in enumerate(script) if line.startswith("az login --service-principal"))
        assert any("pip install -q azure-cli==" in line for line in script[:install]) and install < login, name
        assert "--federated-token" in script[login] and "$AZURE_FEDERATED_TOKEN_FILE" in script[login]


def test_a_backend_on_another_cloud_gets_a_login_not_the_cluster_programs(cli, project):
    """A GKE stack whose state is in Azure Blob logs in to Azure for the state only: no kubelogin or Azure CLI,
    and no `az login` (GitLab), which would fail without the CLI."""
    dev = project / "stacks" / "dev.yaml"
    dev.write_text(dev.read_text() + "\nbackend: azblob://llmcloud-state\n")
    _, doc = _github(cli, project, "--stack", "dev")
    uses = [s.get("uses", "").split("@")[0] for s in _steps(doc["jobs"]["deploy-dev"])]
    assert "azure/login" in uses and "google-github-actions/setup-gcloud" in uses
    assert "azure/use-kubelogin" not in uses
    assert cli("ci", "init", "--gitlab", "--stack", "dev").exit_code == 0
    script = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["deploy-dev"]["script"]
    assert any("AZURE_FEDERATED_TOKEN_FILE=" in line for line in script)  # the backend's login
    assert not any(line.startswith(("az ", "python -m venv /opt/azure-cli")) for line in script)
    assert any("google-cloud-cli-gke-gcloud-auth-plugin" in line for line in script)
