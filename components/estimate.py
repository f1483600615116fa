"""Serving performance of one model replica from first principles: `llmcloud estimate`, and the cost
table's $/M tokens. Pure Python (no Pulumi, no SDK).

A model of what vLLM does with continuous batching, every constant in the catalog
(catalog/data/performance.yaml) and tested against published measurements (calibration.yaml):

    KV capacity    = devices × (memory × gpu_memory_utilization − overhead) − weights
    max_concurrency = KV capacity ÷ (KV bytes per token × (input + output tokens)), at most max_num_seqs
    batch B        = min(concurrency, max_concurrency)       (the rest queue)
    prefill        = input × FLOPs per token ÷ (devices × dense peak at the precision × prefill efficiency)
                     FLOPs per token = 2 × params + 2 × layers × hidden × input  (causal attention, mean)
    decode step    = (weights + B × KV bytes per token × (input + output ÷ 2))
                     ÷ (devices × bandwidth × decode efficiency) + step overhead + TP all-reduces
    request rate r = B ÷ (output × step + B × prefill)        (prefill and decode share the devices)
    output tok/s   = r × output;  total tok/s = r × (input + output)
    TPOT           = step ÷ (1 − r × prefill)                 (decode steps wait for interleaved prefills)
    TTFT           = prefill + step + queue wait (concurrency − B) ÷ r

It is an estimate and says so; `llmcloud bench` measures the deployed endpoint.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamldata
from .sizing import GIB, KV_BYTES, ModelFacts, bytes_per_param

DATA = Path(__file__).parent / "catalog" / "data"
# quantization -> the precision its matmuls run in on a chip that has tensor cores for it
COMPUTE_PRECISION = {
    None: "bf16",
    "fp8": "fp8",
    "fp8_per_tensor": "fp8",
    "fp8_per_block": "fp8",
    "fp8_per_channel": "fp8",
    "mxfp8": "fp8",
}  # every other method (awq, gptq: 4-bit weights, 16-bit matmuls) computes in bf16


class EstimateError(ValueError):
    """The inputs cannot be estimated (unknown accelerator, model does not fit): the message says why."""


@dataclass(frozen=True)
class Engine:
    gpu_memory_utilization: float
    max_num_seqs: int
    decode_bandwidth_efficiency: float
    prefill_compute_efficiency: float
    step_overhead_ms: float
    sequence_step_us: float
    request_overhead_ms: float
    frontend_requests_per_second: float
    overhead_gib_per_device: float
    allreduce_us: float
    # accelerator -> its own prefill efficiency where measurements show one (tensor-core generations
    # reach different shares of their peaks); others use prefill_compute_efficiency
    prefill_efficiency_by_accelerator: dict[str, float] = field(default_factory=dict)

    def prefill_efficiency(self, accelerator: str) -> float:
        return self.prefill_efficiency_by_accelerator.get(accelerator, self.prefill_compute_efficiency)


@dataclass(frozen=True)
class Chip:
    name: str
    memory_gib: float
    bandwidth_gbps: float
    tflops: dict[str, float]

    def peak_tflops(self, quantization: str | None) -> float:
        return self.tflops.get(COMPUTE_PRECISION.get(quantization, "bf16"), self.tflops["bf16"])


@dataclass(frozen=True)
class Workload:
    input_tokens: int
    output_tokens: int
    concurrency: int | None = None  # None: find the largest that meets the latency targets
    ttft_ms: float | None = None
    tpot_ms: float | None = None


@dataclass
class Estimate:
    model: str
    accelerator: str
    count: int
    quantization: str | None
    input_tokens: int
    output_tokens: int
    concurrency: int
    max_concurrency: int
    output_tokens_per_second: float
    total_tokens_per_second: float
    ttft_ms: float
    tpot_ms: float
    meets_targets: bool = True
    machines: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": True,
            "model": self.model,
            "accelerator": self.accelerator,
            "count": self.count,
            "quantization": self.quantization,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "concurrency": self.concurrency,
            "max_concurrency": self.max_concurrency,
            "output_tokens_per_second": round(self.output_tokens_per_second, 1),
            "total_tokens_per_second": round(self.total_tokens_per_second, 1),
            "ttft_ms": round(self.ttft_ms, 1),
            "tpot_ms": round(self.tpot_ms, 2),
            "meets_targets": self.meets_targets,
            "machines": self.machines,
        }


@functools.cache
def _data() -> dict[str, Any]:
    return yamldata.load_file(DATA / "performance.yaml")


def engine_constants(**overrides: Any) -> Engine:
    base = dict(_data()["engine"])
    base.update(overrides)
    by_chip = {str(k): float(v) for k, v in (base.pop("prefill_efficiency_by_accelerator", None) or {}).items()}
    values = {k: float(v) for k, v in base.items()}
    max_num_seqs = int(values.pop("max_num_seqs"))
    return Engine(max_num_seqs=max_num_seqs, prefill_efficiency_by_accelerator=by_chip, **values)


@functools.cache
def _memory_gib() -> dict[str, float]:
    """Accelerator memory from the clouds' catalogs (the same rows sizing and pricing read)."""
    from . import catalog, registry

    memory: dict[str, float] = {}
    for cloud in registry.CLOUDS:
        for name, acc in catalog.load(cloud).accelerators.items():
            memory.setdefault(name, float(acc.memory_gib))
    return memory


def chip(name: str) -> Chip:
    rows = _data()["accelerators"]
    if name not in rows:
        raise EstimateError(f"no performance figures for accelerator {name!r}; known: {', '.join(sorted(rows))}")
    memory = _memory_gib().get(name)
    if memory is None:
        raise EstimateError(f"accelerator {name!r} is in no cloud's catalog")
    row = rows[name]
    return Chip(name, memory, float(row["bandwidth_gbps"]), {k: float(v) for k, v in row["tflops"].items()})


def _point(
    facts: ModelFacts, c: Chip, n: int, q: str | None, w: Workload, batch: int, e: Engine, concurrency: int
) -> tuple[float, float, float, float]:
    """(output tok/s, total tok/s, ttft ms, tpot ms) at `batch` sequences decoding, `concurrency` clients."""
    weights = facts.params_b * 1e9 * bytes_per_param(facts.dtype, q)
    kv_per_token = 2 * facts.layers * facts.kv_heads * facts.head_dim * KV_BYTES
    hidden = facts.hidden_size or facts.kv_heads * facts.head_dim * 4
    flops_per_token = 2 * facts.params_b * 1e9 + 2 * facts.layers * hidden * w.input_tokens
    prefill = w.input_tokens * flops_per_token / (n * c.peak_tflops(q) * 1e12 * e.prefill_efficiency(c.name))
    context = w.input_tokens + w.output_tokens / 2
    step = (
        (weights + batch * kv_per_token * context) / (n * c.bandwidth_gbps * 1e9 * e.decode_bandwidth_efficiency)
        + e.step_overhead_ms / 1e3
        + batch * e.sequence_step_us / 1e6
        + (2 * facts.layers * e.allreduce_us / 1e6 if n > 1 else 0.0)
    )
    # The API server admits, tokenizes and streams each request on the CPU: a ceiling on requests/s.
    rate = min(batch / (w.output_tokens * step + batch * prefill), e.frontend_requests_per_second)
    busy = min(rate * prefill, 0.95)
    tpot = step / (1 - busy)
    ttft = e.request_overhead_ms / 1e3 + prefill + step + max(concurrency - batch, 0) / rate
    return rate * w.output_tokens, rate * (w.input_tokens + w.output_tokens), ttft * 1e3, tpot * 1e3


def max_concurrency(facts: ModelFacts, c: Chip, n: int, q: str | None, w: Workload, e: Engine) -> int:
    weights = facts.params_b * 1e9 * bytes_per_param(facts.dtype, q)
    usable = n * (c.memory_gib * e.gpu_memory_utilization - e.overhead_gib_per_device) * GIB - weights
    kv_per_sequence = 2 * facts.layers * facts.kv_heads * facts.head_dim * KV_BYTES * (w.input_tokens + w.output_tokens)
    return max(0, min(e.max_num_seqs, math.floor(usable / kv_per_sequence)))


def estimate(
    facts: ModelFacts, accelerator: str, count: int, quantization: str | None, w: Workload, engine: Engine | None = None
) -> Estimate:
    e = engine or engine_constants()
    c = chip(accelerator)
    if count < 1:
        raise EstimateError("--count must be at least 1")
    cap = max_concurrency(facts, c, count, quantization, w, e)
    if cap < 1:
        raise EstimateError(
            f"{facts.name} does not fit {count}× {accelerator} with one {w.input_tokens + w.output_tokens}-token "
            f"sequence ({c.memory_gib:g} GiB each): use more accelerators, quantization or shorter requests"
        )
    meets = True
    if w.concurrency is not None:
        concurrency = w.concurrency
    else:  # the largest concurrency that meets both latency targets (the KV cache caps the batch)
        concurrency = 1
        for candidate in range(1, cap + 1):
            _, _, ttft, tpot = _point(facts, c, count, quantization, w, candidate, e, candidate)
            if (w.ttft_ms is None or ttft <= w.ttft_ms) and (w.tpot_ms is None or tpot <= w.tpot_ms):
                concurrency = candidate
            else:
                break
    batch = min(concurrency, cap)
    out, total, ttft, tpot = _point(facts, c, count, quantization, w, batch, e, concurrency)
    if (w.ttft_ms is not None and ttft > w.ttft_ms) or (w.tpot_ms is not None and tpot > w.tpot_ms):
        meets = False
    return Estimate(
        facts.name,
        accelerator,
        count,
        quantization,
        w.input_tokens,
        w.output_tokens,
        concurrency,
        cap,
        out,
        total,
        ttft,
        tpot,
        meets,
    )


def price_machines(result: Estimate, regions: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every cloud machine that carries `count` of the accelerator, with $/M tokens at its on-demand
    list price in `regions[cloud]` (or, where that region does not sell it, its cheapest region)."""
    from . import catalog, registry

    rows: list[dict[str, Any]] = []
    for cloud in registry.CLOUDS:
        cat = catalog.load(cloud)
        for machine in cat.machines_for(result.accelerator, result.count):
            priced = [(r, p) for r in sorted(cat.regions) if (p := cat.machine_price(r, machine)) is not None]
            if not priced:
                continue
            wanted = (regions or {}).get(cloud)
            region, price = next(((r, p) for r, p in priced if r == wanted), None) or min(
                priced, key=lambda rp: rp[1].hourly(spot=False)
            )
            hourly = price.hourly(spot=False)
            rows.append(
                {
                    "cloud": cloud,
                    "machine_type": machine.machine_type,
                    "region": region,
                    "usd_per_hour": round(hourly, 4),
                    "usd_per_million_output_tokens": round(hourly / (result.output_tokens_per_second * 3600) * 1e6, 4),
                    "usd_per_million_total_tokens": round(hourly / (result.total_tokens_per_second * 3600) * 1e6, 4),
                }
            )
    return sorted(rows, key=lambda r: r["usd_per_million_output_tokens"])
