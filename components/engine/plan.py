"""The plan: one format for both engines, shaped like `pulumi preview --json` (contract 3)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

COMPUTED = "<computed>"
SECRET = "[secret]"


@dataclass
class Step:
    op: str
    urn: str
    type: str
    inputs: dict[str, Any]
    parent: str = ""
    custom: bool = True
    protect: bool = False
    retain_on_delete: bool = False
    provider: str = ""
    # What the engine orders by, as `pulumi preview --json` writes it (apitype.ResourceV3 in pulumi/pulumi:
    # `dependencies` is a list of URNs, `propertyDependencies` maps an input name to the URNs it came from).
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        state = {
            "type": self.type,
            "custom": self.custom,
            "parent": self.parent,
            "inputs": self.inputs,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
        }
        if self.provider:
            state["provider"] = self.provider
        if self.dependencies:  # omitempty, as in the engine's JSON
            state["dependencies"] = list(self.dependencies)
        if self.property_dependencies:
            state["propertyDependencies"] = {k: list(v) for k, v in self.property_dependencies.items()}
        return {"op": self.op, "urn": self.urn, "newState": state}


@dataclass
class Plan:
    stack: str
    environment: str
    cloud: str
    engine: str  # offline | pulumi
    steps: list[Step] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    cost: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    rehearsal: list[dict[str, Any]] | None = None  # findings of components/rehearsal, once rehearsed
    # The offline engine and `pulumi preview --json` record each step's dependencies; the Automation API's
    # engine events do not, so a plan made from them cannot show the order.
    has_dependencies: bool = True

    def change_summary(self) -> dict[str, int]:
        return dict(Counter(s.op for s in self.steps))

    def resources(self, type_prefix: str = "") -> list[Step]:
        """Custom resources (not components, not providers), optionally of types starting with a prefix."""
        return [
            s for s in self.steps if s.custom and not s.type.startswith("pulumi:") and s.type.startswith(type_prefix)
        ]

    def by_type(self, type_: str) -> list[Step]:
        return [s for s in self.steps if s.type == type_]

    def step(self, urn: str) -> Step | None:
        return next((s for s in self.steps if s.urn == urn), None)

    def depends_on(self, step: Step, target: str) -> bool:
        """Does `step` wait for `target` (a URN), directly or through a dependency's dependencies? Its provider
        counts (the engine creates a resource's provider first); a parent component's dependencies do not
        (the engine does not pass them on to its children)."""
        by_urn = {s.urn: s for s in self.steps}
        seen: set[str] = set()
        todo = [step.urn]
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            current = by_urn.get(urn)
            if current is None:
                continue
            deps = [
                *current.dependencies,
                *(u for urns in current.property_dependencies.values() for u in urns),
                *([current.provider] if current.provider else []),
            ]
            if target in deps:
                return True
            todo.extend(deps)
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "environment": self.environment,
            "cloud": self.cloud,
            "engine": self.engine,
            "steps": [s.to_json() for s in self.steps],
            "changeSummary": self.change_summary(),
            "outputs": self.outputs,
            "notices": self.notices,
            "cost": self.cost,
            "policy": self.policy,
            **({"rehearsal": self.rehearsal} if self.rehearsal is not None else {}),
        }

    @classmethod
    def from_preview_json(cls, data: dict[str, Any], *, stack: str, environment: str, cloud: str) -> Plan:
        """Read `pulumi preview --json` output (the real engine) into the same Plan."""
        steps = []
        for raw in data.get("steps", []):
            state = raw.get("newState") or raw.get("oldState") or {}
            steps.append(
                Step(
                    op=raw.get("op", "same"),
                    urn=raw.get("urn", state.get("urn", "")),
                    type=state.get("type", ""),
                    inputs=mask_values(state.get("inputs", {})),
                    parent=state.get("parent", ""),
                    custom=state.get("custom", True),
                    protect=state.get("protect", False),
                    retain_on_delete=state.get("retainOnDelete", False),
                    provider=state.get("provider", ""),
                    dependencies=list(state.get("dependencies") or []),
                    property_dependencies={
                        k: list(v or []) for k, v in (state.get("propertyDependencies") or {}).items()
                    },
                )
            )
        has_deps = any("dependencies" in (raw.get("newState") or {}) for raw in data.get("steps", []))
        return cls(
            stack=stack,
            environment=environment,
            cloud=cloud,
            engine="pulumi",
            steps=steps,
            has_dependencies=has_deps or not steps,
        )


def mask_values(value: Any) -> Any:
    """The CLI's JSON marks secrets as {"4dabf...": "1b47...", ...}; show them as [secret]."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return SECRET
        return {k: mask_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_values(v) for v in value]
    if value == "04da6b54-80e4-46f7-96ec-b56ff0331ba9":
        return COMPUTED
    return value
