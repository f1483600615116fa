"""llmcloud preview: plan + cost + budget, with the real engine when the pulumi CLI exists, else offline."""

from __future__ import annotations

from typing import Any

from .common import BLOCKED, DRIFT, MISSING, emit_json, fail, load, notice, pulumi_cli, require_sdk, stderr, stdout


def plan_offline(r: Any, *, quiet: bool = True) -> Any:
    from llmcloud.components.engine import offline

    if quiet:
        plan = offline.run(r)
    else:
        with stderr().status(f"planning {r.stack_name} offline ..."):
            plan = offline.run(r)
    return assess(plan, r)


def assess(plan: Any, r: Any) -> Any:
    """Price the plan and check it against the policy rules (both engines' plans alike)."""
    from llmcloud.components.cost import cost_for
    from llmcloud.components.policy import evaluate

    plan.cost = cost_for(plan, r)
    plan.policy = evaluate(plan, r)
    return plan


def budget_reason(plan: Any, r: Any, budget: float | None, band: str) -> str | None:
    """Record the budget check in the plan's cost; a reason to stop (exit 3) when the band is over it."""
    from llmcloud.components.cost import over_budget

    limit = budget if budget is not None else r.budget_monthly_usd
    reason = over_budget(plan.cost, limit, band)
    plan.cost["budget"] = {"monthly_usd": limit, "band": band, "over": reason is not None}
    return reason


def policy_gate(plan: Any) -> str | None:
    """Warn about advisory findings; a reason to stop (exit 3) when a mandatory rule is violated."""
    err = stderr()
    for v in plan.policy.get("violations", []):
        color = "red" if v["severity"] == "mandatory" else "yellow"
        err.print(f"[{color}]{v['severity']}[/] {v['rule']} {v['resource']}: {v['message']}; fix: {v['fix']}",
                  markup=True, highlight=False)
    n = plan.policy.get("mandatory", 0)
    return f"{n} mandatory policy violation{'s' if n != 1 else ''}" if n else None


def run(stack: str, cloud: str | None, *, offline: bool, json_mode: bool, budget: float | None,
        budget_on: str, expect_no_changes: bool = False) -> None:
    if not offline and pulumi_cli() is not None:
        from .deploy import prerequisites, real_preview

        r, make_engine = prerequisites(stack, cloud, action="preview")
        plan = assess(real_preview(r, make_engine, json_mode=json_mode, expect_no_changes=expect_no_changes), r)
        from .ops import preflight_gate

        preflight_gate(r, strict=False, json_mode=json_mode)  # online: quota and zones, a warning here
    else:
        _, r = load(stack, cloud)
        require_sdk(r.cloud)
        if expect_no_changes:
            fail(MISSING, "--expect-no-changes compares with the deployed state and needs the pulumi CLI, which was "
                    "not found")
        if not offline:
            notice("the pulumi CLI is not installed: showing the offline plan (mock runtime, no cloud calls)")
        plan = plan_offline(r, quiet=json_mode)
    from . import rehearse

    found = rehearse.findings(r, plan)  # before output: the JSON carries the findings
    reason = budget_reason(plan, r, budget, budget_on)
    for message in plan.notices:
        notice(message)
    if json_mode:
        emit_json(plan.to_json())
    else:
        from .render import print_preview

        print_preview(stdout(), plan)
    blocked = policy_gate(plan)
    rehearse.show(found)
    if reason:
        fail(BLOCKED, f"{reason}: blocked (raise budget.monthly_usd in {r.file} or pass --budget)")
    if blocked:
        fail(BLOCKED, f"{blocked}: blocked (see `llmcloud policy list`)")
    rehearse.gate(found, what="fix the findings above before `llmcloud up`")
    if expect_no_changes:
        changed = {op: n for op, n in plan.change_summary().items() if op not in ("same", "read")}
        if changed:
            fail(DRIFT, "changes found where none were expected: "
                        + ", ".join(f"{n} to {op}" for op, n in changed.items()))
