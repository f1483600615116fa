"""The real engine: the same program through the Pulumi Automation API and the `pulumi` CLI.

Stack name `<environment>-<cloud>`; backend from the stack's `backend:` (default a local file
backend under ~/.llmcloud/state); secrets encrypted with a passphrase. Provider settings come from
the stack file inside the program, so nobody runs `pulumi config set`. Engine events (which arrive
on a worker thread) feed both the progress display and the Plan, so a real preview is priced and
checked by the same code as the offline one.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import registry
from ..spec.load import redact
from .credentials import default_backend
from .plan import Plan, Step, mask_values

PROJECT = "llmcloud"
# Resource types that hold data (every cloud's Cloud.data_resource_types): never destroyed without --delete-data.
DATA_TYPES = registry.data_resource_types()


class EngineError(Exception):
    """An operation of the real engine failed; the message says what to do next."""


class LockedError(EngineError):
    pass


@dataclass(frozen=True)
class EngineSettings:
    pulumi: str  # the CLI executable
    backend: str
    env: dict[str, str]  # passphrase variables and the like, passed to the CLI only
    work_dir: Path


def settings_for(resolved: Any, pulumi: str, passphrase: dict[str, str], home: Path | None = None) -> EngineSettings:
    home = Path.home() if home is None else home
    backend = resolved.backend or default_backend(home)
    if backend.startswith("file://"):
        path = Path(os.path.expanduser(backend.removeprefix("file://")))
        path.mkdir(parents=True, exist_ok=True)
        backend = f"file://{path}"
    work_dir = home / ".llmcloud" / "workspaces" / resolved.stack_name
    work_dir.mkdir(parents=True, exist_ok=True)
    return EngineSettings(pulumi=pulumi, backend=backend, env=dict(passphrase), work_dir=work_dir)


@dataclass
class EventSink:
    """Collects engine events into plan steps and forwards each to `on_event` (progress, JSON lines)."""

    on_event: Callable[[dict[str, Any]], None] | None = None
    steps: list[Step] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)

    def __call__(self, event: Any) -> None:
        record: dict[str, Any] = {"sequence": event.sequence, "timestamp": event.timestamp}
        if event.resource_pre_event:
            meta = event.resource_pre_event.metadata
            state = meta.new or meta.old
            op = str(getattr(meta.op, "value", meta.op))
            if state is not None:
                self.steps.append(
                    Step(
                        op=op,
                        urn=meta.urn,
                        type=meta.type,
                        inputs=mask_values(state.inputs or {}),
                        parent=state.parent or "",
                        custom=bool(state.custom),
                        protect=bool(state.protect),
                        retain_on_delete=bool(state.retain_on_delete),
                        provider=state.provider or "",
                        dependencies=list(getattr(state, "dependencies", None) or []),
                        property_dependencies={
                            k: list(v or []) for k, v in (getattr(state, "property_dependencies", None) or {}).items()
                        },
                    )
                )
            record.update(event="resourcePre", op=op, urn=meta.urn, type=meta.type)
        elif event.res_outputs_event:
            meta = event.res_outputs_event.metadata
            record.update(event="resOutputs", op=str(getattr(meta.op, "value", meta.op)), urn=meta.urn, type=meta.type)
        elif event.res_op_failed_event:
            meta = event.res_op_failed_event.metadata
            record.update(event="resOpFailed", urn=meta.urn, type=meta.type)
        elif event.diagnostic_event:
            diag = event.diagnostic_event
            message = redact(diag.message or "").strip()
            if diag.severity in ("error", "warning"):
                self.diagnostics.append(message)
            record.update(event="diagnostic", severity=diag.severity, urn=diag.urn or "", message=message)
        elif event.summary_event:
            changes = {str(getattr(k, "value", k)): v for k, v in (event.summary_event.resource_changes or {}).items()}
            self.summary = changes
            record.update(event="summary", changes=changes, seconds=event.summary_event.duration_seconds)
        else:
            return
        if self.on_event:
            self.on_event(record)


class RealEngine:
    def __init__(
        self, resolved: Any, settings: EngineSettings, on_event: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.resolved = resolved
        self.settings = settings
        self.on_event = on_event

    # ---- the workspace

    def _stack(self, resolved: Any | None = None) -> Any:
        from pulumi import automation as auto

        from ..program import build

        target = resolved or self.resolved
        exe = Path(self.settings.pulumi)
        command = auto.PulumiCommand(root=str(exe.parent.parent)) if exe.parent.name == "bin" else None
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.settings.work_dir),
            project_settings=auto.ProjectSettings(
                name=PROJECT, runtime="python", backend=auto.ProjectBackend(self.settings.backend)
            ),
            secrets_provider="passphrase",
            env_vars=self.settings.env,
            pulumi_command=command,
        )

        def program() -> None:
            build(target)  # declares the resources and exports the stack outputs

        try:
            return auto.create_or_select_stack(
                stack_name=target.stack_name, project_name=PROJECT, program=program, opts=opts
            )
        except auto.CommandError as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> EngineError:
        from pulumi import automation as auto

        text = redact(str(getattr(exc, "stderr", "") or exc))
        name = self.resolved.stack_name
        env = self.resolved.environment
        if isinstance(exc, auto.ConcurrentUpdateError) or "currently locked" in text:
            return LockedError(
                f"stack {name} is locked by another update. If none is running (a crashed or "
                f"interrupted run), release the lock with `llmcloud cancel {env}`"
            )
        if "pending operation" in text or "interrupted while" in text:
            return EngineError(
                f"stack {name} has pending operations from an interrupted update: run "
                f"`llmcloud refresh {env}` to reconcile the state with the cloud, then retry"
            )
        if "passphrase" in text.lower():
            return EngineError(
                f"the secrets passphrase does not open stack {name}: use the passphrase the "
                "stack was created with (LLMCLOUD_PASSPHRASE)"
            )
        tail = [ln for ln in text.splitlines() if ln.strip()][-6:]
        return EngineError(f"pulumi failed for stack {name}:\n" + "\n".join(tail))

    def _run(self, fn: Callable[[EventSink], Any]) -> tuple[Any, EventSink]:
        from pulumi import automation as auto

        sink = EventSink(self.on_event)
        try:
            return fn(sink), sink
        except auto.CommandError as exc:
            raise self._explain(exc) from None

    # ---- operations

    def preview(self, *, expect_no_changes: bool = False) -> Plan:
        stack = self._stack()
        _, sink = self._run(lambda s: stack.preview(on_event=s, expect_no_changes=expect_no_changes or None))
        r = self.resolved
        plan = Plan(
            stack=r.stack_name,
            environment=r.environment,
            cloud=r.cloud,
            engine="pulumi",
            steps=list(sink.steps),
            has_dependencies=False,
        )
        plan.notices.extend(sink.diagnostics)
        return plan

    def up(self) -> dict[str, Any]:
        stack = self._stack()
        result, _ = self._run(lambda s: stack.up(on_event=s))
        return {"summary": _summary(result), "outputs": _outputs(result.outputs, show_secrets=False)}

    def refresh(self) -> dict[str, Any]:
        stack = self._stack()
        result, _ = self._run(lambda s: stack.refresh(on_event=s))
        return {"summary": _summary(result)}

    def cancel(self) -> None:
        stack = self._stack()
        self._run(lambda s: stack.cancel())

    def outputs(self, *, show_secrets: bool = False) -> dict[str, Any]:
        stack = self._stack()
        result, _ = self._run(lambda s: stack.outputs())
        return _outputs(result, show_secrets=show_secrets)

    def state_resources(self) -> list[dict[str, Any]]:
        stack = self._stack()
        deployment, _ = self._run(lambda s: stack.export_stack())
        return list((deployment.deployment or {}).get("resources", []))

    def destroy(self, *, delete_data: bool, resources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Tear down. Without delete_data the buckets (and what they need: their component parents,
        their provider) stay in the cloud and in the state, so the next `up` finds its weights.
        `resources`: the exported state, when the caller has it already."""
        resources = self.state_resources() if resources is None else resources
        stack = self._stack()
        if delete_data:
            # First lift protect/retain through the program itself, then destroy everything.
            buckets = {
                k: dataclasses.replace(b, protect=False, force_destroy=True) for k, b in self.resolved.buckets.items()
            }
            unprotected = dataclasses.replace(self.resolved, buckets=buckets)
            urns = [r["urn"] for r in resources if r.get("type") in DATA_TYPES]
            if urns:
                stack = self._stack(unprotected)
                self._run(lambda s: stack.up(on_event=s, target=urns, target_dependents=False))
            result, _ = self._run(lambda s: stack.destroy(on_event=s))
            return {"summary": _summary(result), "kept": []}
        keep = kept_urns(resources)
        targets = [r["urn"] for r in resources if r["urn"] not in keep and r.get("type") != "pulumi:pulumi:Stack"]
        if not targets:
            return {"summary": {}, "kept": sorted(u for u in keep if _type_of(u) in DATA_TYPES)}
        result, _ = self._run(lambda s: stack.destroy(on_event=s, target=targets))
        return {"summary": _summary(result), "kept": sorted(u for u in keep if _type_of(u) in DATA_TYPES)}


def _type_of(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1] if urn.count("::") >= 3 else ""


def kept_urns(resources: list[dict[str, Any]]) -> set[str]:
    """Data resources plus everything they need to stay managed: ancestors and providers."""
    by_urn = {r["urn"]: r for r in resources}
    keep: set[str] = set()
    todo = [r["urn"] for r in resources if r.get("type") in DATA_TYPES]
    while todo:
        urn = todo.pop()
        if urn in keep or urn not in by_urn:
            continue
        keep.add(urn)
        res = by_urn[urn]
        if res.get("parent"):
            todo.append(res["parent"])
        provider = res.get("provider", "")
        if provider:
            todo.append(re.sub(r"::[^:]*$", "", provider) if provider.count("::") > 3 else provider)
    return keep


def _summary(result: Any) -> dict[str, int]:
    changes = getattr(getattr(result, "summary", None), "resource_changes", None) or {}
    return {str(getattr(k, "value", k)): v for k, v in changes.items()}


def _outputs(outputs: Any, *, show_secrets: bool) -> dict[str, Any]:
    return {k: (v.value if (show_secrets or not v.secret) else "[secret]") for k, v in (outputs or {}).items()}
