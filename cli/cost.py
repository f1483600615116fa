"""llmcloud cost: monthly cost bands priced from the offline plan; --compare across clouds; --diff."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .common import INVALID, emit_json, fail, load, require_sdk, stdout
from .pipeline import plan_offline

COSTS_DIR = Path("~/.llmcloud/costs")


def to_markdown(cost: dict[str, Any], title: str) -> str:
    rows = [
        f"### {title}",
        "",
        f"{cost['cloud']} {cost['region']}, list prices as of {cost['prices_as_of']}, "
        f"{cost['hours_per_month']} h/month",
        "",
        "| resource | sku | quantity (floor/expected/max) | unit price | floor | expected | max |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for line in cost["lines"]:
        q, m = line["quantity"], line["monthly"]
        rows.append(
            f"| {line['resource']} | {line['sku']} | {q['floor']}/{q['expected']}/{q['max']} | "
            f"${line['unit_price']:,.4f}/{line['unit']} | ${m['floor']:,.2f} | ${m['expected']:,.2f} | "
            f"${m['max']:,.2f} |"
        )
    t = cost["monthly"]
    rows.append(f"| **total** | | | | **${t['floor']:,.2f}** | **${t['expected']:,.2f}** | **${t['max']:,.2f}** |")
    for m in cost.get("models", []):
        rows.append(
            f"\n{m['model']}: ~{m['tokens_per_second']:,.0f} output tokens/s per replica at "
            f"{m['input_tokens']}/{m['output_tokens']} tokens and {m['concurrency']} in flight, "
            f"~${m['usd_per_million_output_tokens']:,.2f} per million output tokens (estimate)"
        )
    return "\n".join(rows) + "\n"


def recorded_path(stack_name: str) -> Path:
    return COSTS_DIR.expanduser() / f"{stack_name}.json"


def record(stack_name: str, cost: dict[str, Any]) -> None:
    """`up` keeps the cost of what it deployed, for `cost --diff deployed`."""
    path = recorded_path(stack_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cost, indent=2))


def run(
    stack: str,
    cloud: str | None,
    *,
    json_mode: bool,
    markdown: bool = False,
    compare: bool = False,
    diff: str | None = None,
) -> None:
    if compare:
        return run_compare(stack, json_mode=json_mode)
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    cost = plan_offline(r).cost
    if diff:
        return run_diff(r, cost, diff, cloud, json_mode=json_mode)
    attach_measured(cost, r.stack_name)
    title = f"Monthly cost of {r.stack_name}"
    if json_mode:
        emit_json(cost)
    elif markdown:
        sys.stdout.write(to_markdown(cost, title))
    else:
        from .render import cost_table, token_table

        out = stdout()
        out.print(cost_table(cost, title=title))
        if cost.get("models"):
            out.print(token_table(cost["models"]))


def attach_measured(cost: dict[str, Any], stack_name: str) -> None:
    """Put the last `llmcloud bench` of each model (~/.llmcloud/bench/<stack>.json) beside its estimate."""
    from .bench import load_record

    record = load_record(stack_name)
    if not record:
        return
    for row in cost.get("models", []):
        if row["model"] != record.get("model"):
            continue
        levels = [lv for lv in record.get("levels", []) if lv.get("output_tokens_per_second")]
        if levels:
            best = max(levels, key=lambda lv: lv["output_tokens_per_second"])
            row["measured"] = {
                "measured_at": record.get("measured_at"),
                "concurrency": best["concurrency"],
                "tokens_per_second": best["output_tokens_per_second"],
                "usd_per_million_output_tokens": best.get("usd_per_million_output_tokens"),
                "tpot_ms_p50": (best.get("tpot_ms") or {}).get("p50"),
            }


def run_compare(stack: str, *, json_mode: bool) -> None:
    from llmcloud.components.cost.compare import compare

    load(stack, None)  # invalid stacks fail here, once, with file:line
    results = compare(stack)
    if json_mode:
        emit_json({"stack": stack, "clouds": results})
        return
    from rich.markup import escape

    from .render import compare_table

    out = stdout()
    out.print(compare_table(results))
    for r in results:  # notes and errors are plain text: `pip install 'llmcloud[aws]'` is not markup
        for note in r["notes"]:
            out.print(f"[dim]{r['cloud']}:[/] {escape(note)}")
        if r["error"]:
            out.print(f"[yellow]{r['cloud']}: not priced:[/] {escape(r['error'])}", markup=True)


def run_diff(r: Any, cost: dict[str, Any], other: str, cloud: str | None, *, json_mode: bool) -> None:
    from llmcloud.components.cost.compare import diff

    if other == "deployed":
        path = recorded_path(r.stack_name)
        if not path.exists():
            fail(INVALID, f"no deployed cost recorded for {r.stack_name} ({path}): `llmcloud up` records it")
        other_cost, label = json.loads(path.read_text()), f"{r.stack_name} (deployed)"
        base, target = other_cost, cost
        names = (label, f"{r.stack_name} (now)")
    else:
        _, o = load(other, cloud or r.cloud)
        require_sdk(o.cloud)
        base, target = cost, plan_offline(o).cost
        names = (r.stack_name, o.stack_name)
    rows = diff(base, target)
    if json_mode:
        emit_json(
            {
                "base": names[0],
                "other": names[1],
                "monthly": {"base": base["monthly"], "other": target["monthly"]},
                "lines": rows,
            }
        )
        return
    from .render import diff_table

    stdout().print(diff_table(rows, names, base["monthly"], target["monthly"]))
