"""The stacks of a backend, read from the state alone: for `llmcloud status` and `llmcloud reap`.

`pulumi stack ls --json` (through the Automation API) gives each stack's last update and resource
count; its outputs give cloud, environment, owner, `expires_at` and `monthly_cost_expected`, which
every deploy records (components/program.py). Destroying needs no stack file: the real engine's
destroy works from the exported state (it never runs the program), so a `StateOnly` stand-in with the
stack's name and backend is enough, and data (buckets) is kept exactly as `llmcloud destroy` keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .engine.real import PROJECT, EngineSettings, settings_for
from .ttl import as_utc, expired, parse_iso


@dataclass(frozen=True)
class StateOnly:
    """What RealEngine needs to select, export and destroy a stack without its stack file."""

    stack_name: str
    environment: str
    backend: str | None
    cloud: str = ""
    buckets: dict[str, Any] = field(default_factory=dict)


@dataclass
class StackInfo:
    name: str
    last_update: datetime | None
    resource_count: int | None
    outputs: dict[str, Any]
    error: str | None = None

    @property
    def cloud(self) -> str:
        return str(self.outputs.get("cloud") or (self.name.rsplit("-", 1)[-1] if "-" in self.name else ""))

    @property
    def environment(self) -> str:
        return str(self.outputs.get("environment") or self.name.rsplit("-", 1)[0])

    @property
    def expires_at(self) -> datetime | None:
        return parse_iso(self.outputs.get("expires_at"))

    def expired(self, now: datetime) -> bool:
        return expired(self.outputs.get("expires_at"), now)

    @property
    def empty(self) -> bool:
        return not self.resource_count

    def age(self, now: datetime) -> float | None:
        """Hours since the last update."""
        return (as_utc(now) - as_utc(self.last_update)).total_seconds() / 3600 if self.last_update else None

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "stack": self.name,
            "cloud": self.cloud,
            "environment": self.environment,
            "owner": self.outputs.get("owner"),
            "last_update": self.last_update.isoformat() if self.last_update else None,
            "age_hours": None if self.age(now) is None else round(self.age(now) or 0.0, 1),
            "resources": self.resource_count,
            "expires_at": self.outputs.get("expires_at"),
            "expired": self.expired(now),
            "monthly_cost_expected": self.outputs.get("monthly_cost_expected"),
            "error": self.error,
        }


def settings(backend: str | None, pulumi: str, passphrase: dict[str, str], home: Path | None = None) -> EngineSettings:
    return settings_for(StateOnly("_backend", "", backend), pulumi, passphrase, home)


def _workspace(s: EngineSettings) -> Any:
    from pulumi import automation as auto

    exe = Path(s.pulumi)
    command = auto.PulumiCommand(root=str(exe.parent.parent)) if exe.parent.name == "bin" else None
    return auto.LocalWorkspace(
        work_dir=str(s.work_dir),
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python", backend=auto.ProjectBackend(s.backend)),
        secrets_provider="passphrase",
        env_vars=s.env,
        pulumi_command=command,
    )


def list_stacks(s: EngineSettings) -> list[StackInfo]:
    """Every llmcloud stack in the backend, with its outputs (a stack whose outputs cannot be read is
    listed with the error, never dropped)."""
    from pulumi import automation as auto

    ws = _workspace(s)
    stacks = []
    for summary in ws.list_stacks():
        name = summary.name.rsplit("/", 1)[-1]  # org/project/stack on cloud backends
        info = StackInfo(
            name, summary.last_update.replace(tzinfo=UTC) if summary.last_update else None, summary.resource_count, {}
        )
        try:
            info.outputs = {k: v.value for k, v in ws.stack_outputs(summary.name).items()}
        except auto.CommandError as exc:
            lines = [ln for ln in str(getattr(exc, "stderr", "") or exc).splitlines() if ln.strip()]
            info.error = lines[-1] if lines else "outputs could not be read"
        stacks.append(info)
    return sorted(stacks, key=lambda x: x.name)
