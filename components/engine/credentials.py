"""Prerequisites of the real engine, checked before anything runs: the secrets passphrase and each
cloud's credentials. Pure functions of the environment and the home directory (no network), so
they are cheap and testable; the cloud still has the final word when the engine runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

EXPECTED = {
    "gcp": "Google application-default credentials: `gcloud auth application-default login`, "
           "GOOGLE_APPLICATION_CREDENTIALS (a workload identity federation config in CI), or "
           "GOOGLE_OAUTH_ACCESS_TOKEN",
    "aws": "AWS credentials: AWS_PROFILE or ~/.aws/config (`aws sso login`), a role via "
           "AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (OIDC in CI), or a container/instance role",
    "azure": "Azure credentials: `az login`, or ARM_CLIENT_ID + ARM_TENANT_ID with ARM_USE_OIDC=true / "
             "AZURE_FEDERATED_TOKEN_FILE (OIDC in CI), or ARM_USE_MSI=true (managed identity)",
}


def _any(env: Mapping[str, str], *names: str) -> bool:
    return any(env.get(n) for n in names)


def has_credentials(cloud: str, env: Mapping[str, str] | None = None, home: Path | None = None) -> bool:
    env = os.environ if env is None else env
    home = Path(env.get("HOME", str(Path.home()))) if home is None else home
    if env.get("LLMCLOUD_SKIP_CREDENTIAL_CHECK") == "1":
        return True
    if cloud == "gcp":
        adc = Path(env.get("CLOUDSDK_CONFIG", home / ".config" / "gcloud")) / "application_default_credentials.json"
        return _any(env, "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN",
                    "CLOUDSDK_AUTH_ACCESS_TOKEN", "GCE_METADATA_HOST") or adc.is_file()
    if cloud == "aws":
        return (_any(env, "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
                or (home / ".aws" / "credentials").is_file() or (home / ".aws" / "config").is_file())
    if cloud == "azure":
        return (_any(env, "ARM_USE_OIDC", "AZURE_FEDERATED_TOKEN_FILE", "ARM_USE_MSI", "ARM_CLIENT_SECRET",
                     "ARM_CLIENT_CERTIFICATE_PATH")
                or (home / ".azure" / "azureProfile.json").is_file())
    return False


def passphrase_env(env: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The environment that gives the Pulumi CLI the state passphrase, or None when none is set.
    LLMCLOUD_PASSPHRASE wins; PULUMI_CONFIG_PASSPHRASE(_FILE) are passed through."""
    env = os.environ if env is None else env
    if env.get("LLMCLOUD_PASSPHRASE"):
        return {"PULUMI_CONFIG_PASSPHRASE": env["LLMCLOUD_PASSPHRASE"]}
    if env.get("PULUMI_CONFIG_PASSPHRASE") is not None and "PULUMI_CONFIG_PASSPHRASE" in env:
        return {"PULUMI_CONFIG_PASSPHRASE": env["PULUMI_CONFIG_PASSPHRASE"]}
    if env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {"PULUMI_CONFIG_PASSPHRASE_FILE": env["PULUMI_CONFIG_PASSPHRASE_FILE"]}
    return None


PASSPHRASE_HELP = ("no secrets passphrase is set: export LLMCLOUD_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE / "
                   "PULUMI_CONFIG_PASSPHRASE_FILE); it encrypts the stack's secrets in the state and must stay "
                   "the same for the stack's lifetime")


def default_backend(home: Path | None = None) -> str:
    home = Path.home() if home is None else home
    return f"file://{home / '.llmcloud' / 'state'}"
