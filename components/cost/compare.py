"""The same stack priced on every cloud (`llmcloud cost --compare`), and two stacks side by side (`--diff`).

For each cloud the stack is resolved in that cloud's region (its gcp:/aws:/azure: block). A pool whose
accelerator the cloud does not offer there gets the equivalent: the cheapest offered machine with the
same number of accelerators and at least the same memory per accelerator (else at least the same memory
per node), and a note says so. Each cloud is planned offline in its own process (the SDKs are large and
the mock runtime is per process), in parallel.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from .. import catalog
from ..spec.errors import StackErrors
from ..spec.load import LoadedStack, load_stack
from ..spec.model import CLOUDS


@dataclass
class CloudCost:
    cloud: str
    cost: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "cost": self.cost, "notes": self.notes, "error": self.error}


def equivalent(loaded: LoadedStack, cloud: str) -> tuple[LoadedStack, list[str]]:
    """The stack with every pool mapped to what `cloud` offers in its region, and notes on each change."""
    spec = loaded.spec
    region = spec.region_for(cloud)
    cat = catalog.load(cloud)
    if region not in cat.regions:
        return loaded, []
    offered = set(cat.offered_accelerators(region))
    notes: list[str] = []
    pools = {}
    for name, pool in spec.node_pools.items():
        if pool.accelerator in ("none", "auto") or pool.accelerator in offered:
            pools[name] = pool
            continue
        memory = _memory_of(spec.cloud, pool.accelerator)
        choice = _pick(cat, region, offered, pool.accelerators_per_node, memory, pool.spot)
        if choice is None:
            notes.append(
                f"node_pools.{name}: {pool.accelerator} is not offered on {cloud} {region} and nothing "
                "equivalent is; left out of the comparison"
            )
            continue
        notes.append(
            f"node_pools.{name}: {pool.accelerator} is not offered on {cloud} {region}; priced "
            f"{choice.count} × {choice.accelerator} ({choice.machine_type}) instead"
        )
        pools[name] = pool.model_copy(
            update={
                "accelerator": choice.accelerator,
                "accelerators_per_node": choice.count,
                "tpu_topology": None,
                "machine_type": {cloud: choice.machine_type},
            }
        )
    models = {n: m for n, m in spec.models.items() if m.node_pool in pools}
    if len(models) < len(spec.models):
        notes.append(
            "models without a pool on this cloud are left out: " + ", ".join(sorted(set(spec.models) - set(models)))
        )
    new_spec = spec.model_copy(update={"node_pools": pools, "models": models, "cloud": cloud})
    return LoadedStack(new_spec, loaded.file, loaded.positions), notes


def _memory_of(cloud: str, accelerator: str) -> float:
    for c in (cloud, *CLOUDS):
        acc = catalog.load(c).accelerators.get(accelerator)
        if acc:
            return acc.memory_gib
    return 0.0


def _pick(
    cat: catalog.CloudCatalog, region: str, offered: set[str], count: int, memory: float, spot: bool
) -> catalog.Machine | None:
    def price(m: catalog.Machine) -> float | None:
        p = cat.machine_price(region, m)
        if p is None or (spot and (not m.spot or p.spot is None)):
            return None
        return p.hourly(spot)

    rows = [m for m in cat.machines if m.serving and m.accelerator in offered and price(m) is not None]
    same_count = [m for m in rows if m.count == count and cat.accelerator_memory(m) >= memory]
    if same_count:
        return min(same_count, key=lambda m: price(m) or 0.0)
    total = [m for m in rows if m.count * cat.accelerator_memory(m) >= count * memory]
    return min(total, key=lambda m: price(m) or 0.0) if total else None


def price_on(stack: str, cloud: str) -> dict[str, Any]:
    """Worker: resolve, plan offline and price `stack` on `cloud` (runs in a child process)."""
    from ..cost import cost_for
    from ..engine import offline
    from ..registry import MissingPrerequisite, require_sdk
    from ..resolve import resolve

    result = CloudCost(cloud)
    try:
        require_sdk(cloud)
        loaded, notes = equivalent(load_stack(stack), cloud)
        result.notes = notes
        resolved = resolve(loaded, cloud)
        result.cost = cost_for(offline.run(resolved), resolved)
    except MissingPrerequisite as exc:
        result.error = str(exc)
    except StackErrors as exc:
        result.error = exc.render()
    return result.to_json()


def compare(stack: str, clouds: tuple[str, ...] = CLOUDS, parallel: bool = True) -> list[dict[str, Any]]:
    """Price `stack` on each cloud. In parallel, each cloud is planned by its own `llmcloud` process
    (`_price-on`): the SDKs are large, the mock runtime is one per process, and a CLI process leaves
    without the second-long interpreter teardown a pool worker would pay."""
    if not parallel or len(clouds) == 1:
        return [price_on(stack, c) for c in clouds]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "llmcloud.cli.main", "_price-on", stack, c],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in clouds
    ]
    results = []
    for cloud, proc in zip(clouds, procs, strict=True):
        out, err = proc.communicate()
        try:
            results.append(json.loads(out))
        except ValueError:
            results.append(CloudCost(cloud, error=(err.strip().splitlines() or ["no output"])[-1]).to_json())
    return results


def diff(base: dict[str, Any], other: dict[str, Any]) -> list[dict[str, Any]]:
    """Per resource: monthly expected/max in `base` and `other`, and the change (other - base)."""

    def by_resource(cost: dict[str, Any]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for line in cost["lines"]:
            agg = out.setdefault(line["resource"], {"expected": 0.0, "max": 0.0})
            agg["expected"] += line["monthly"]["expected"]
            agg["max"] += line["monthly"]["max"]
        return out

    a, b = by_resource(base), by_resource(other)
    rows = []
    for resource in sorted(set(a) | set(b)):
        x = a.get(resource, {"expected": 0.0, "max": 0.0})
        y = b.get(resource, {"expected": 0.0, "max": 0.0})
        rows.append(
            {
                "resource": resource,
                "base_expected": round(x["expected"], 2),
                "other_expected": round(y["expected"], 2),
                "delta_expected": round(y["expected"] - x["expected"], 2),
                "delta_max": round(y["max"] - x["max"], 2),
            }
        )
    return rows
