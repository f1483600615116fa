"""llmcloud prices refresh: rebuild the catalog's prices from the clouds' public pricing APIs.

Writes `<out>/<cloud>.yaml` (default ~/.llmcloud/catalog/); the shipped catalog stays the default and is
never written. Point LLMCLOUD_CATALOG_DIR at the output directory to price with the refreshed files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import FAILED, INVALID, MISSING, emit_json, fail, stdout

if TYPE_CHECKING:
    from llmcloud.components.catalog.refresh import Refreshed


def _clouds(requested: list[str] | None) -> list[str]:
    from llmcloud.components.registry import CLOUDS

    clouds = sorted(set(requested or CLOUDS))
    unknown = [c for c in clouds if c not in CLOUDS]
    if unknown:
        fail(INVALID, f"unknown cloud {', '.join(unknown)}; expected one of {', '.join(CLOUDS)}")
    return clouds


def _change_table(results: list[Refreshed]) -> Any:
    from rich.table import Table

    table = Table(title="Price changes (USD per hour)")
    for column in ("cloud", "region", "machine", "price", "old", "new", "Δ%"):
        table.add_column(column, justify="right" if column in ("old", "new", "Δ%") else "left")
    for result in results:
        for c in result.changes:
            old = "-" if c.old is None else f"{c.old:g}"
            delta = "-" if c.delta_pct is None else f"{c.delta_pct:+.1f}"
            table.add_row(result.cloud, c.region, c.name, c.kind.replace("_", "-"), old, f"{c.new:g}", delta)
    return table


def _summary(result: Refreshed, path: Path) -> dict[str, Any]:
    return {
        "file": str(path),
        "as_of": result.catalog["as_of"],
        "sources": result.catalog["sources"],
        "refreshed": result.refreshed,
        "kept_from_shipped": result.kept,
        "changes": [c.to_json() for c in result.changes],
        "warnings": result.warnings,
        "notes": result.notes,
    }


def run_refresh(clouds: list[str] | None, out: str | None, *, json_mode: bool) -> None:
    from llmcloud.components import registry
    from llmcloud.components.catalog.refresh import (
        FetchError,
        MissingApiKey,
        default_out_dir,
        refresh,
        write,
    )

    chosen = _clouds(clouds)
    for cloud in chosen:
        missing = registry.cloud(cloud).refresh_prerequisite()
        if missing:
            others = " ".join(f"--cloud {c}" for c in chosen if c != cloud)
            fail(MISSING, missing + (f" (or refresh the others: {others})" if others else ""))
    out_dir = Path(out).expanduser() if out else default_out_dir()
    results: list[tuple[Refreshed, Path]] = []
    for cloud in chosen:
        slow = registry.cloud(cloud).refresh_note
        sys.stderr.write(f"note: reading {cloud} list prices{slow}\n")
        try:
            result = refresh(cloud)
            path = write(result, out_dir)
        except MissingApiKey as exc:
            fail(MISSING, str(exc))
        except FetchError as exc:
            fail(FAILED, f"{cloud}: could not read prices: {exc}")
        except (OSError, ValueError) as exc:
            fail(FAILED, f"{cloud}: could not write the catalog to {out_dir}: {exc}")
        results.append((result, path))
    if json_mode:
        emit_json({"out_dir": str(out_dir), "clouds": {r.cloud: _summary(r, p) for r, p in results}})
        return
    console = stdout()
    if any(r.changes for r, _ in results):
        console.print(_change_table([r for r, _ in results]))
    for result, path in results:
        console.print(
            f"{result.cloud}: {result.refreshed} prices read, {len(result.changes)} changed, "
            f"{result.kept} kept from the shipped catalog -> {path}",
            markup=False,
        )
        for note in result.notes:
            sys.stderr.write(f"note: {note}\n")
        for warning in result.warnings:
            sys.stderr.write(f"warning: {result.cloud}: {warning}\n")
    console.print(f"use them with: export LLMCLOUD_CATALOG_DIR={out_dir}", markup=False)
