"""Expiring stacks: `ttl:` / `expires_at:` in a stack file, the deadline recorded at deploy time.

A fixed `expires_at:` is known when the stack is resolved, so every plan carries it. A `ttl:` counts
from each `up`: the CLI stamps the deadline (now + ttl) into the ResolvedStack just before the
deploy (`stamp`), so the labels (`llmcloud-expires`) and the stack output `expires_at` agree, and a
redeploy extends the lifetime. Previews are not stamped: they show `ttl-8h` as the label value (the
deadline does not exist until `up`), so a plan never changes from one run to the next.
Pure Python: no pulumi.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .labels import EXPIRES_KEY, expiry_value, sanitize

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_ttl(text: str) -> timedelta:
    match = re.fullmatch(r"([1-9][0-9]*)([mhdw])", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 8h, 3d or 1w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def as_utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: Any) -> datetime | None:
    """An `expires_at` output back to a datetime; None for anything else (no expiry, `ttl 8h`)."""
    if not isinstance(text, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def placeholder(ttl: str) -> str:
    """The label value of an unstamped ttl stack (previews): ttl-8h."""
    return f"ttl-{ttl}"


def stamp(resolved: Any, *, now: datetime | None = None, monthly_cost_expected: float | None = None) -> Any:
    """The ResolvedStack as `up` deploys it: a ttl's deadline fixed from `now`, and the expected monthly
    cost recorded (stack outputs read by `llmcloud status`)."""
    changes: dict[str, Any] = {}
    if monthly_cost_expected is not None:
        changes["monthly_cost_expected"] = round(float(monthly_cost_expected), 2)
    ttl = getattr(resolved, "ttl", None)
    if ttl and not getattr(resolved, "expires_at", None):  # stamped once per `up`
        deadline = as_utc(now or datetime.now(UTC)) + parse_ttl(ttl)
        changes["expires_at"] = iso(deadline)
        changes["labels"] = {**resolved.labels, **sanitize({EXPIRES_KEY: expiry_value(deadline)}, resolved.cloud)}
    return dataclasses.replace(resolved, **changes) if changes else resolved


def expired(expires_at: Any, now: datetime | None = None) -> bool:
    deadline = parse_iso(expires_at)
    return deadline is not None and deadline <= as_utc(now or datetime.now(UTC))
