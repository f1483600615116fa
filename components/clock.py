"""What day it is, injectable: `LLMCLOUD_TODAY=2026-12-01` fixes it (tests, golden plans, reproducible CI).

Dated facts (Kubernetes support windows, image dates, price dates) are judged against this day, so a test
means the same thing tomorrow as today.
"""

from __future__ import annotations

import datetime as _dt
import os

TODAY_ENV = "LLMCLOUD_TODAY"


def today() -> _dt.date:
    """$LLMCLOUD_TODAY (YYYY-MM-DD) when set, else today's date in UTC."""
    raw = os.environ.get(TODAY_ENV, "").strip()
    if raw:
        try:
            return _dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise ValueError(f"{TODAY_ENV}={raw!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-01") from exc
    return _dt.datetime.now(_dt.UTC).date()
