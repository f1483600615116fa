"""llmcloud validate: load, validate, resolve; no Pulumi, no cloud SDK."""

from __future__ import annotations

import sys

from .common import emit_json, load, notice


def run(stack: str, cloud: str | None, json_mode: bool) -> None:
    from llmcloud.components.sizing import unknown_models

    from . import rehearse

    loaded, r = load(stack, cloud)
    found = rehearse.findings(r)  # the plan-free checks: dated versions and prices
    unchecked = unknown_models(r)
    pools = {
        name: {
            "accelerator": p.accelerator,
            "machine_type": p.machine_type,
            "accelerators_per_node": p.accelerators_per_node,
            "zones": list(p.zones),
            "min_nodes": p.min_nodes,
            "max_nodes": p.max_nodes,
            "spot": p.spot,
        }
        for name, p in r.node_pools.items()
    }
    if json_mode:
        from llmcloud.components.rehearsal import exit_code

        emit_json(
            {
                "valid": exit_code(found) != 2,
                "file": loaded.file,
                "stack": r.stack_name,
                "cloud": r.cloud,
                "region": r.region,
                "node_pools": pools,
                "models": sorted(r.models),
                "buckets": sorted(r.buckets),
                "protect_data": r.protect_data,
                "unchecked_models": unchecked,
                "rehearsal": [f.to_json() for f in found],
            }
        )
        rehearse.gate(found, what=f"edit {loaded.file}")
        return
    # Plain text: validate is the command people run most, and rich would add its import time.
    rehearse.show(found)
    rehearse.gate(found, what=f"edit {loaded.file}")
    lines = [
        f"✓ {loaded.file} is valid: stack {r.stack_name} on {r.cloud} {r.region}, "
        f"{len(r.node_pools)} node pool(s), {len(r.models)} model(s), {len(r.buckets)} bucket(s)"
        + (", data protected" if r.protect_data else "")
    ]
    for name, p in r.node_pools.items():
        acc = "CPU" if p.accelerator == "none" else f"{p.accelerators_per_node} × {p.accelerator}"
        lines.append(
            f"  node_pools.{name}: {p.machine_type} ({acc}), {p.min_nodes}..{p.max_nodes} nodes"
            + (" spot" if p.spot else "")
            + f", zones {', '.join(p.zones)}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    if unchecked:
        notice(f"not checked for fit (not in the catalog's models.yaml): {', '.join(unchecked)}")
    from .firstrun import advise_placeholders

    advise_placeholders(loaded)
    from llmcloud.components.serving_checks import serving_warnings

    for warning in serving_warnings(r):
        notice(warning)
