"""llmcloud policy list."""

from __future__ import annotations

from .common import emit_json, stdout


def list_rules(*, json_mode: bool) -> None:
    from llmcloud.components.policy import RULES

    rows = [
        {
            "id": r.id,
            "severity": r.severity + (" in prod" if r.prod_only_mandatory else ""),
            "title": r.title,
            "fix": r.fix,
        }
        for r in RULES
    ]
    if json_mode:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(title="Policy rules (mandatory: exit 3, nothing deployed; advisory: a warning)", title_justify="left")
    for col in ("id", "severity", "rule", "fix"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["severity"], row["title"], row["fix"])
    stdout().print(table)
