"""llmcloud preview: plan + cost + budget, with the real engine when the pulumi CLI exists, else offline."""

from __future__ import annotations

from .common import BLOCKED, DRIFT, emit_json, fail, notice, stdout
from .pipeline import budget_reason, plan, policy_gate


def run(
    stack: str,
    cloud: str | None,
    *,
    offline: bool,
    json_mode: bool,
    budget: float | None,
    budget_on: str,
    expect_no_changes: bool = False,
) -> None:
    r, the_plan, engine = plan(stack, cloud, offline=offline, json_mode=json_mode, expect_no_changes=expect_no_changes)
    if engine is not None:
        from .ops import preflight_gate

        preflight_gate(r, strict=False, json_mode=json_mode)  # online: quota and zones, a warning here
    from . import rehearse

    found = rehearse.findings(r, the_plan)  # before output: the JSON carries the findings
    reason = budget_reason(the_plan, r, budget, budget_on)
    for message in the_plan.notices:
        notice(message)
    if json_mode:
        emit_json(the_plan.to_json())
    else:
        from .render import print_preview

        print_preview(stdout(), the_plan)
        from .firstrun import print_next_steps

        print_next_steps(stdout(), the_plan, r, stack, offline=engine is None)
    blocked = policy_gate(the_plan)
    rehearse.show(found)
    if reason:
        fail(BLOCKED, f"{reason}: blocked (raise budget.monthly_usd in {r.file} or pass --budget)")
    if blocked:
        fail(BLOCKED, f"{blocked}: blocked (see `llmcloud policy list`)")
    rehearse.gate(found, what="fix the findings above before `llmcloud up`")
    if expect_no_changes:
        changed = {op: n for op, n in the_plan.change_summary().items() if op not in ("same", "read")}
        if changed:
            fail(
                DRIFT,
                "changes found where none were expected: " + ", ".join(f"{n} to {op}" for op, n in changed.items()),
            )
