"""CLI speed benchmark: median wall time of whole `llmcloud` processes, against the targets.

    python bench/bench_cli.py [--runs N] [--json]

Each command runs in a fresh process (as a user or CI would run it) from the repository root.
A generated stack with 50 models on 10 pools checks that planning scales with stack size.
Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POOLS = [
    ("L4", 1),
    ("L4", 2),
    ("L4", 4),
    ("T4", 1),
    ("A100-40GB", 1),
    ("A100-80GB", 1),
    ("A100-80GB", 2),
    ("H100", 8),
    ("L4", 8),
    ("T4", 4),
]


def big_stack(directory: Path) -> Path:
    """10 pools, 50 models: the size of a large shared platform."""
    lines = ["extends: base.yaml", "environment: big", "node_pools:"]
    for i, (acc, n) in enumerate(POOLS):
        lines += [
            f"  pool-{i}:",
            f"    accelerator: {acc}",
            f"    accelerators_per_node: {n}",
            "    min_nodes: 0",
            "    max_nodes: 50",
        ]
    lines.append("models:")
    for m in range(50):
        lines += [
            f"  model-{m}:",
            "    source: hf://meta-llama/Llama-3.2-1B-Instruct",
            f"    node_pool: pool-{m % len(POOLS)}",
            "    max_model_len: 4096",
            "    replicas: {min: 0, max: 2}",
        ]
    (directory / "base.yaml").write_text((REPO / "stacks" / "base.yaml").read_text())
    path = directory / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def llmcloud() -> list[str]:
    exe = shutil.which("llmcloud", path=os.path.dirname(sys.executable)) or shutil.which("llmcloud")
    return [exe] if exe else [sys.executable, "-m", "llmcloud.cli.main"]


# As a user runs it: bytecode caching on (this sandbox exports PYTHONDONTWRITEBYTECODE=1, which would
# recompile llmcloud's modules on every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


Case = tuple[str, list[str], dict[str, str], "float | None"]  # label, command line, extra environment, target


def measure_all(cases: list[Case], runs: int) -> list[dict]:
    """Run every case `runs` times, round-robin (case 1, case 2, ..., case 1, ...), so a drift in the machine's
    speed during the call (this VM drifts by a third within minutes) moves every row alike; report each row's
    median wall and CPU seconds. CPU time is the figure to compare on a busy machine: wall time there includes
    waiting for a core."""
    walls: list[list[float]] = [[] for _ in cases]
    cpus: list[list[float]] = [[] for _ in cases]
    codes = [0] * len(cases)
    stdouts = [""] * len(cases)
    for _ in range(runs):
        for i, (_, command, extra, _) in enumerate(cases):
            before = os.times()
            start = time.perf_counter()
            proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env={**ENV, **extra})
            walls[i].append(time.perf_counter() - start)
            after = os.times()
            cpus[i].append(after.children_user - before.children_user + after.children_system - before.children_system)
            codes[i], stdouts[i] = proc.returncode, proc.stdout
    return [
        {
            "command": label,
            "median_s": round(statistics.median(walls[i]), 3),
            "min_s": round(min(walls[i]), 3),
            "cpu_s": round(statistics.median(cpus[i]), 3),
            "target_s": target,
            "exit": codes[i],
            "stdout": stdouts[i],
        }
        for i, (label, _, _, target) in enumerate(cases)
    ]


def _count(plan: Path) -> int:
    return len(json.loads(plan.read_text())["steps"])


# Issue 20's size target: the 50-model stack's preview within this multiple of the dev preview's
SIZE_RATIO = 1.5
DEV_TARGET = 1.2  # issue 20: the dev preview's median, seconds
DEV_PREVIEW = "llmcloud preview dev --offline --json"
BIG_PREVIEW = "preview (50 models, 10 pools) --offline --json"

# The SDKs and the Pulumi runtime exactly as shipped: no lazy SDK types, no engine fast paths (README, Performance)
AS_SHIPPED = {"LLMCLOUD_FULL_SDK_IMPORTS": "1", "LLMCLOUD_ENGINE_FAST_PATHS": "0"}


def floors(big_plan: Path) -> list[Case]:
    """What no llmcloud change can beat, measured the same way: an empty interpreter, and a bare Pulumi
    mock program registering exactly dev's golden plan (bench/floor_program.py), without and with the
    provider SDK modules imported; and the same bare program registering the 50-model stack's plan (what
    its resource count alone costs Pulumi's mock runtime); and both resource lists again under llmcloud's offline
    engine (its monitor and fast paths), what they cost llmcloud's runtime before any SDK class or program code."""
    golden = REPO / "tests" / "golden" / "plans" / "dev.gcp.json"
    floor = [sys.executable, str(REPO / "bench" / "floor_program.py"), str(golden)]
    big_floor = [sys.executable, str(REPO / "bench" / "floor_program.py"), str(big_plan)]
    return [
        ("python -c pass", [sys.executable, "-c", "pass"], {}, None),
        (f"floor: bare mock program, dev's {_count(golden)} resources", floor, {}, None),
        ("floor: the same + provider SDK imports", [*floor, "--import-sdks"], {}, None),
        ("floor: the same + only its resource classes", [*floor, "--import-classes"], {}, None),
        (f"floor: bare mock program, the 50-model stack's {_count(big_plan)} resources", big_floor, {}, None),
        (f"floor: dev's {_count(golden)} resources, llmcloud's engine", [*floor, "--fast-paths"], {}, None),
        (f"floor: the 50-model stack's {_count(big_plan)}, llmcloud's engine", [*big_floor, "--fast-paths"], {}, None),
    ]


def scaling(
    dev_s: float,
    big_s: float,
    n_dev: int,
    n_big: int,
    floor_dev_s: float,
    floor_big_s: float,
    ratio: float = SIZE_RATIO,
    engine_floor_dev_s: float | None = None,
    engine_floor_big_s: float | None = None,
) -> dict[str, float]:
    """The size target as a budget per resource. With a preview's time F + n*c (F what every preview pays, c what
    each of its n resources adds), two previews give c and F; "big <= ratio x dev" holds when
    c <= (ratio - 1) F / (n_big - ratio n_dev). The bare floors of the same two resource lists give what Pulumi's
    mock runtime alone costs per resource, and (when given) the same under llmcloud's engine what it costs there."""
    if n_big <= n_dev or n_big <= ratio * n_dev:
        raise ValueError(f"the big stack must have more than {ratio} x dev's {n_dev} resources, not {n_big}")
    per_resource = (big_s - dev_s) / (n_big - n_dev)
    fixed = dev_s - n_dev * per_resource
    found = {
        "per_resource_ms": round(1000 * per_resource, 2),
        "fixed_s": round(fixed, 3),
        "budget_per_resource_ms": round(1000 * (ratio - 1) * fixed / (n_big - ratio * n_dev), 2),
        "floor_per_resource_ms": round(1000 * (floor_big_s - floor_dev_s) / (n_big - n_dev), 2),
    }
    if engine_floor_dev_s is not None and engine_floor_big_s is not None:
        found["engine_floor_per_resource_ms"] = round(
            1000 * (engine_floor_big_s - engine_floor_dev_s) / (n_big - n_dev), 2
        )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    cli = llmcloud()
    with tempfile.TemporaryDirectory() as tmp:
        big = big_stack(Path(tmp))
        big_args = ["preview", str(big), "--offline", "--json", "--budget", "1e9"]
        subprocess.run([*cli, "--help"], cwd=REPO, capture_output=True, env=ENV)  # warm the bytecode cache
        subprocess.run([*cli, "preview", "dev", "--offline"], cwd=REPO, capture_output=True, env=ENV)
        first = subprocess.run([*cli, *big_args], cwd=REPO, capture_output=True, text=True, env=ENV)
        if first.returncode != 0:
            print(f"the 50-model stack did not plan:\n{first.stderr}", file=sys.stderr)
            return 1
        big_plan = Path(tmp) / "big-plan.json"  # its plan, for the floor of the same resources
        big_plan.write_text(first.stdout)
        # Targets: issue 20 (preview ≤ 1.2 s, the 50-model stack ≤ SIZE_RATIO x the dev preview, --help ≤ 100 ms).
        preview = ["preview", "dev", "--offline", "--json"]
        cases: list[Case] = [
            ("llmcloud --help", [*cli, "--help"], {}, 0.100),
            ("llmcloud validate dev", [*cli, "validate", "dev"], {}, 0.300),
            (DEV_PREVIEW, [*cli, *preview], {}, DEV_TARGET),
            ("  the same, SDKs and runtime as shipped", [*cli, *preview], AS_SHIPPED, None),
            ("llmcloud cost dev", [*cli, "cost", "dev"], {}, 3.0),
            ("llmcloud cost dev --compare", [*cli, "cost", "dev", "--compare"], {}, 6.0),
            (BIG_PREVIEW, [*cli, *big_args], {}, None),
            ("  the same, SDKs and runtime as shipped", [*cli, *big_args], AS_SHIPPED, None),
            *floors(big_plan),
        ]
        results = measure_all(cases, opts.runs)
    row = {r["command"]: r for r in results}
    dev, big = row[DEV_PREVIEW], row[BIG_PREVIEW]
    big["target_s"] = round(SIZE_RATIO * dev["median_s"], 3)
    floor_dev, floor_big = (r for r in results if r["command"].startswith("floor: bare mock program"))
    engine_dev, engine_big = (r for r in results if r["command"].endswith("llmcloud's engine"))
    scale = scaling(
        dev["median_s"],
        big["median_s"],
        len(json.loads(dev["stdout"])["steps"]),
        len(json.loads(big["stdout"])["steps"]),
        floor_dev["median_s"],
        floor_big["median_s"],
        engine_floor_dev_s=engine_dev["median_s"],
        engine_floor_big_s=engine_big["median_s"],
    )
    # The same target read as 1.5 x the dev preview's own 1.2 s target, not 1.5 x its measured time
    scale["big_within_1_5x_1_2s"] = big["median_s"] <= SIZE_RATIO * DEV_TARGET
    for r in results:
        r.pop("stdout")
        r["ok"] = r["exit"] == 0 and (r["target_s"] is None or r["median_s"] <= r["target_s"])
    if opts.json:
        doc = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "results": results, "scaling": scale}
        print(json.dumps(doc, indent=2))
    else:
        width = max(len(r["command"]) for r in results)
        print(f"{'command':<{width}}  median     min     cpu   target  ok")
        for r in results:
            ok = "yes" if r["ok"] else "NO"
            target = f"{r['target_s']:6.3f}s" if r["target_s"] is not None else "      -"
            times = f"{r['median_s']:6.3f}s {r['min_s']:6.3f}s {r['cpu_s']:6.3f}s"
            print(f"{r['command']:<{width}}  {times}  {target}  {ok}")
        print(
            f"\nper resource: {scale['per_resource_ms']} ms (fixed part {scale['fixed_s']} s); "
            f"the {SIZE_RATIO}x target allows {scale['budget_per_resource_ms']} ms; Pulumi's bare mock runtime alone: "
            f"{scale['floor_per_resource_ms']} ms; llmcloud's engine alone: {scale['engine_floor_per_resource_ms']} ms"
        )
        verdict = "within" if scale["big_within_1_5x_1_2s"] else "over"
        limit = SIZE_RATIO * DEV_TARGET
        print(f"the 50-model stack against {SIZE_RATIO} x the {DEV_TARGET} s target ({limit:.1f} s): {verdict}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
