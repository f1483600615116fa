"""llmcloud up / destroy: the real engine (Pulumi Automation API + the pulumi CLI)."""

from __future__ import annotations

from .common import MISSING, PULUMI_INSTALL, fail, load, pulumi_cli, require_sdk


def _require_pulumi() -> str:
    exe = pulumi_cli()
    if exe is None:
        fail(MISSING, f"the pulumi CLI is needed to deploy and was not found: {PULUMI_INSTALL}")
    return exe


def up(stack: str, cloud: str | None, *, yes: bool) -> None:
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    _require_pulumi()
    fail(MISSING, "deploying with the real engine is not available in this version")


def destroy(stack: str, cloud: str | None, *, yes: bool, delete_data: bool) -> None:
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    _require_pulumi()
    fail(MISSING, "destroying with the real engine is not available in this version")
