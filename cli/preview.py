"""llmcloud preview: plan + cost + budget, with the real engine when the pulumi CLI exists, else offline."""

from __future__ import annotations

from typing import Any

from .common import BLOCKED, DRIFT, emit_json, fail, load, notice, pulumi_cli, require_sdk, stderr, stdout


def plan_offline(r: Any, *, quiet: bool = True) -> Any:
    from llmcloud.components.cost import cost_for
    from llmcloud.components.engine import offline

    if quiet:
        plan = offline.run(r)
    else:
        with stderr().status(f"planning {r.stack_name} offline ..."):
            plan = offline.run(r)
    plan.cost = cost_for(plan, r)
    return plan


def run(stack: str, cloud: str | None, *, offline: bool, json_mode: bool, budget: float | None,
        budget_on: str, expect_no_changes: bool = False) -> None:
    if not offline and pulumi_cli() is not None:
        from llmcloud.components.cost import cost_for

        from .deploy import prerequisites, real_preview

        r, make_engine = prerequisites(stack, cloud, action="preview")
        loaded_file = r.file
        plan = real_preview(r, make_engine, json_mode=json_mode, expect_no_changes=expect_no_changes)
        plan.cost = cost_for(plan, r)
    else:
        loaded, r = load(stack, cloud)
        loaded_file = loaded.file
        require_sdk(r.cloud)
        if expect_no_changes:
            fail(4, "--expect-no-changes compares with the deployed state and needs the pulumi CLI, which was "
                    "not found")
        if not offline:
            notice("the pulumi CLI is not installed: showing the offline plan (mock runtime, no cloud calls)")
        plan = plan_offline(r, quiet=json_mode)
    from llmcloud.components.cost import over_budget

    limit = budget if budget is not None else r.budget_monthly_usd
    reason = over_budget(plan.cost, limit, budget_on)
    plan.cost["budget"] = {"monthly_usd": limit, "band": budget_on, "over": reason is not None}
    if json_mode:
        emit_json(plan.to_json())
    else:
        from .render import print_preview

        print_preview(stdout(), plan)
    if reason:
        fail(BLOCKED, f"{reason}: blocked (raise budget.monthly_usd in {loaded_file} or pass --budget)")
    if expect_no_changes:
        changed = {op: n for op, n in plan.change_summary().items() if op not in ("same", "read")}
        if changed:
            fail(DRIFT, "changes found where none were expected: "
                        + ", ".join(f"{n} to {op}" for op, n in changed.items()))
