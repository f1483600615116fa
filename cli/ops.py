"""llmcloud preflight / leftovers / status / reap: operations beyond deploy (issue 10).

preflight: quota and zone checks for every accelerator pool (exit 3 with --strict when blocked);
leftovers: what still carries the stack's label after destroy, with its monthly cost;
status: the stacks of a backend with cloud, environment, age, expiry and expected monthly cost;
reap: destroy the stacks whose expiry has passed, keeping data as `destroy` does.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import typer

from .common import BLOCKED, FAILED, INVALID, MISSING, emit_json, fail, load, notice


def _money(value: Any) -> str:
    return "?" if value is None else f"${value:,.2f}"


# ---- preflight


def preflight_report(r: Any) -> Any:
    from llmcloud.components import preflight
    from llmcloud.components.engine import credentials

    if not credentials.has_credentials(r.cloud):
        report = preflight.Report(r.cloud, r.region)
        report.skipped = f"no {r.cloud} credentials"
        return report
    return preflight.run(r)


def render_preflight(report: Any, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("pool", "machine", "zones offered", "need", "quota", "used", "verdict", "note"):
        table.add_column(column, overflow="fold")
    for c in report.checks:
        offered = "?" if c.offered is None else (", ".join(c.offered) or "none")
        table.add_row(
            c.pool,
            c.machine_type,
            f"{offered} of {len(c.zones)}",
            f"{c.need} {c.unit}",
            "?" if c.limit is None else f"{c.limit:g} ({c.metric})",
            "?" if c.used is None else f"{c.used:g}",
            c.verdict,
            c.note,
        )
    return table


def preflight_gate(r: Any, *, strict: bool, json_mode: bool) -> Any:
    """Run the preflight for `up`: print the table on stderr, exit 3 under --strict when blocked."""
    from .common import stderr

    report = preflight_report(r)
    if report.skipped:
        if strict:  # a gate that cannot check must not pass (issue 21)
            fail(MISSING, f"preflight --strict could not check ({report.skipped}): nothing deployed")
        notice(f"preflight skipped: {report.skipped}")
        return report
    if report.checks and not json_mode:
        stderr().print(render_preflight(report, f"Quota and zones for {r.stack_name} ({r.region})"))
    if report.blocking:
        pools = ", ".join(f"{c.pool} ({c.verdict})" for c in report.blocking)
        if strict:
            fail(BLOCKED, f"preflight: {pools} would not reach max_nodes: nothing deployed")
        notice(f"preflight: {pools} may not reach max_nodes (see the table; --strict stops here)")
    return report


def preflight(stack: str, cloud: str | None, *, strict: bool, json_mode: bool) -> None:
    _, r = load(stack, cloud)
    report = preflight_report(r)
    if json_mode:
        emit_json({"stack": r.stack_name, **report.to_json()})
    elif report.skipped:
        notice(f"preflight skipped: {report.skipped}")
    elif not report.checks:
        notice(f"{r.stack_name} has no accelerator pools: nothing to check")
    else:
        from .common import stdout

        stdout().print(render_preflight(report, f"Quota and zones for {r.stack_name} ({r.region})"))
        sys.stderr.write(
            "quota: the limit is too low (a quota request fixes it); no-zone: the machine is not "
            "offered to you in those zones. Stockouts cannot be seen in advance.\n"
        )
    if report.blocking and strict:
        fail(BLOCKED, f"preflight: {len(report.blocking)} pool(s) blocked")
    if report.skipped and strict:  # a gate that cannot check must not pass (issue 21)
        fail(MISSING, f"preflight --strict could not check: {report.skipped}")


# ---- leftovers


def leftovers_report(r: Any) -> Any:
    from llmcloud.components import leftovers
    from llmcloud.components.engine import credentials

    if not credentials.has_credentials(r.cloud):
        report = leftovers.Report(r.cloud, r.stack_name)
        report.skipped = f"no {r.cloud} credentials"
        return report
    from llmcloud.components import registry

    kwargs = registry.cloud(r.cloud).leftover_scope(r)  # region, and the project where the cloud has one
    return leftovers.run(r.cloud, r.labels.get("llmcloud-stack", r.stack_name), **kwargs)


def render_leftovers(report: Any) -> Any:
    from rich.table import Table

    table = Table(title=f"Still labelled llmcloud-stack={report.stack} in {report.cloud}", title_justify="left")
    for column in ("type", "name", "location", "monthly", "note"):
        table.add_column(column, overflow="fold")
    for x in report.leftovers:
        table.add_row(x.type, x.name, x.location, "kept" if x.kept else _money(x.monthly), x.note)
    return table


def print_leftovers(report: Any, *, after_destroy: bool) -> None:
    from .common import stderr, stdout

    if report.skipped:
        notice(f"leftover check skipped: {report.skipped}")
        return
    out = stderr() if after_destroy else stdout()
    if not report.leftovers:
        out.print(f"no resources labelled llmcloud-stack={report.stack} remain")
        return
    out.print(render_leftovers(report))
    if report.billable:
        unknown = sum(1 for x in report.billable if x.monthly is None)
        out.print(
            f"{len(report.billable)} leftover(s), about {_money(report.monthly)}/month"
            + (f" plus {unknown} of unknown cost" if unknown else "")
        )


def leftovers(stack: str, cloud: str | None, *, json_mode: bool, strict: bool) -> None:
    _, r = load(stack, cloud)
    report = leftovers_report(r)
    if json_mode:
        emit_json(report.to_json())
    else:
        print_leftovers(report, after_destroy=False)
    if strict and report.billable:
        fail(FAILED, f"{len(report.billable)} resource(s) of {report.stack} remain")
    if strict and report.skipped:  # a gate that cannot check must not pass (issue 21)
        fail(MISSING, f"leftovers --strict could not check: {report.skipped}")


# ---- status and reap


def _backend_settings(backend: str | None) -> Any:
    from llmcloud.components.reaper import settings

    from .pipeline import engine_essentials

    exe, passphrase = engine_essentials("read the backend")
    return settings(backend, exe, passphrase)


def _stacks(backend: str | None) -> tuple[Any, list[Any]]:
    from llmcloud.components.reaper import list_stacks
    from pulumi import automation as auto

    s = _backend_settings(backend)
    try:
        return s, list_stacks(s)
    except auto.CommandError as exc:
        lines = [ln for ln in str(getattr(exc, "stderr", "") or exc).splitlines() if ln.strip()]
        fail(FAILED, f"cannot list the stacks of {s.backend}: {lines[-1] if lines else exc}")


def _age(hours: float | None) -> str:
    if hours is None:
        return "?"
    if hours < 1:
        return f"{int(hours * 60)}m"
    return f"{hours:.0f}h" if hours < 48 else f"{hours / 24:.0f}d"


def _expiry(info: Any, now: datetime) -> str:
    raw = info.outputs.get("expires_at")
    if not raw:
        return "-"
    deadline = info.expires_at
    if deadline is None:
        return str(raw)
    left = (deadline - now).total_seconds() / 3600
    return f"{raw} (expired)" if left <= 0 else f"{raw} (in {_age(left)})"


def status(backend: str | None, *, json_mode: bool) -> None:
    now = datetime.now(UTC)
    s, stacks = _stacks(backend)
    if json_mode:
        emit_json({"backend": s.backend, "stacks": [x.to_json(now) for x in stacks]})
        return
    from rich.table import Table

    from .common import stdout

    table = Table(title=f"Stacks in {s.backend}", title_justify="left")
    for column in ("stack", "cloud", "environment", "owner", "resources", "age", "expires", "monthly (expected)"):
        table.add_column(column, overflow="fold")
    for x in stacks:
        table.add_row(
            x.name,
            x.cloud,
            x.environment,
            str(x.outputs.get("owner") or "?"),
            "?" if x.resource_count is None else str(x.resource_count),
            _age(x.age(now)),
            x.error or _expiry(x, now),
            _money(x.outputs.get("monthly_cost_expected")),
        )
    stdout().print(table)
    total = sum(float(x.outputs.get("monthly_cost_expected") or 0) for x in stacks if not x.empty)
    stdout().print(f"{len(stacks)} stack(s), about {_money(total)}/month expected")


def reap(backend: str | None, *, yes: bool, json_mode: bool, cloud: str | None = None, markdown: bool = False) -> None:
    """Destroy every stack of the backend whose expires_at has passed, keeping data. With `cloud`, only
    that cloud's stacks (a CI job logged in to one cloud reaps that cloud's); with `markdown`, stdout
    gets a list of what was reaped for a CI job summary."""
    from llmcloud.components.engine import credentials
    from llmcloud.components.engine.real import EngineError, RealEngine, settings_for
    from llmcloud.components.reaper import StateOnly

    now = datetime.now(UTC)
    s, stacks = _stacks(backend)
    due = [x for x in stacks if x.expired(now) and not x.empty and (cloud is None or x.cloud == cloud)]
    results: list[dict[str, Any]] = []
    which = f"{cloud} stacks" if cloud else "stacks"
    if not due:
        if json_mode:
            emit_json({"backend": s.backend, "expired": [], "reaped": []})
        elif markdown:
            print(f"No expired {which} in the backend.")
        else:
            notice(f"no expired {which} in {s.backend}")
        return
    if not json_mode:
        sys.stderr.write("expired: " + ", ".join(f"{x.name} ({x.outputs.get('expires_at')})" for x in due) + "\n")
    if not yes:
        if not sys.stdin.isatty():
            fail(INVALID, "refusing to destroy expired stacks without confirmation: no terminal to ask; pass --yes")
        if not typer.confirm(f"Destroy {len(due)} expired stack(s), keeping their data?", default=False, err=True):
            sys.stderr.write("cancelled; nothing changed\n")
            raise typer.Exit(0)
    failed = 0
    for x in due:
        entry: dict[str, Any] = {"stack": x.name, "cloud": x.cloud, "expires_at": x.outputs.get("expires_at")}
        if x.cloud and not credentials.has_credentials(x.cloud):
            entry["error"] = f"no {x.cloud} credentials: {credentials.expected(x.cloud)}"
            failed += 1
            results.append(entry)
            continue
        target = StateOnly(x.name, x.environment, s.backend, x.cloud)
        engine = RealEngine(target, settings_for(target, s.pulumi, s.env))
        try:
            result = engine.destroy(delete_data=False)
        except EngineError as exc:
            entry["error"] = str(exc).splitlines()[0]
            failed += 1
        else:
            entry.update(summary=result["summary"], kept=[u.rsplit("::", 1)[-1] for u in result["kept"]])
            if not json_mode:
                kept = f", kept {', '.join(entry['kept'])}" if entry["kept"] else ""
                sys.stderr.write(f"reaped {x.name}{kept}\n")
        results.append(entry)
    if json_mode:
        emit_json({"backend": s.backend, "expired": [x.name for x in due], "reaped": results})
    elif markdown:
        print(f"### Expired {which}\n")
        for entry in results:
            outcome = f"failed: {entry['error']}" if "error" in entry else "destroyed, data kept"
            print(f"- `{entry['stack']}` (expired {entry['expires_at']}): {outcome}")
    for entry in results:
        if "error" in entry and not json_mode:
            sys.stderr.write(f"error: {entry['stack']}: {entry['error']}\n")
    if failed:
        raise typer.Exit(FAILED)
