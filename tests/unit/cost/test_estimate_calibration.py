"""`llmcloud estimate` against published measurements (components/catalog/data/calibration.yaml):
the engine constants are fitted on the `fit` rows only, and the held-out `test` rows must come within
the target (median error ≤ 1.35×, none beyond 2×), so a change to the model can fail here."""

from __future__ import annotations

import json
import statistics

import pytest
from llmcloud.components import estimate as E
from llmcloud.components import estimate_fit
from llmcloud.components.sizing import facts_for


def test_committed_constants_are_what_the_fit_gives():
    fitted = estimate_fit.fit()
    committed = E.engine_constants()
    assert fitted.prefill_efficiency_by_accelerator == pytest.approx(committed.prefill_efficiency_by_accelerator)
    for name in estimate_fit.GRID:
        if not name.startswith("prefill:"):
            assert getattr(fitted, name) == pytest.approx(getattr(committed, name)), name


def test_held_out_measurements_within_target():
    held_out = [m for m in estimate_fit.measurements() if m["role"] == "test"]
    fitted_on = [m for m in estimate_fit.measurements() if m["role"] == "fit"]
    assert len(held_out) >= 5 and len(fitted_on) >= 5
    assert not {m["id"] for m in held_out} & {m["id"] for m in fitted_on}
    ratios = [ratio for *_, ratio in estimate_fit.errors(held_out, E.engine_constants())]
    assert statistics.median(ratios) <= 1.35, ratios
    assert max(ratios) <= 2.0, ratios


def test_every_measurement_names_its_source_and_configuration():
    for m in estimate_fit.measurements():
        assert m["source"] and m["engine"].startswith("vllm ") and m["role"] in ("fit", "test"), m["id"]
        assert facts_for(f"hf://{m['model']}") is not None, m["model"]
        E.chip(m["accelerator"])  # has performance figures and catalog memory


def test_kv_cache_caps_concurrency_on_a_small_gpu():
    """Llama-3.1-8B on one L4 at 4k-token requests: the KV cache holds a handful, not the 32 assumed before."""
    facts = facts_for("hf://meta-llama/Llama-3.1-8B-Instruct")
    result = E.estimate(facts, "L4", 1, None, E.Workload(3500, 500, 64))
    assert 5 <= result.max_concurrency <= 12
    assert result.concurrency == 64 and result.ttft_ms > 10_000  # the rest queue: TTFT shows it


def test_latency_targets_choose_the_concurrency():
    facts = facts_for("hf://Qwen/Qwen3-14B")
    loose = E.estimate(facts, "H100", 1, None, E.Workload(2000, 200, None, ttft_ms=5000, tpot_ms=60))
    tight = E.estimate(facts, "H100", 1, None, E.Workload(2000, 200, None, ttft_ms=5000, tpot_ms=25))
    assert loose.meets_targets and tight.meets_targets
    assert loose.concurrency > tight.concurrency >= 1
    assert tight.tpot_ms <= 25 and loose.tpot_ms <= 60


def test_more_bandwidth_and_fp8_are_faster():
    facts = facts_for("hf://meta-llama/Llama-3.1-70B-Instruct")
    w = E.Workload(1000, 200, 16)
    h100 = E.estimate(facts, "H100", 2, "fp8", w)
    h200 = E.estimate(facts, "H200", 2, "fp8", w)
    bf16 = E.estimate(facts, "H100", 4, None, w)
    assert h200.output_tokens_per_second > h100.output_tokens_per_second
    assert h100.tpot_ms < E.estimate(facts, "H100", 2, "fp8", E.Workload(1000, 200, 64)).tpot_ms
    assert bf16.max_concurrency > h100.max_concurrency  # twice the memory for the KV cache


def test_estimate_cli_json_and_errors(cli):
    result = cli(
        "estimate",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--accelerator",
        "L4",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "200",
        "--concurrency",
        "8",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "output_tokens_per_second",
        "total_tokens_per_second",
        "ttft_ms",
        "tpot_ms",
        "max_concurrency",
        "machines",
    ):
        assert key in data
    assert data["machines"] and {"cloud", "machine_type", "usd_per_hour", "usd_per_million_output_tokens"} <= set(
        data["machines"][0]
    )
    assert {m["cloud"] for m in data["machines"]} >= {"gcp", "aws"}
    first = data["machines"][0]
    assert first["usd_per_million_output_tokens"] == pytest.approx(
        first["usd_per_hour"] / (data["output_tokens_per_second"] * 3600) * 1e6, rel=0.01
    )
    for args, needle in (
        (["--concurrency", "4", "--ttft-ms", "100"], "not both"),
        ([], "give --concurrency"),
        (["--concurrency", "0"], "--concurrency must be"),
        (["--ttft-ms", "nan"], "--ttft-ms must be"),
        (["--concurrency", "1", "-q", "awq4"], "unknown quantization 'awq4'"),
    ):
        bad = cli(
            "estimate",
            "meta-llama/Llama-3.1-8B-Instruct",
            "-a",
            "L4",
            "--input-tokens",
            "10",
            "--output-tokens",
            "10",
            *args,
        )
        assert bad.exit_code == 2 and needle in bad.stderr, (args, bad.stderr)
    too_big = cli(
        "estimate",
        "meta-llama/Llama-3.1-405B-Instruct",
        "-a",
        "L4",
        "--input-tokens",
        "10",
        "--output-tokens",
        "10",
        "--concurrency",
        "1",
    )
    assert too_big.exit_code == 2 and "does not fit" in too_big.stderr
