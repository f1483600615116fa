"""The rehearsal: what a real deploy of this plan would hit, found before anything is created.

`rehearse(resolved, plan, today)` runs every check over the plan (or, with `plan=None`, the checks that
need no plan, as `validate` does) and returns findings. Neutral code: every cloud fact (pool taints,
allocatable, which resources open control-plane ports, required APIs, version windows) comes from
`components/<cloud>/rehearsal.py` and the catalog, never from a branch on the cloud's name.

Severity decides the exit code (`exit_code`):
  error     the deploy would fail and the stack file can fix it: exit 2, with the file:line to edit;
  gate      the deploy would fail and the stack file cannot fix it (llmcloud or the cloud must): exit 3;
  advisory  worth knowing (a date close to a support end, a fact no plan can settle offline): exit 0.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cloud import RehearsalFacts

ERROR, GATE, ADVISORY = "error", "gate", "advisory"
# Steps the deploy leaves as they are: a deployed stack whose preview changes nothing has nothing to rehearse
# (its resources exist; their order no longer matters).
UNCHANGED = ("same", "read", "delete", "discard", "read-discard")
CHECKS = ("scheduling", "ordering", "reachability", "prerequisites", "dated")


@dataclass(frozen=True)
class Finding:
    check: str  # one of CHECKS
    severity: str  # error | gate | advisory
    subject: str  # what it is about: a resource name, a chart's pod, a stack field
    message: str
    fix: str = ""
    path: tuple[str, ...] | None = None  # the stack-file field that fixes it (errors)
    location: str | None = None  # file:line:column of `path`, filled in by rehearse()

    def to_json(self) -> dict[str, Any]:
        data = {
            "check": self.check,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }
        if self.path:
            data["path"] = ".".join(self.path)
        if self.location:
            data["location"] = self.location
        return data

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{self.severity} rehearsal/{self.check} {where}{self.subject}: {self.message}"
        return text + (f"; fix: {self.fix}" if self.fix else "")


@dataclass
class Context:
    """What every check reads: the resolved stack, the plan (None under `validate`), the cloud's facts,
    the cloud's catalog and the day."""

    resolved: Any
    plan: Any
    today: _dt.date
    facts: RehearsalFacts
    catalog: Any
    extra: dict[str, Any] = field(default_factory=dict)


def facts_for(cloud: str) -> RehearsalFacts:
    """The cloud's rehearsal facts (Cloud.rehearsal_facts: components/<cloud>/rehearsal.py), pure Python, no SDK."""
    from .. import registry

    facts = registry.cloud(cloud).rehearsal_facts()
    if facts is None:
        raise registry.NotImplementedForCloud(f"{cloud}: no rehearsal facts (components/{cloud}/rehearsal.py)")
    return facts


def rehearse(resolved: Any, plan: Any, today: _dt.date) -> list[Finding]:
    """Every finding for `resolved` and its `plan` (None: only the checks that need no plan), judged on `today`."""
    from .. import catalog
    from . import ordering, prerequisites, reachability, scheduling, versions

    ctx = Context(
        resolved=resolved, plan=plan, today=today, facts=facts_for(resolved.cloud), catalog=catalog.load(resolved.cloud)
    )
    findings = list(versions.check(ctx))
    if plan is not None and any(s.custom and s.op not in UNCHANGED for s in plan.steps):
        for module in (scheduling, ordering, reachability, prerequisites):
            findings.extend(module.check(ctx))
    return _locate(findings, resolved)


def _locate(findings: list[Finding], resolved: Any) -> list[Finding]:
    """Pin each finding that names a stack field to its file:line (the field's nearest written ancestor)."""
    if not any(f.path for f in findings):
        return findings
    try:
        from ..spec import load_stack

        positions = load_stack(resolved.file).positions
    except Exception:  # the file moved since it was resolved: report without a line rather than fail
        return findings
    out = []
    for f in findings:
        if f.path:
            loc = positions.find(tuple(f.path))  # the field, or its nearest ancestor the file spells out
            f = Finding(**{**f.__dict__, "location": str(loc) if loc else resolved.file})
        out.append(f)
    return out


def exit_code(findings: list[Finding]) -> int:
    """2 when the stack file can fix a failure, else 3 when something else must (a gate), else 0."""
    severities = {f.severity for f in findings}
    if ERROR in severities:
        return 2
    if GATE in severities:
        return 3
    return 0


def summary(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in (ERROR, GATE, ADVISORY)}
    plural = {ERROR: "errors", GATE: "gates", ADVISORY: "advisories"}
    return ", ".join(f"{n} {s if n == 1 else plural[s]}" for s, n in counts.items() if n) or "no findings"


def render(findings: list[Finding]) -> list[str]:
    """One line per finding, most severe first (for stderr)."""
    order = {ERROR: 0, GATE: 1, ADVISORY: 2}
    return [f.render() for f in sorted(findings, key=lambda f: (order[f.severity], CHECKS.index(f.check)))]
