"""The rehearsal step of validate / preview / up (components/rehearsal): run it, show it, gate on it."""

from __future__ import annotations

import sys
from typing import Any

from .common import fail


def findings(r: Any, plan: Any = None) -> list[Any]:
    """Rehearse `plan` (None: the plan-free checks, as `validate` does) on today (LLMCLOUD_TODAY fixes it);
    the findings are also recorded in the plan's JSON under "rehearsal"."""
    from llmcloud.components.clock import today
    from llmcloud.components.rehearsal import rehearse

    try:
        day = today()
    except ValueError as exc:
        fail(2, str(exc))
    found = rehearse(r, plan, day)
    if plan is not None:
        plan.rehearsal = [f.to_json() for f in found]
    return found


def show(found: list[Any]) -> None:
    """One line per finding on stderr (stdout may hold JSON)."""
    from llmcloud.components.rehearsal import render

    for line in render(found):
        sys.stderr.write(line + "\n")


def gate(found: list[Any], *, what: str = "nothing was created") -> None:
    """Exit 2 (the stack file can fix it) or 3 (a gate) when the rehearsal found a failure."""
    from llmcloud.components.rehearsal import exit_code, summary

    code = exit_code(found)
    if code:
        fail(code, f"the rehearsal found {summary(found)}: the deploy would fail; {what}")
