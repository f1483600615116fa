"""llmcloud ci init: CI pipelines that preview with cost on pull requests and deploy on merge.

What the pipelines do (README, "CI pipelines"):
- pull requests: validate + preview of each chosen stack, the cost table in the job summary, the
  budget and policy gates (exit 3 fails the job), the plan (secrets masked) as an artifact;
- the main branch: `llmcloud up ENV --yes` per chosen stack, each behind its own deployment environment
  (add required reviewers to `prod`), one deploy at a time per stack, no deploy waiting on another's;
- a schedule: one reaper job per cloud, logged in to that cloud, that destroys expired stacks of that
  cloud (data kept) and lists them in the job summary;
- llmcloud installed from the repository the pipeline runs in (never by name from a package index),
  with the repository's constraints file when it has one;
- cloud authentication by OIDC federation only, granted per job; every action pinned to a commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import INVALID, fail, notice

PYTHON = "3.12"
# GitLab's image, pinned to a full version (docker-library/python versions.json, read 2026-12-01). Not the
# slim variant: its Dockerfile installs only ca-certificates, netbase and tzdata, and Pulumi's installer and
# the cloud tools' installers need curl, gpg and unzip, which the full image has (buildpack-deps:trixie).
GITLAB_IMAGE = "python:3.12.13-trixie"
# The Pulumi CLI the pipelines install: the version of the Pulumi SDK this project is tested with.
PULUMI_VERSION = "3.272.0"
# Files that, when present in the repository, pin every transitive dependency of the install.
CONSTRAINT_FILES = ("constraints.txt",)

# The actions every workflow uses (each cloud's login action is pinned in its Cloud object: CI_LOGIN_ACTION),
# pinned to the commit its release tag points at. Read from each
# action's repository at the tag (git rev-parse TAG^{commit}) on ACTIONS_CHECKED; renovate.json
# (github-actions manager) proposes updates and keeps the version comments current.
ACTIONS_CHECKED = "2026-12-01"
ACTIONS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}


def pinned_actions() -> dict[str, tuple[str, str]]:
    """Every action a workflow may use -> (commit, tag): the workflow's own (ACTIONS) and each registered
    cloud's login and tool actions (its Cloud object's ci_login and ci_tools)."""
    from llmcloud.components import registry

    doors = [registry.cloud(c) for c in registry.CLOUDS]
    return {
        **ACTIONS,
        **{door.ci_login.github_action: door.ci_login.github_action_pin for door in doors},
        **{action: pin for door in doors for action, pin in door.ci_tools.github_pins.items()},
    }


def _login(cloud: str):  # -> CiLogin: each cloud's OIDC login facts (components/<cloud>/__init__.py)
    from llmcloud.components import registry

    return registry.cloud(cloud).ci_login


def _tools(cloud: str):  # -> CiTools: how a job gets the programs the cloud's kubeconfig runs
    from llmcloud.components import registry

    return registry.cloud(cloud).ci_tools


def _backend_cloud(scheme: str) -> str | None:
    """A team backend's URL scheme -> the cloud whose login reads and writes it."""
    from llmcloud.components import registry

    return next((c for c in registry.CLOUDS if registry.cloud(c).ci_login.backend_scheme == scheme), None)


@dataclass(frozen=True)
class CiStack:
    name: str  # the stack file's stem: what `llmcloud up NAME` takes
    environment: str  # the spec's environment (prod gets the strictest treatment)
    cloud: str
    backend_cloud: str | None  # the cloud holding the state backend, when it is a bucket


def stacks(root: Path, names: list[str] | None) -> list[CiStack]:
    """The stacks to write jobs for: those named, or by default every non-prod environment in stacks/."""
    from llmcloud.components.spec import StackErrors, load_stack

    files = {p.stem: p for p in sorted((root / "stacks").glob("*.yaml")) if p.stem != "base"}
    if not files:
        fail(INVALID, f"no stack files in {root / 'stacks'}")
    unknown = [n for n in names or [] if n not in files]
    if unknown:
        fail(INVALID, f"no stack file stacks/{unknown[0]}.yaml; the stacks are: {', '.join(files)}")
    chosen: list[CiStack] = []
    for name in names or list(files):
        try:
            spec = load_stack(str(files[name])).spec
        except StackErrors as exc:
            fail(INVALID, f"{files[name]} is not valid, fix it first:\n{exc.render()}")
        if names is None and spec.environment == "prod":
            continue  # prod only when named: a first pipeline never deploys production by surprise
        scheme = (spec.backend or "").split("://", 1)[0]
        chosen.append(CiStack(name, spec.environment, spec.cloud, _backend_cloud(scheme) if scheme else None))
    if not chosen:
        fail(INVALID, "every stack in stacks/ is a prod environment; name the ones to deploy with --stack")
    return chosen


def _uses(action: str) -> str:
    sha, _tag = pinned_actions()[action]
    return f"{action}@{sha}"


def _install_command(root: Path, cloud: str) -> str:
    constraints = next((f for f in CONSTRAINT_FILES if (root / f).is_file()), None)
    pin = f" -c {constraints}" if constraints else ""
    return f"python -m pip install{pin} '.[{cloud}]'"


def _logins(s: CiStack) -> list[str]:
    """Clouds a job must log in to: the stack's, and the backend's when that is another cloud."""
    return [s.cloud] + ([s.backend_cloud] if s.backend_cloud and s.backend_cloud != s.cloud else [])


def _github_setup(root: Path, clouds: list[str]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [
        # persist-credentials: false: the repository token is not left in .git/config for later steps
        # (or an uploaded artifact) to read.
        {"uses": _uses("actions/checkout"), "with": {"persist-credentials": False}},
        {"uses": _uses("actions/setup-python"), "with": {"python-version": PYTHON}},
        {"name": "Install the Pulumi CLI", "uses": _uses("pulumi/actions"), "with": {"pulumi-version": PULUMI_VERSION}},
        {
            "name": "Cache Pulumi plugins",
            "uses": _uses("actions/cache"),
            "with": {
                "path": "~/.pulumi/plugins",
                "key": "pulumi-plugins-${{ runner.os }}-${{ hashFiles('pyproject.toml') }}",
            },
        },
        {"name": "Install llmcloud from this repository", "run": _install_command(root, clouds[0])},
    ]
    for cloud in clouds:
        login = _login(cloud)
        steps.append({"name": login.github_step, "uses": _uses(login.github_action), "with": dict(login.github_with)})
    # The cluster's cloud (the first) needs the programs its kubeconfig runs; a backend's cloud only a login.
    for tool_step in _tools(clouds[0]).github_steps:
        step: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in tool_step.items()}
        if "uses" in step:
            step["uses"] = _uses(str(step["uses"]))
        steps.append(step)
    return steps


# Job-level permissions: the OIDC token only where a job logs in to a cloud.
LOGIN_PERMISSIONS = {"contents": "read", "id-token": "write"}


def github(root: Path, chosen: list[CiStack]) -> dict[str, Any]:
    jobs: dict[str, Any] = {}
    for s in chosen:
        env_vars = {
            "LLMCLOUD_PASSPHRASE": "${{ secrets.LLMCLOUD_PASSPHRASE }}",
            "HF_TOKEN": "${{ secrets.HF_TOKEN }}",
            "LLMCLOUD_BACKEND": "${{ vars.LLMCLOUD_BACKEND }}",
        }
        jobs[f"preview-{s.name}"] = {
            "name": f"preview {s.name} ({s.cloud})",
            "if": "github.event_name == 'pull_request'",
            "runs-on": "ubuntu-latest",
            "permissions": dict(LOGIN_PERMISSIONS),
            # The preview reads the stack's state with the same secrets as its deploy: the same environment.
            "environment": s.name,
            "concurrency": {"group": f"llmcloud-preview-{s.name}-${{{{ github.ref }}}}", "cancel-in-progress": True},
            "env": env_vars,
            "steps": [
                *_github_setup(root, _logins(s)),
                {"name": "Validate", "run": f"llmcloud validate {s.name}"},
                {"name": "Cost", "run": f'llmcloud cost {s.name} --markdown >> "$GITHUB_STEP_SUMMARY"'},
                {
                    "name": "Preview (budget and policy gates: exit 3 fails the job)",
                    "run": f"llmcloud preview {s.name} --json > plan-{s.name}.json",
                },
                # The plan masks secrets ("[secret]"); nothing else from the workspace is uploaded.
                {
                    "uses": _uses("actions/upload-artifact"),
                    "if": "always()",
                    "with": {"name": f"plan-{s.name}", "path": f"plan-{s.name}.json", "retention-days": 14},
                },
            ],
        }
        jobs[f"deploy-{s.name}"] = {
            "name": f"deploy {s.name} ({s.cloud})",
            "if": "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            "runs-on": "ubuntu-latest",
            "permissions": dict(LOGIN_PERMISSIONS),
            # One deployment environment per stack: give `prod` required reviewers (README, "CI pipelines").
            "environment": s.name,
            "concurrency": {"group": f"llmcloud-{s.name}", "cancel-in-progress": False},
            "env": env_vars,
            "steps": [*_github_setup(root, _logins(s)), {"name": "Deploy", "run": f"llmcloud up {s.name} --yes"}],
        }
    for cloud in sorted({s.cloud for s in chosen}):
        backend_clouds = sorted({s.backend_cloud for s in chosen if s.cloud == cloud and s.backend_cloud} - {cloud})
        jobs[f"reap-{cloud}"] = {
            "name": f"reap expired {cloud} stacks",
            "if": "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'",
            "runs-on": "ubuntu-latest",
            "permissions": dict(LOGIN_PERMISSIONS),
            "environment": f"reap-{cloud}",
            "concurrency": {"group": f"llmcloud-reap-{cloud}", "cancel-in-progress": False},
            "env": {
                "LLMCLOUD_PASSPHRASE": "${{ secrets.LLMCLOUD_PASSPHRASE }}",
                "LLMCLOUD_BACKEND": "${{ vars.LLMCLOUD_BACKEND }}",
            },
            "steps": [
                *_github_setup(root, [cloud, *backend_clouds]),
                {
                    "name": f"Destroy expired {cloud} stacks (data kept), listed in the summary",
                    "run": f'llmcloud reap --cloud {cloud} --backend "$LLMCLOUD_BACKEND" --yes --markdown'
                    ' >> "$GITHUB_STEP_SUMMARY"',
                },
            ],
        }
    paths = ["stacks/**", "components/**", "cli/**", "pyproject.toml", *CONSTRAINT_FILES]
    return {
        "name": "llmcloud",
        "on": {
            "pull_request": {"paths": paths},
            "push": {"branches": ["main"], "paths": paths},
            "schedule": [{"cron": "17 * * * *"}],
            "workflow_dispatch": {},
        },
        # Nothing by default; each job asks for what it needs (id-token only where it logs in).
        "permissions": {},
        "jobs": jobs,
    }


def gitlab(root: Path, chosen: list[CiStack]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "stages": ["validate", "preview", "deploy", "reap"],
        "default": {
            "image": GITLAB_IMAGE,
            "cache": {"key": "pulumi-plugins", "paths": [".pulumi/plugins", ".cache/pip"]},
        },
        "variables": {"PIP_CACHE_DIR": "$CI_PROJECT_DIR/.cache/pip", "PULUMI_HOME": "$CI_PROJECT_DIR/.pulumi"},
    }

    def setup(clouds: list[str]) -> list[str]:
        # The Pulumi CLI at a fixed version, from Pulumi's installer (no package index carries it).
        lines = [
            f"curl -fsSL https://get.pulumi.com | sh -s -- --version {PULUMI_VERSION}",
            'export PATH="$HOME/.pulumi/bin:$PATH"',
            _install_command(root, clouds[0]),
        ]
        # The cluster's cloud (the first) gets the programs its kubeconfig runs, before its login, which may use
        # them (gcloud, az); a backend's cloud only a login.
        lines.extend(_tools(clouds[0]).gitlab_script)
        for cloud in clouds:
            lines.extend(_login(cloud).gitlab_script)
        lines.extend(_tools(clouds[0]).gitlab_after_login)
        return lines

    def tokens(clouds: list[str]) -> dict[str, Any]:  # GitLab's OIDC token per job, with each cloud's audience
        return {_login(c).gitlab_token_var: {"aud": _login(c).gitlab_audience} for c in clouds}

    mr = {"if": "$CI_PIPELINE_SOURCE == 'merge_request_event'"}
    for s in chosen:
        logins = _logins(s)
        doc[f"validate-{s.name}"] = {
            "stage": "validate",
            "script": [_install_command(root, s.cloud), f"llmcloud validate {s.name}"],
            "rules": [mr],
        }
        doc[f"preview-{s.name}"] = {
            "stage": "preview",
            "id_tokens": tokens(logins),
            "script": [
                *setup(logins),
                f"llmcloud cost {s.name}",
                f"llmcloud preview {s.name} --json > plan-{s.name}.json",
            ],
            "artifacts": {"paths": [f"plan-{s.name}.json"], "when": "always", "expire_in": "14 days"},
            "rules": [mr],
        }
        rule: dict[str, Any] = {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == 'push'"}
        if s.environment == "prod":
            rule.update(when="manual", allow_failure=False)  # a person starts prod; the pipeline waits for it
        # environment: protect it (Settings > CI/CD > Protected environments) so only approvers deploy it.
        doc[f"deploy-{s.name}"] = {
            "stage": "deploy",
            "id_tokens": tokens(logins),
            "environment": {"name": s.name},
            "resource_group": f"llmcloud-{s.name}",
            "needs": [],
            "script": [*setup(logins), f"llmcloud up {s.name} --yes"],
            "rules": [rule],
        }
    for cloud in sorted({s.cloud for s in chosen}):
        backend_clouds = sorted({s.backend_cloud for s in chosen if s.cloud == cloud and s.backend_cloud} - {cloud})
        clouds = [cloud, *backend_clouds]
        doc[f"reap-{cloud}"] = {
            "stage": "reap",
            "id_tokens": tokens(clouds),
            "resource_group": f"llmcloud-reap-{cloud}",
            "needs": [],
            "script": [*setup(clouds), f'llmcloud reap --cloud {cloud} --backend "$LLMCLOUD_BACKEND" --yes'],
            "rules": [{"if": "$CI_PIPELINE_SOURCE == 'schedule'"}],
        }
    return doc


_USES_LINE = re.compile(r"^(\s*(?:- )?uses: )([\w.-]+/[\w.-]+)@([0-9a-f]{40})$", re.M)


_PERMISSION_WHY = {
    "contents: read": "check out the repository",
    "id-token: write": "OIDC: exchanged for short-lived cloud credentials, no stored keys",
}


def _annotate(text: str) -> str:
    """`uses: owner/action@<sha>` gets `# vX.Y.Z` (the tag a reviewer and Renovate read); each job
    permission gets the reason it is granted."""
    tags = {sha: tag for sha, tag in pinned_actions().values()}
    text = _USES_LINE.sub(lambda m: f"{m.group(0)} # {tags[m.group(3)]}", text)
    for grant, why in _PERMISSION_WHY.items():
        text = re.sub(rf"^(\s+{re.escape(grant)})$", rf"\1 # {why}", text, flags=re.M)
    return text


def _dump(doc: dict[str, Any]) -> str:
    import yaml

    class NoAliases(yaml.SafeDumper):  # anchors/aliases hide what a job really runs from readers and audits
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(doc, Dumper=NoAliases, sort_keys=False, width=120)


def run(
    *, github_flag: bool, gitlab_flag: bool, root: Path, force: bool, stack_names: list[str] | None = None
) -> list[Path]:
    if not (github_flag or gitlab_flag):
        github_flag = True
    chosen = stacks(root, stack_names or None)
    targets = []
    if github_flag:
        text = _annotate(_dump(github(root, chosen)))
        targets.append((root / ".github" / "workflows" / "llmcloud.yml", text))
    if gitlab_flag:
        targets.append((root / ".gitlab-ci.yml", _dump(gitlab(root, chosen))))
    for path, _ in targets:  # refuse before writing anything
        if path.exists() and not force:
            fail(INVALID, f"{path} exists; pass --force to overwrite it")
    written = []
    for path, text in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (
            "# Written by `llmcloud ci init` for: " + ", ".join(s.name for s in chosen) + ".\n"
            "# Needs: secrets LLMCLOUD_PASSPHRASE and HF_TOKEN; variables for each cloud's OIDC federation;\n"
            "# a deployment environment per stack, with required reviewers on prod (README, 'CI pipelines').\n"
        )
        path.write_text(header + text)
        written.append(path)
        notice(f"wrote {path}")
    return written
