"""llmcloud ci init: a CI pipeline that previews with cost on pull requests and deploys on merge.

- pull requests: validate + preview of every environment, the cost table in the job summary, the
  budget gate (exit 3 fails the job);
- the main branch: `llmcloud up ENV --yes` per environment, prod behind a manual approval;
- a scheduled job that reaps expired stacks (`llmcloud reap --yes`);
- cloud authentication by OIDC federation (no long-lived keys); Pulumi plugins cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import INVALID, fail, notice

PYTHON = "3.12"

# OIDC login steps, one per cloud; the values are repository/project variables the user sets once.
GITHUB_AUTH = {
    "gcp": {"name": "Authenticate to Google Cloud (OIDC)", "uses": "google-github-actions/auth@v2",
            "with": {"workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
                     "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}"}},
    "aws": {"name": "Authenticate to AWS (OIDC)", "uses": "aws-actions/configure-aws-credentials@v4",
            "with": {"role-to-assume": "${{ vars.AWS_ROLE_ARN }}", "aws-region": "${{ vars.AWS_REGION }}"}},
    "azure": {"name": "Authenticate to Azure (OIDC)", "uses": "azure/login@v2",
              "with": {"client-id": "${{ vars.AZURE_CLIENT_ID }}", "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                       "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}"}},
}


def environments(root: Path) -> dict[str, str]:
    """environment name -> its cloud, for every deployable stack file (base files skipped)."""
    from llmcloud.components.spec import StackErrors, load_stack

    envs: dict[str, str] = {}
    for path in sorted((root / "stacks").glob("*.yaml")):
        if path.stem == "base":
            continue
        try:
            loaded = load_stack(str(path))
        except StackErrors as exc:
            fail(INVALID, f"{path} is not valid, fix it first:\n{exc.render()}")
        envs[path.stem] = loaded.spec.cloud
    if not envs:
        fail(INVALID, f"no stack files in {root / 'stacks'}")
    return envs


def _setup_steps(cloud: str) -> list[dict[str, Any]]:
    return [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": PYTHON, "cache": "pip"}},
        {"name": "Install the Pulumi CLI", "uses": "pulumi/actions@v6"},
        {"name": "Cache Pulumi plugins", "uses": "actions/cache@v4",
         "with": {"path": "~/.pulumi/plugins",
                  "key": "pulumi-plugins-${{ runner.os }}-${{ hashFiles('pyproject.toml') }}"}},
        {"name": "Install llmcloud", "run": f"pip install 'llmcloud[{cloud}]'"},
        GITHUB_AUTH[cloud],
    ]


def github(envs: dict[str, str]) -> dict[str, Any]:
    env_vars = {"LLMCLOUD_PASSPHRASE": "${{ secrets.LLMCLOUD_PASSPHRASE }}", "HF_TOKEN": "${{ secrets.HF_TOKEN }}",
                "LLMCLOUD_BACKEND": "${{ vars.LLMCLOUD_BACKEND }}"}
    jobs: dict[str, Any] = {}
    for env, cloud in envs.items():
        jobs[f"preview-{env}"] = {
            "name": f"preview {env} ({cloud})",
            "if": "github.event_name == 'pull_request'",
            "runs-on": "ubuntu-latest",
            "env": env_vars,
            "steps": [*_setup_steps(cloud),
                      {"name": "Validate", "run": f"llmcloud validate {env}"},
                      {"name": "Cost", "run": f"llmcloud cost {env} --markdown >> \"$GITHUB_STEP_SUMMARY\""},
                      {"name": "Preview (budget gate: exit 3 fails the job)",
                       "run": f"llmcloud preview {env} --json > plan-{env}.json"},
                      {"uses": "actions/upload-artifact@v4", "if": "always()",
                       "with": {"name": f"plan-{env}", "path": f"plan-{env}.json"}}],
        }
        deploy: dict[str, Any] = {
            "name": f"deploy {env} ({cloud})",
            "if": "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            "runs-on": "ubuntu-latest",
            "env": env_vars,
            # A GitHub environment: give `prod` required reviewers for the manual approval.
            "environment": env,
            "concurrency": {"group": f"llmcloud-{env}", "cancel-in-progress": False},
            "steps": [*_setup_steps(cloud), {"name": "Deploy", "run": f"llmcloud up {env} --yes"}],
        }
        if env == "prod" and any(e != "prod" for e in envs):
            deploy["needs"] = [f"deploy-{e}" for e in envs if e != "prod"]
        jobs[f"deploy-{env}"] = deploy
    clouds = sorted(set(envs.values()))
    jobs["reap"] = {
        "name": "reap expired stacks",
        "if": "github.event_name == 'schedule'",
        "runs-on": "ubuntu-latest",
        "env": env_vars,
        "steps": [*_setup_steps(clouds[0]), {"name": "Destroy stacks whose ttl has passed (data kept)",
                                              "run": "llmcloud reap --backend \"$LLMCLOUD_BACKEND\" --yes"}],
    }
    return {
        "name": "llmcloud",
        "on": {"pull_request": {"paths": ["stacks/**"]}, "push": {"branches": ["main"], "paths": ["stacks/**"]},
               "schedule": [{"cron": "17 * * * *"}], "workflow_dispatch": {}},
        # id-token: write lets the job exchange GitHub's OIDC token for short-lived cloud credentials.
        "permissions": {"id-token": "write", "contents": "read"},
        "jobs": jobs,
    }


def gitlab(envs: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "stages": ["validate", "preview", "deploy", "reap"],
        "default": {"image": f"python:{PYTHON}-slim",
                    "cache": {"key": "pulumi-plugins", "paths": [".pulumi/plugins", ".cache/pip"]}},
        "variables": {"PIP_CACHE_DIR": "$CI_PROJECT_DIR/.cache/pip", "PULUMI_HOME": "$CI_PROJECT_DIR/.pulumi"},
    }
    login = {
        "gcp": ['echo "$GCP_OIDC_TOKEN" > .ci-oidc-token',
                'gcloud iam workload-identity-pools create-cred-config "$GCP_WORKLOAD_IDENTITY_PROVIDER" '
                '--service-account="$GCP_SERVICE_ACCOUNT" --credential-source-file=.ci-oidc-token '
                '--output-file=.ci-gcp-creds.json',
                "export GOOGLE_APPLICATION_CREDENTIALS=$PWD/.ci-gcp-creds.json"],
        "aws": ['echo "$AWS_OIDC_TOKEN" > .ci-oidc-token',
                "export AWS_WEB_IDENTITY_TOKEN_FILE=$PWD/.ci-oidc-token AWS_ROLE_ARN=$AWS_ROLE_ARN"],
        "azure": ['echo "$AZURE_OIDC_TOKEN" > .ci-oidc-token',
                  "export AZURE_FEDERATED_TOKEN_FILE=$PWD/.ci-oidc-token ARM_USE_OIDC=true "
                  "ARM_CLIENT_ID=$AZURE_CLIENT_ID ARM_TENANT_ID=$AZURE_TENANT_ID"],
    }
    audience = {"gcp": "https://iam.googleapis.com/$GCP_WORKLOAD_IDENTITY_PROVIDER", "aws": "sts.amazonaws.com",
                "azure": "api://AzureADTokenExchange"}
    token_var = {"gcp": "GCP_OIDC_TOKEN", "aws": "AWS_OIDC_TOKEN", "azure": "AZURE_OIDC_TOKEN"}
    for env, cloud in envs.items():
        setup = ["curl -fsSL https://get.pulumi.com | sh", 'export PATH="$HOME/.pulumi/bin:$PATH"',
                 f"pip install 'llmcloud[{cloud}]'", *login[cloud]]
        oidc = {token_var[cloud]: {"aud": audience[cloud]}}
        doc[f"validate-{env}"] = {"stage": "validate", "script": [f"pip install 'llmcloud[{cloud}]'",
                                                                   f"llmcloud validate {env}"],
                                  "rules": [{"if": "$CI_PIPELINE_SOURCE == 'merge_request_event'"}]}
        doc[f"preview-{env}"] = {"stage": "preview", "id_tokens": oidc,
                                 "script": [*setup, f"llmcloud cost {env}",
                                            f"llmcloud preview {env} --json > plan.json"],
                                 "artifacts": {"paths": ["plan.json"], "when": "always"},
                                 "rules": [{"if": "$CI_PIPELINE_SOURCE == 'merge_request_event'"}]}
        rule: dict[str, Any] = {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == 'push'"}
        if env == "prod":
            rule["when"] = "manual"  # a person approves prod
        doc[f"deploy-{env}"] = {"stage": "deploy", "id_tokens": oidc, "environment": {"name": env},
                                "resource_group": f"llmcloud-{env}", "script": [*setup, f"llmcloud up {env} --yes"],
                                "rules": [rule]}
    cloud = sorted(set(envs.values()))[0]
    doc["reap"] = {"stage": "reap", "id_tokens": {token_var[cloud]: {"aud": audience[cloud]}},
                   "script": ["curl -fsSL https://get.pulumi.com | sh", 'export PATH="$HOME/.pulumi/bin:$PATH"',
                              f"pip install 'llmcloud[{cloud}]'", *login[cloud],
                              'llmcloud reap --backend "$LLMCLOUD_BACKEND" --yes'],
                   "rules": [{"if": "$CI_PIPELINE_SOURCE == 'schedule'"}]}
    return doc


def run(*, github_flag: bool, gitlab_flag: bool, root: Path, force: bool) -> list[Path]:
    import yaml

    if not (github_flag or gitlab_flag):
        github_flag = True
    envs = environments(root)
    written = []
    targets = []
    if github_flag:
        targets.append((root / ".github" / "workflows" / "llmcloud.yml", github(envs)))
    if gitlab_flag:
        targets.append((root / ".gitlab-ci.yml", gitlab(envs)))
    for path, doc in targets:
        if path.exists() and not force:
            fail(INVALID, f"{path} exists; pass --force to overwrite it")
        path.parent.mkdir(parents=True, exist_ok=True)
        header = ("# Written by `llmcloud ci init`. Needs: secrets LLMCLOUD_PASSPHRASE and HF_TOKEN; variables for "
                  "the cloud's OIDC federation (see the llmcloud README, 'CI pipelines').\n")
        path.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=120))
        written.append(path)
        notice(f"wrote {path}")
    return written
