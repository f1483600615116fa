"""Sizing: the cheapest machine (accelerator type and count per node) that fits a set of models.

A candidate is every serving machine of the catalog offered in the region (spot if asked). Each model
runs with tensor parallelism over all the accelerators of one node, and must fit by the formula of
components/sizing.py with its KV cache for max_model_len at its expected concurrency. Candidates are
ranked by their hourly list price in that region (spot price for spot), then by fewer accelerators.
Quantized models are placed on GPUs only (vLLM's quantization kernels are CUDA kernels).
Multi-host slices (TPU pods, pipeline parallel) are not candidates: name them explicitly.

Pure Python: `validate` and `llmcloud size` run it without Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import catalog
from .sizing import Fit, ModelFacts, fit

# vLLM's fp8 kernels need compute capability 8.0 or newer (Ampere); the T4 is 7.5.
# https://docs.vllm.ai/en/latest/features/quantization/supported_hardware.html
QUANTIZATION_UNSUPPORTED: dict[str, set[str]] = {
    m: {"T4"} for m in ("fp8", "fp8_per_tensor", "fp8_per_block", "fp8_per_channel", "mxfp8")
}

Demand = tuple[ModelFacts, str | None, int | None, int, float]  # facts, quantization, max_model_len, seqs, gmu


@dataclass(frozen=True)
class Option:
    cloud: str
    region: str
    machine_type: str
    accelerator: str
    count: int
    spot: bool
    hourly: float
    fits: tuple[Fit, ...]

    def to_json(self) -> dict[str, object]:
        worst = max(self.fits, key=lambda f: f.needed_gib / f.usable_gib)
        return {
            "cloud": self.cloud,
            "region": self.region,
            "machine_type": self.machine_type,
            "accelerator": self.accelerator,
            "count": self.count,
            "spot": self.spot,
            "hourly_usd": round(self.hourly, 4),
            "monthly_usd": round(self.hourly * catalog.HOURS_PER_MONTH, 2),
            "needed_gib": round(worst.needed_gib, 1),
            "usable_gib": round(worst.usable_gib, 1),
        }


def options(demands: list[Demand], cloud: str, region: str, *, spot: bool = False) -> list[Option]:
    """Every machine in `region` of `cloud` on which each demand fits, cheapest first."""
    cat = catalog.load(cloud)
    zones = cat.regions.get(region, {})
    offered = {a for accs in zones.values() for a in accs}
    # vLLM's quantized kernels (fp8, AWQ, GPTQ) are CUDA kernels: quantized models size onto GPUs.
    gpu_only = any(q for _, q, _, _, _ in demands)
    out = []
    for machine in cat.machines:
        if not machine.serving or machine.accelerator not in offered:
            continue
        if gpu_only and cat.accelerators[machine.accelerator].kind != "gpu":
            continue
        if any(machine.accelerator in QUANTIZATION_UNSUPPORTED.get(q or "", set()) for _, q, _, _, _ in demands):
            continue
        if spot and not machine.spot:
            continue
        price = cat.machine_price(region, machine)
        if price is None or (spot and price.spot is None):
            continue
        memory = cat.accelerator_memory(machine)
        fits = tuple(
            fit(
                facts,
                accelerator_memory_gib=memory,
                accelerators=machine.count,
                quantization=q,
                max_model_len=length,
                gpu_memory_utilization=gmu,
                sequences=seqs,
            )
            for facts, q, length, seqs, gmu in demands
        )
        if all(f.fits for f in fits):
            out.append(
                Option(
                    cloud,
                    region,
                    machine.machine_type,
                    machine.accelerator or "",
                    machine.count,
                    spot,
                    price.hourly(spot),
                    fits,
                )
            )
    return sorted(out, key=lambda o: (o.hourly, o.count, o.machine_type))


def cheapest(demands: list[Demand], cloud: str, region: str, *, spot: bool = False) -> Option | None:
    found = options(demands, cloud, region, spot=spot)
    return found[0] if found else None
