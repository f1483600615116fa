"""Dated facts: Kubernetes support windows, the catalog's price date, image dates; judged on `today`.

The windows are data (components/catalog/data/kubernetes.yaml, one row per service and minor version with
the day it was checked and its source). A version past its last support day is refused (the service no
longer creates it); past standard support, or leaving it within WARN_DAYS, is an advisory with the cost.
The default version is the newest one still in standard support on `today` (`default_version`).
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ADVISORY, ERROR, Context, Finding

DATA = Path(__file__).resolve().parents[1] / "catalog" / "data" / "kubernetes.yaml"
WARN_DAYS = 60  # advise this many days before standard support ends
STALE_DAYS = 180  # dated data older than this on `today` earns an advisory
PATH = ("cluster", "kubernetes_version")


@dataclass(frozen=True)
class Window:
    service: str
    version: str
    released: _dt.date
    standard_end: _dt.date
    last_end: _dt.date
    checked: _dt.date
    source: str


@functools.cache
def _raw() -> dict[str, Any]:
    from .. import yamldata

    return yamldata.load_file(DATA)


def windows(service: str) -> dict[str, Window]:
    rows = ((_raw().get("services") or {}).get(service) or {}).get("versions") or {}
    day = _dt.date.fromisoformat
    return {
        str(v): Window(
            service,
            str(v),
            day(str(r["released"])),
            day(str(r["standard_end"])),
            day(str(r["last_end"])),
            day(str(r["checked"])),
            str(r["source"]),
        )
        for v, r in rows.items()
    }


def service_notes(service: str) -> dict[str, str]:
    row = (_raw().get("services") or {}).get(service) or {}
    return {"extended_cost": str(row.get("extended_cost", "")), "rule": str(row.get("rule", ""))}


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def default_version(service: str, today: _dt.date) -> str | None:
    """The newest minor version released by `today` and still in standard support on it."""
    current = [w for w in windows(service).values() if w.released <= today <= w.standard_end]
    return max(current, key=lambda w: _minor(w.version)).version if current else None


def status(service: str, version: str, today: _dt.date) -> str:
    """standard | extended | ended | unknown (extended: past standard support, still within the last day)."""
    w = windows(service).get(version)
    if w is None:
        return "unknown"
    if today > w.last_end:
        return "ended"
    return "extended" if today > w.standard_end else "standard"


def check(ctx: Context) -> list[Finding]:
    findings = _kubernetes(ctx)
    findings += _prices(ctx)
    findings += _images(ctx)
    return findings


def _kubernetes(ctx: Context) -> list[Finding]:
    service = ctx.facts.KUBERNETES_SERVICE
    version = ctx.resolved.kubernetes_version
    table = windows(service)
    checked = _dt.date.fromisoformat(str(_raw().get("checked")))
    findings = []
    if (ctx.today - checked).days > STALE_DAYS:
        findings.append(
            Finding(
                "dated",
                ADVISORY,
                "Kubernetes versions",
                f"the support windows were checked on {checked} ({_days(ctx.today - checked)} ago)",
                f"re-read them into {DATA.name}",
            )
        )
    if not version:
        return findings
    default = default_version(service, ctx.today)
    suggestion = f'kubernetes_version: "{default}"' if default else "a version the service supports today"
    w = table.get(version)
    if w is None:
        newest = max(table, key=_minor) if table else None
        if newest and _minor(version) > _minor(newest):
            findings.append(
                Finding(
                    "dated",
                    ADVISORY,
                    f"{service} {version}",
                    f"newer than any version in the catalog (newest {newest}, checked {checked}): "
                    "cannot say when its support ends",
                    path=PATH,
                )
            )
        else:
            findings.append(
                Finding(
                    "dated",
                    ERROR,
                    f"{service} {version}",
                    f"not a version {service.upper()} supports (catalog checked {checked})",
                    suggestion,
                    path=PATH,
                )
            )
        return findings
    notes = service_notes(service)
    if ctx.today > w.last_end:
        findings.append(
            Finding(
                "dated",
                ERROR,
                f"{service} {version}",
                f"left its last support on {w.last_end} ({_days(ctx.today - w.last_end)} before "
                f"{ctx.today}): {service.upper()} no longer creates it (source: {w.source})",
                suggestion,
                path=PATH,
            )
        )
    elif ctx.today > w.standard_end:
        findings.append(
            Finding(
                "dated",
                ADVISORY,
                f"{service} {version}",
                f"past standard support since {w.standard_end}, supported until {w.last_end} only at "
                f"extra cost: {notes['extended_cost']}",
                suggestion,
                path=PATH,
            )
        )
    elif (w.standard_end - ctx.today).days <= WARN_DAYS:
        findings.append(
            Finding(
                "dated",
                ADVISORY,
                f"{service} {version}",
                f"leaves standard support on {w.standard_end} "
                f"(in {_days(w.standard_end - ctx.today)}); "
                f"after that: {notes['extended_cost']}",
                suggestion,
                path=PATH,
            )
        )
    return findings


def _days(delta: _dt.timedelta) -> str:
    return f"{delta.days} day{'s' if delta.days != 1 else ''}"


def _prices(ctx: Context) -> list[Finding]:
    try:
        as_of = _dt.date.fromisoformat(str(ctx.catalog.as_of))
    except ValueError:
        return [
            Finding(
                "dated",
                ADVISORY,
                f"{ctx.resolved.cloud} prices",
                "the catalog's prices carry no date",
                "llmcloud prices refresh",
            )
        ]
    age = (ctx.today - as_of).days
    if age > STALE_DAYS:
        return [
            Finding(
                "dated",
                ADVISORY,
                f"{ctx.resolved.cloud} prices",
                f"the catalog's prices are as of {as_of} ({age} days old): the cost shown may be off",
                "llmcloud prices refresh",
            )
        ]
    return []


def _image_dates() -> dict[str, str]:
    """image reference -> the day its pin was checked upstream, from every ImagePin in components/k8s/images.py."""
    from ..k8s import images

    pins: list[Any] = []
    for value in vars(images).values():
        if isinstance(value, images.ImagePin):
            pins.append(value)
        elif isinstance(value, dict):
            pins.extend(v for v in value.values() if isinstance(v, images.ImagePin))
    return {pin.ref: pin.checked for pin in pins}


def _images(ctx: Context) -> list[Finding]:
    """Pinned images the plan runs whose pin was last checked upstream long ago (ImagePin.checked)."""
    if ctx.plan is None:
        return []
    dates = _image_dates()
    used = {c.get("image") for s in ctx.plan.steps for c in _containers(s.inputs)}
    findings = []
    for image, day in sorted(dates.items()):
        if image in used:
            age = (ctx.today - _dt.date.fromisoformat(str(day))).days
            if age > 2 * STALE_DAYS:
                findings.append(
                    Finding(
                        "dated",
                        ADVISORY,
                        image,
                        f"pin last checked upstream {day} ({age} days ago)",
                        "check for a newer release and bump it in components/k8s/images.py",
                    )
                )
    return findings


def _containers(obj: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                out.extend(v for v in value if isinstance(v, dict))
            else:
                out.extend(_containers(value))
    elif isinstance(obj, list):
        for value in obj:
            out.extend(_containers(value))
    return out
