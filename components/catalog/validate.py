"""Sanity checks of a catalog's prices, for the shipped data files and for refreshed ones alike.

`problems(raw)` takes the parsed YAML of one cloud (the dict `yaml.safe_load` returns) and lists what
is wrong, one line each; an empty list means the catalog can be trusted as far as these checks go.
With `reference` (the shipped catalog), a refreshed catalog is also compared with it: gaps (a price
the reference has and the new one lacks) and values off by more than x3 are listed, because such a
jump is far more often a misread SKU (a discounted, committed-use or placeholder price) than a
real price change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_RATIO = 3.0
SECTIONS = ("machines", "accelerators", "cpu_machines")

PriceKey = tuple[str, str, str]  # region, section, name


def price_pair(value: Any) -> tuple[Any, Any]:
    """(on_demand, spot) of one price entry, in any of the forms the loader accepts."""
    if isinstance(value, dict):
        return value.get("on_demand"), value.get("spot")
    if isinstance(value, list):
        padded = [*value, None, None]
        return padded[0], padded[1]
    return value, None


def iter_prices(raw: dict[str, Any]) -> Iterator[tuple[PriceKey, Any]]:
    for region, sections in (raw.get("prices") or {}).items():
        for section in SECTIONS:
            for name, value in ((sections or {}).get(section) or {}).items():
                yield (region, section, name), value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def pair_problems(key: PriceKey, value: Any) -> list[str]:
    """Zero, negative or non-numeric prices; a spot price not below on-demand."""
    region, section, name = key
    where = f"prices.{region}.{section}.{name}"
    on_demand, spot = price_pair(value)
    out = []
    if not _is_number(on_demand) or on_demand <= 0:
        out.append(f"{where}: on-demand price {on_demand!r} is not a positive number")
    if spot is not None and (not _is_number(spot) or spot <= 0):
        out.append(f"{where}: spot price {spot!r} is not a positive number (use null when spot is not sold)")
    elif spot is not None and _is_number(on_demand) and spot >= on_demand:
        out.append(f"{where}: spot price {spot} is not below the on-demand price {on_demand}")
    return out


def _name_problems(raw: dict[str, Any]) -> list[str]:
    """Every priced name is a machine, accelerator or CPU machine of this catalog; every region is listed."""
    machines = {m["machine_type"] for m in raw.get("machines") or []}
    cpu = {m["machine_type"] for m in raw.get("cpu_machines") or []}
    billed = {n for n, a in (raw.get("accelerators") or {}).items() if a.get("billing") in ("attached", "per_chip")}
    known = {"machines": machines, "cpu_machines": cpu, "accelerators": billed}
    regions = set(raw.get("regions") or {})
    out = [f"prices.{r}: region is not under `regions`" for r in (raw.get("prices") or {}) if r not in regions]
    for (region, section, name), _ in iter_prices(raw):
        if name not in known[section]:
            kind = section[:-1].replace("_", " ")
            out.append(f"prices.{region}.{section}.{name}: not a {kind} of this catalog")
    return out


def _coverage_problems(raw: dict[str, Any]) -> list[str]:
    """Every accelerator a region offers can be priced there; every CPU machine is priced everywhere."""
    accelerators = raw.get("accelerators") or {}
    cpu = [m["machine_type"] for m in raw.get("cpu_machines") or []]
    out = []
    for region, info in (raw.get("regions") or {}).items():
        table = (raw.get("prices") or {}).get(region) or {}
        priced = set(table.get("machines") or {})
        offered = sorted({a for accs in ((info or {}).get("zones") or {}).values() for a in accs or []})
        for acc in offered:
            billing = (accelerators.get(acc) or {}).get("billing", "bundled")
            if billing in ("attached", "per_chip") and acc not in (table.get("accelerators") or {}):
                out.append(f"prices.{region}.accelerators.{acc}: offered in {region} but has no price")
            if billing == "per_chip":
                continue
            rows = [m["machine_type"] for m in raw.get("machines") or [] if m.get("accelerator") == acc]
            if not priced.intersection(rows):
                out.append(f"prices.{region}.machines: {acc} is offered in {region} but no {acc} machine has a price")
        missing = [name for name in cpu if name not in (table.get("cpu_machines") or {})]
        if missing:
            out.append(f"prices.{region}.cpu_machines: no price for {', '.join(missing)}")
    return out


def ratio(old: float, new: float) -> float:
    """How far apart two prices are, as a factor >= 1."""
    return max(old, new) / min(old, new)


def _reference_problems(raw: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    new = dict(iter_prices(raw))
    out = []
    gaps = sorted(key for key, _ in iter_prices(reference) if key not in new)
    if gaps:
        out.append("no price for " + ", ".join(f"{n} in {r}" for r, _, n in gaps))
    for key, ref_value in iter_prices(reference):
        if key not in new:
            continue
        pairs = zip(("on-demand", "spot"), price_pair(ref_value), price_pair(new[key]), strict=True)
        for label, old, value in pairs:
            comparable = _is_number(old) and _is_number(value) and old > 0 and value > 0
            if comparable and ratio(old, value) > MAX_RATIO:
                region, section, name = key
                out.append(
                    f"prices.{region}.{section}.{name}: {label} {value} is more than x{MAX_RATIO:g} "
                    f"away from {old} (a discounted or placeholder SKU?)"
                )
    return out


def problems(raw: dict[str, Any], reference: dict[str, Any] | None = None) -> list[str]:
    """Everything wrong with the prices of one cloud's catalog, one line each ([] = none).

    `reference`: an earlier catalog of the same cloud (the shipped one) to compare with.
    """
    out: list[str] = []
    for key, value in iter_prices(raw):
        out.extend(pair_problems(key, value))
    out.extend(_name_problems(raw))
    out.extend(_coverage_problems(raw))
    if reference is not None:
        out.extend(_reference_problems(raw, reference))
    return out
