"""Prerequisites of the real engine, checked before anything runs: the secrets passphrase and each
cloud's credentials. Pure functions of the environment and the home directory (no network), so
they are cheap and testable; the cloud still has the final word when the engine runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def expected(cloud: str) -> str:
    """Where `cloud`'s credentials come from, for the message shown when none are found."""
    from .. import registry

    return registry.cloud(cloud).credentials_help


def has_credentials(cloud: str, env: Mapping[str, str] | None = None, home: Path | None = None) -> bool:
    """Whether `cloud`'s credentials are present (its Cloud.has_credentials); LLMCLOUD_SKIP_CREDENTIAL_CHECK=1
    says yes without looking."""
    from .. import registry

    env = os.environ if env is None else env
    home = Path(env.get("HOME", str(Path.home()))) if home is None else home
    if env.get("LLMCLOUD_SKIP_CREDENTIAL_CHECK") == "1":
        return True
    if cloud not in registry.names():
        return False
    return registry.cloud(cloud).has_credentials(env, home)


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


PASSPHRASE_HELP = (
    "no secrets passphrase is set: export LLMCLOUD_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE / "
    "PULUMI_CONFIG_PASSPHRASE_FILE); it encrypts the stack's secrets in the state and must stay "
    "the same for the stack's lifetime"
)


def default_backend(home: Path | None = None) -> str:
    home = Path.home() if home is None else home
    return f"file://{home / '.llmcloud' / 'state'}"
