"""Fit the engine constants of catalog/data/performance.yaml on the `role: fit` rows of
calibration.yaml (deterministic coordinate descent on the log error), and score any rows.

    python -m llmcloud.components.estimate_fit        # prints the fitted constants and every row's error

The test (tests/unit/cost/test_estimate_calibration.py) refits, checks the committed constants are
what the fit gives, and scores the held-out `role: test` rows against the target.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import replace
from typing import Any

from . import estimate as E
from . import yamldata
from .sizing import load_models

# constant -> the values the search may take (coarse, so the fit is fast and stable)
GRID: dict[str, list[float]] = {
    "decode_bandwidth_efficiency": [0.55 + 0.05 * i for i in range(8)],
    "prefill:H100": [0.3 + 0.05 * i for i in range(10)],
    "prefill:A100-80GB": [0.3 + 0.05 * i for i in range(12)],
    "step_overhead_ms": [0.5, 1.0, 1.5, 2.0, 3.0],
    "sequence_step_us": [0, 20, 40, 60, 80, 100, 120],
    "request_overhead_ms": [0, 10, 20, 30, 40, 50, 60],
    "frontend_requests_per_second": [30, 35, 40, 45, 50, 60, 80],
}


@functools.cache
def measurements() -> list[dict[str, Any]]:
    return yamldata.load_file(E.DATA / "calibration.yaml")["measurements"]


def errors(rows: list[dict[str, Any]], engine: E.Engine) -> list[tuple[str, str, float, float, float]]:
    """(row id, metric, measured, estimated, ratio ≥ 1) for every metric of every row."""
    models = load_models()
    out = []
    for m in rows:
        facts = models[m["model"].lower()]
        w = E.Workload(int(m["input_tokens"]), int(m["output_tokens"]), int(m["concurrency"]))
        r = E.estimate(facts, m["accelerator"], int(m["count"]), m.get("quantization"), w, engine)
        got = {
            "output_tokens_per_second": r.output_tokens_per_second,
            "total_tokens_per_second": r.total_tokens_per_second,
            "ttft_ms": r.ttft_ms,
            "tpot_ms": r.tpot_ms,
        }
        for metric, measured in m["measured"].items():
            estimated = got[metric]
            out.append((m["id"], metric, float(measured), estimated, max(estimated / measured, measured / estimated)))
    return out


def _loss(rows: list[dict[str, Any]], engine: E.Engine) -> float:
    return sum(math.log(ratio) ** 2 for *_, ratio in errors(rows, engine))


def _with(engine: E.Engine, key: str, value: float) -> E.Engine:
    if key.startswith("prefill:"):
        by_chip = dict(engine.prefill_efficiency_by_accelerator)
        by_chip[key.split(":", 1)[1]] = value
        return replace(engine, prefill_efficiency_by_accelerator=by_chip)
    return replace(engine, **{key: value})


def fit(rows: list[dict[str, Any]] | None = None, rounds: int = 3) -> E.Engine:
    rows = rows if rows is not None else [m for m in measurements() if m["role"] == "fit"]
    engine = E.engine_constants()
    for _ in range(rounds):
        for key, values in GRID.items():
            engine = min((_with(engine, key, v) for v in values), key=lambda e: _loss(rows, e))
    by_chip = engine.prefill_efficiency_by_accelerator
    return replace(
        engine,
        prefill_compute_efficiency=round(statistics.fmean(by_chip.values()), 3)
        if by_chip
        else engine.prefill_compute_efficiency,
    )


def main() -> None:
    engine = fit()
    print(engine)
    for role in ("fit", "test"):
        rows = [m for m in measurements() if m["role"] == role]
        for row in errors(rows, engine):
            print(f"{role:4} {row[0]:30} {row[1]:26} measured {row[2]:9.1f} estimated {row[3]:9.1f} ×{row[4]:.2f}")


if __name__ == "__main__":
    main()
