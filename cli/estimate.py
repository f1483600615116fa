"""llmcloud estimate MODEL: throughput, latency and $/M tokens of one replica for a workload (an estimate,
from components/estimate.py; `llmcloud bench` measures a deployed endpoint)."""

from __future__ import annotations

from .common import INVALID, emit_json, fail, stdout


def run(
    model: str,
    *,
    accelerator: str,
    count: int,
    quantization: str | None,
    input_tokens: int,
    output_tokens: int,
    concurrency: int | None,
    ttft_ms: float | None,
    tpot_ms: float | None,
    json_mode: bool,
) -> None:
    from llmcloud.components import estimate as E
    from llmcloud.components.sizing import QUANT_BYTES, facts_for, load_models

    from .size import default_region

    if concurrency is not None and (ttft_ms is not None or tpot_ms is not None):
        fail(INVALID, "give either --concurrency or latency targets (--ttft-ms / --tpot-ms), not both")
    if concurrency is None and ttft_ms is None and tpot_ms is None:
        fail(INVALID, "give --concurrency C, or latency targets --ttft-ms T and/or --tpot-ms P")
    for flag, value in (
        ("--input-tokens", input_tokens),
        ("--output-tokens", output_tokens),
        ("--count", count),
        ("--concurrency", concurrency),
    ):
        if value is not None and not 1 <= value <= 10_000_000:
            fail(INVALID, f"{flag} must be a whole number from 1 to 10000000, got {value}")
    for flag, target in (("--ttft-ms", ttft_ms), ("--tpot-ms", tpot_ms)):
        if target is not None and not (target > 0 and target < 1e9):  # also refuses nan
            fail(INVALID, f"{flag} must be a positive number of milliseconds, got {target}")
    if quantization is not None and quantization not in QUANT_BYTES:
        fail(INVALID, f"unknown quantization {quantization!r}; allowed: {', '.join(sorted(QUANT_BYTES))}")
    facts = facts_for(model if "://" in model else f"hf://{model}")
    if facts is None:
        known = ", ".join(sorted(f.name for f in load_models().values())[:6])
        fail(INVALID, f"unknown model {model!r}: give a Hugging Face id from the catalog (e.g. {known}, ...)")
    workload = E.Workload(input_tokens, output_tokens, concurrency, ttft_ms, tpot_ms)
    try:
        result = E.estimate(facts, accelerator, count, quantization, workload)
    except E.EstimateError as exc:
        fail(INVALID, str(exc))
    from llmcloud.components.registry import CLOUDS

    result.machines = E.price_machines(result, {c: default_region(c) for c in CLOUDS})
    if json_mode:
        emit_json(result.to_json())
        return
    out = stdout()
    out.print(
        f"[bold]{facts.name}[/bold] on {count}× {accelerator}"
        f"{f' ({quantization})' if quantization else ''}, {input_tokens} in / {output_tokens} out, "
        f"concurrency {result.concurrency} (ESTIMATE)",
        highlight=False,
    )
    out.print(
        f"  output {result.output_tokens_per_second:,.0f} tok/s, total {result.total_tokens_per_second:,.0f}"
        f" tok/s; TTFT p50 {result.ttft_ms:,.0f} ms, TPOT p50 {result.tpot_ms:,.1f} ms",
        highlight=False,
    )
    out.print(f"  the KV cache holds {result.max_concurrency} such sequences at once", highlight=False)
    if not result.meets_targets:
        out.print("  [yellow]the latency targets cannot be met even at concurrency 1 on this hardware[/yellow]")
    if not result.machines:
        out.print(f"  no cloud machine in the catalog carries {count}× {accelerator}", highlight=False)
    for m in result.machines[:8]:
        out.print(
            f"  {m['cloud']:5} {m['machine_type']:22} {m['region']:16} ${m['usd_per_hour']:>8.2f}/h  "
            f"${m['usd_per_million_output_tokens']:>8.2f}/M out  "
            f"${m['usd_per_million_total_tokens']:>7.2f}/M all",
            highlight=False,
        )
