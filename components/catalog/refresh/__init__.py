"""`llmcloud prices refresh`: rebuild the catalog's prices from the clouds' public pricing APIs.

For the machines and regions the shipped catalog already has, each cloud's fetcher (Cloud.fetch_prices,
in components/<cloud>/prices.py) reads list prices and returns a new `prices:` table. This module merges
it over the shipped one (a value the API did not give keeps its shipped value and is reported), drops
impossible values, checks the result with `validate.problems` against the shipped catalog, and writes a
full catalog file per cloud into a user directory. The shipped package data is never written; the loader
reads the user copy only when $LLMCLOUD_CATALOG_DIR points at it.
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...http import FetchError, Http
from .. import DATA
from ..validate import iter_prices, price_pair, problems
from .base import Fetched, targets

__all__ = [
    "Change",
    "FetchError",
    "Http",
    "MissingApiKey",
    "Refreshed",
    "default_out_dir",
    "refresh",
    "shipped",
    "write",
]


class MissingApiKey(Exception):
    """A cloud's pricing API needs an API key and none is set (Cloud.refresh_prerequisite says which)."""


@dataclass(frozen=True)
class Change:
    region: str
    section: str
    name: str
    old: float | None
    new: float
    kind: str = "on_demand"  # on_demand | spot

    @property
    def delta_pct(self) -> float | None:
        return None if not self.old else round((self.new - self.old) / self.old * 100, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "section": self.section,
            "name": self.name,
            "price": self.kind,
            "old": self.old,
            "new": self.new,
            "delta_pct": self.delta_pct,
        }


@dataclass
class Refreshed:
    cloud: str
    catalog: dict[str, Any]  # the full catalog to write (shipped rows, refreshed prices)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refreshed: int = 0  # prices taken from the API
    kept: int = 0  # prices kept from the shipped catalog (gaps)


def shipped(cloud: str) -> dict[str, Any]:
    """The shipped catalog of `cloud` as parsed YAML (never the user copy)."""
    with (DATA / f"{cloud}.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def default_out_dir() -> Path:
    return Path.home() / ".llmcloud" / "catalog"


def fetch(cloud: str, raw: dict[str, Any], http: Http, base_url: str | None = None) -> Fetched:
    """Read one cloud's list prices for the (region, machine) entries of `raw`."""
    from ... import registry

    return registry.cloud(cloud).fetch_prices(raw, targets(raw), http, base_url)


def _sane(pair: list[float | None]) -> tuple[float | None, float | None]:
    """Drop a non-positive on-demand price, and a spot price that is not below on-demand."""
    on_demand, spot = [*pair, None, None][:2]
    if on_demand is None or on_demand <= 0:
        return None, None
    if spot is not None and (spot <= 0 or spot >= on_demand):
        spot = None
    return on_demand, spot


def merge(raw: dict[str, Any], fetched: Fetched) -> Refreshed:
    """The shipped catalog with the fetched prices laid over it, and what changed."""
    result = Refreshed(cloud=str(raw.get("cloud")), catalog=copy.deepcopy(raw), notes=list(fetched.notes))
    result.catalog.update(copy.deepcopy(fetched.sections))  # e.g. Azure's vm_zones from the Resource SKUs API
    gaps: list[str] = []
    spot_gaps: list[str] = []
    for (region, section, name), value in iter_prices(raw):
        old_od, old_spot = price_pair(value)
        got = fetched.prices.get(region, {}).get(section, {}).get(name)
        new_od, new_spot = _sane(list(got)) if got else (None, None)
        if new_od is None:
            gaps.append(f"{name} in {region}")
            result.kept += 1
            continue
        if new_spot is None and old_spot is not None and old_spot < new_od:
            new_spot = old_spot  # the API gave no usable spot price: keep the shipped one
            if fetched.spot_from_api:
                spot_gaps.append(f"{name} in {region}")
        elif new_spot is None and old_spot is not None:
            result.warnings.append(
                f"{name} in {region}: shipped spot {old_spot} is not below the new on-demand {new_od}; spot dropped"
            )
        result.refreshed += 1
        result.catalog["prices"][region][section][name] = [new_od, new_spot]
        if new_od != old_od:
            result.changes.append(Change(region, section, name, old_od, new_od))
        if fetched.spot_from_api and new_spot != old_spot and new_spot is not None:
            result.changes.append(Change(region, section, name, old_spot, new_spot, "spot"))
    if gaps:
        result.warnings.append(f"not found in the API, shipped price kept ({len(gaps)}): {', '.join(gaps)}")
    if spot_gaps:
        result.warnings.append(
            f"no spot price in the API, shipped spot kept ({len(spot_gaps)}): {', '.join(spot_gaps)}"
        )
    return result


def refresh(
    cloud: str, http: Http | None = None, base_url: str | None = None, today: _dt.date | None = None
) -> Refreshed:
    """Fetch, merge, validate. Raises FetchError / MissingApiKey (one-line messages)."""
    raw = shipped(cloud)
    fetched = fetch(cloud, raw, http or Http(), base_url)
    result = merge(raw, fetched)
    result.catalog["as_of"] = (today or _dt.date.today()).isoformat()
    result.catalog["sources"] = [
        *fetched.sources,
        *(f"shipped catalog {raw.get('as_of')}: {s}" for s in raw.get("sources") or []),
    ]
    result.warnings.extend(problems(result.catalog, reference=raw))
    return result


def write(result: Refreshed, out_dir: Path) -> Path:
    """Write `<out_dir>/<cloud>.yaml` (same format as the shipped file); refuses the package data dir."""
    out_dir = out_dir.expanduser().resolve()
    if out_dir == DATA.resolve():
        raise ValueError(f"{out_dir} is the shipped catalog; choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result.cloud}.yaml"
    as_of = result.catalog["as_of"]
    header = (
        f"# {result.cloud} catalog refreshed by `llmcloud prices refresh` on {as_of}.\n"
        f"# Format: FORMAT.md in the llmcloud package (components/catalog/data). Used when\n"
        f"# LLMCLOUD_CATALOG_DIR={out_dir}. Prices the APIs did not return are the shipped ones.\n"
    )
    body = yaml.safe_dump(result.catalog, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)
    return path
