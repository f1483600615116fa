"""The llmcloud policy rules as a Pulumi policy pack (pulumi-policy, optional extra `policy`).

Each rule of components/policy becomes one stack validation policy with the same id and enforcement
(mandatory -> mandatory, advisory -> advisory), evaluated over the resources the engine is about to
create, so a deploy outside llmcloud (`pulumi up --policy-pack`) is held to the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ...engine.plan import Step
from .. import MANDATORY, RULES, Context, Rule, evaluate_steps


def environment_of(urn: str) -> str:
    """`urn:pulumi:<environment>-<cloud>::llmcloud::...` -> environment."""
    stack = urn.split("::", 1)[0].removeprefix("urn:pulumi:")
    return stack.rsplit("-", 1)[0] if "-" in stack else stack


def to_steps(resources: Iterable[Any]) -> list[Step]:
    """pulumi_policy PolicyResource objects -> plan steps (props are the provider's camelCase inputs)."""
    steps = []
    for res in resources:
        opts = getattr(res, "opts", None)
        parent = getattr(res, "parent", None)
        steps.append(
            Step(
                op="create",
                urn=res.urn,
                type=res.resource_type,
                inputs=dict(res.props or {}),
                parent=parent.urn if parent is not None else "",
                custom=True,
                protect=bool(getattr(opts, "protect", False)),
                # the policy SDK does not expose retainOnDelete: protect is what it can check
                retain_on_delete=bool(getattr(opts, "protect", False)),
            )
        )
    return steps


def validator(rule: Rule, config: Callable[[Any], dict[str, Any]] | None = None) -> Callable[[Any, Any], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        steps = to_steps(args.resources)
        env = environment_of(steps[0].urn) if steps else "dev"
        settings = config(args) if config else {}
        ctx = Context(
            environment=env,
            gateway_auth=settings.get("gateway_auth", "api_key"),
            private_nodes=settings.get("private_nodes", True),
        )
        for v in evaluate_steps(steps, ctx):
            if v.rule == rule.id:
                report_violation(f"{v.resource}: {v.message}; fix: {v.fix}", None)

    return validate


def policies() -> list[Any]:
    """One stack validation policy per llmcloud rule."""
    from pulumi_policy import EnforcementLevel, StackValidationPolicy

    def config(args: Any) -> dict[str, Any]:
        try:
            return dict(args.get_config() or {})
        except Exception:  # no config schema declared: defaults
            return {}

    return [
        StackValidationPolicy(
            name=r.id.lower(),
            description=f"{r.title}. Fix: {r.fix}",
            enforcement_level=EnforcementLevel.MANDATORY if r.severity == MANDATORY else EnforcementLevel.ADVISORY,
            validate=validator(r, config),
        )
        for r in RULES
    ]


def pack() -> Any:
    """Serve the pack to the engine (PolicyPack starts the analyzer server and blocks: entry point only)."""
    from pulumi_policy import PolicyPack

    return PolicyPack(name="llmcloud", policies=policies())
