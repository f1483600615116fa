"""Live progress of engine operations. Engine events arrive on a worker thread; the display keeps a
lock around its state and redraws from the main thread's Live refresher."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

SYMBOLS = {
    "create": "[green]+[/]",
    "update": "[yellow]~[/]",
    "delete": "[red]-[/]",
    "replace": "[magenta]±[/]",
    "same": "[dim]=[/]",
    "refresh": "[cyan]↻[/]",
    "read": "[cyan]>[/]",
}


class JsonLines:
    """--json: one JSON object per engine event on stdout (for CI logs and tools)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        with self._lock:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Progress:
    """People: the resources in flight, counts per operation, elapsed time; a summary at the end."""

    def __init__(self, console: Console, title: str, max_lines: int = 12) -> None:
        self.console = console
        self.title = title
        self.max_lines = max_lines
        self.start = time.monotonic()
        self.lines: list[str] = []
        self.counts: Counter[str] = Counter()
        self.failed: list[str] = []
        self._lock = threading.Lock()
        self._live = Live(console=console, refresh_per_second=4, transient=True, get_renderable=self._render)

    def __call__(self, record: dict[str, Any]) -> None:
        with self._lock:
            kind = record.get("event")
            name = str(record.get("urn", "")).rsplit("::", 1)[-1]
            if kind == "resourcePre" and record.get("op") != "same":
                self.lines.append(f"{SYMBOLS.get(record['op'], '?')} {escape(name)} [dim]{record.get('type', '')}[/]")
            elif kind == "resOutputs":
                self.counts[record.get("op", "")] += 1
            elif kind == "resOpFailed":
                self.failed.append(name)
            elif kind == "diagnostic" and record.get("severity") == "error":
                self.lines.append(f"[red]error[/] {escape(record.get('message', ''))[:200]}")

    def _render(self) -> Group:
        with self._lock:
            elapsed = time.monotonic() - self.start
            done = ", ".join(f"{op} {n}" for op, n in self.counts.items())
            head = Text.from_markup(f"[bold]{escape(self.title)}[/] {elapsed:,.0f}s" + (f"  ({done})" if done else ""))
            return Group(head, *(Text.from_markup(line) for line in self.lines[-self.max_lines :]))

    def __enter__(self) -> Progress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(*exc)  # type: ignore[arg-type]
        elapsed = time.monotonic() - self.start
        status = "[red]failed[/]" if exc[0] or self.failed else "[green]done[/]"
        counts = ", ".join(f"{op} {n}" for op, n in sorted(self.counts.items())) or "no changes"
        self.console.print(f"{escape(self.title)}: {status} in {elapsed:,.1f}s ({counts})")
