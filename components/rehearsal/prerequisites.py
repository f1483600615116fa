"""Prerequisites: the services/APIs the plan needs on the account, and whether the plan itself enables them.

The cloud's facts list each one with why the plan needs it and whether the plan enables it: True (a
resource in the plan does), False (nothing does: a fresh account fails), None (the plan cannot say; only
the account can, which `llmcloud preflight` asks online).
"""

from __future__ import annotations

from . import ADVISORY, GATE, Context, Finding

CREATING = ("create", "create-replacement", "replace")


def check(ctx: Context) -> list[Finding]:
    if not any(s.custom and s.op in CREATING for s in ctx.plan.steps):
        return []  # nothing new: what the deployed resources need is there already
    findings = []
    for need in ctx.facts.required_services(ctx.plan, ctx.resolved):
        if need["enabled"] is False:
            findings.append(
                Finding(
                    "prerequisites",
                    GATE,
                    need["name"],
                    f"needed by {need['why']} and not enabled by the plan: on a fresh account the "
                    "first resource that uses it fails",
                    need.get("how", ""),
                )
            )
        elif need["enabled"] is None:
            findings.append(
                Finding(
                    "prerequisites",
                    ADVISORY,
                    need["name"],
                    f"needed by {need['why']}; the plan cannot tell whether the account has it",
                    need.get("how", ""),
                )
            )
    return findings
