"""llmcloud cost: the monthly cost bands of a stack, priced from its offline plan."""

from __future__ import annotations

import sys
from typing import Any

from .common import emit_json, load, require_sdk, stdout
from .preview import plan_offline


def to_markdown(cost: dict[str, Any], title: str) -> str:
    rows = [f"### {title}", "",
            f"{cost['cloud']} {cost['region']}, list prices as of {cost['prices_as_of']}, "
            f"{cost['hours_per_month']} h/month", "",
            "| resource | sku | quantity (floor/expected/max) | unit price | floor | expected | max |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for line in cost["lines"]:
        q, m = line["quantity"], line["monthly"]
        rows.append(f"| {line['resource']} | {line['sku']} | {q['floor']}/{q['expected']}/{q['max']} | "
                    f"${line['unit_price']:,.4f}/{line['unit']} | ${m['floor']:,.2f} | ${m['expected']:,.2f} | "
                    f"${m['max']:,.2f} |")
    t = cost["monthly"]
    rows.append(f"| **total** | | | | **${t['floor']:,.2f}** | **${t['expected']:,.2f}** | **${t['max']:,.2f}** |")
    return "\n".join(rows) + "\n"


def run(stack: str, cloud: str | None, *, json_mode: bool, markdown: bool = False) -> None:
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    plan = plan_offline(r)
    title = f"Monthly cost of {r.stack_name}"
    if json_mode:
        emit_json(plan.cost)
    elif markdown:
        sys.stdout.write(to_markdown(plan.cost, title))
    else:
        from .render import cost_table

        stdout().print(cost_table(plan.cost, title=title))
