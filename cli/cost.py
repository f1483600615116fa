"""llmcloud cost: the monthly cost bands of a stack, priced from its offline plan."""

from __future__ import annotations

from .common import emit_json, load, require_sdk, stdout
from .preview import plan_offline


def run(stack: str, cloud: str | None, *, json_mode: bool) -> None:
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    plan = plan_offline(r)
    if json_mode:
        emit_json(plan.cost)
        return
    from .render import cost_table

    stdout().print(cost_table(plan.cost, title=f"Monthly cost of {r.stack_name}"))
