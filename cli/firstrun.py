"""What a new user needs after a preview or a validate: the budget line, the placeholders to
replace and the next command (issue 21). Printed for people only, never under --json."""

from __future__ import annotations

from typing import Any

from .common import notice, pulumi_cli


def placeholder_notes(stack: str | None = None, loaded: Any = None) -> list[str]:
    """One advisory line per placeholder (exit code unchanged)."""
    from llmcloud.components.spec import StackErrors, load_stack
    from llmcloud.components.spec.placeholders import find

    if loaded is None:
        try:
            loaded = load_stack(stack or "")
        except StackErrors:
            return []
    return [p.render() for p in find(loaded)]


def budget_line(cost: dict[str, Any], file: str) -> str:
    from .render import money

    budget = cost.get("budget") or {}
    band = budget.get("band", "expected")
    value = (cost.get("monthly") or {}).get(band)
    limit = budget.get("monthly_usd")
    if value is None:
        return "Budget: no cost computed"
    if limit is None:
        return (
            f"Budget: none set ({band} {money(value)}/month); add budget: {{monthly_usd: N}} to {file} "
            "or pass --budget N to stop deploys above it"
        )
    state = "OVER: up would stop (exit 3)" if budget.get("over") else "within"
    return f"Budget: {band} {money(value)} of {money(limit)}/month: {state}"


def print_next_steps(console: Any, plan: Any, r: Any, stack: str, *, offline: bool) -> None:
    """The end of a preview: budget, placeholders, next command."""
    from rich.markup import escape

    console.print()
    if plan.cost:
        console.print(escape(budget_line(plan.cost, r.file)), highlight=False)
    notes = placeholder_notes(r.file)
    if notes:
        console.print("Placeholders to replace before `up`:", highlight=False)
        for note in notes:
            console.print(f"  {escape(note)}", highlight=False)
    cloud = ""
    from llmcloud.components import registry
    from llmcloud.components.cloud import missing_program_names

    missing = missing_program_names(registry.cloud(r.cloud).tools)
    if missing:  # what the cluster's kubeconfig runs: `up` stops without it (exit 4)
        them = "them" if len(missing) > 1 else "it"
        console.print(
            f"`up` also needs {' and '.join(missing)} on this machine (the {r.cloud} kubeconfig runs {them}); "
            f"`llmcloud up` says how to install {them}",
            highlight=False,
        )
    if pulumi_cli() is None:
        console.print(
            f"Next: install the pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), set "
            f"LLMCLOUD_PASSPHRASE and {r.cloud} credentials, then `llmcloud up {escape(stack)}{cloud}`",
            highlight=False,
        )
    else:
        console.print(
            f"Next: `llmcloud up {escape(stack)}{cloud}`" + (" (the preview above was offline)" if offline else ""),
            highlight=False,
        )


def advise_placeholders(loaded: Any) -> None:
    """validate: placeholders as notes on stderr (exit 0)."""
    for note in placeholder_notes(loaded=loaded):
        notice(f"placeholder to replace before `up`: {note}")
