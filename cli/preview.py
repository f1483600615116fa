"""llmcloud preview: plan + cost (+ policy) with the real engine when the pulumi CLI exists, else offline."""

from __future__ import annotations

from typing import Any

from .common import BLOCKED, emit_json, fail, load, notice, pulumi_cli, require_sdk, stderr, stdout


def plan_offline(r: Any) -> Any:
    from llmcloud.components.cost import cost_for
    from llmcloud.components.engine import offline

    plan = offline.run(r)
    plan.cost = cost_for(plan, r)
    return plan


def run(stack: str, cloud: str | None, *, offline: bool, json_mode: bool, budget: float | None,
        budget_on: str) -> None:
    loaded, r = load(stack, cloud)
    require_sdk(r.cloud)
    if not offline:
        if pulumi_cli() is None:
            notice("the pulumi CLI is not installed: showing the offline plan (mock runtime, no cloud calls)")
        else:
            notice("the real-engine preview is not wired yet: showing the offline plan")
    if not json_mode:
        with stderr().status(f"planning {r.stack_name} offline ..."):
            plan = plan_offline(r)
    else:
        plan = plan_offline(r)
    limit = budget if budget is not None else r.budget_monthly_usd
    from llmcloud.components.cost import over_budget

    reason = over_budget(plan.cost, limit, budget_on)
    plan.cost["budget"] = {"monthly_usd": limit, "band": budget_on, "over": reason is not None}
    if json_mode:
        emit_json(plan.to_json())
    else:
        from .render import print_preview

        print_preview(stdout(), plan)
    if reason:
        fail(BLOCKED, f"{reason}: blocked (raise budget.monthly_usd in {loaded.file} or pass --budget)")
