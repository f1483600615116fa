"""The fit check: weights + KV cache + overhead against accelerator memory (components/sizing.py)."""

from __future__ import annotations

import pytest
from helpers import resolved
from llmcloud.components import sizing

GIB = 2**30


def test_formula_llama_8b_bf16_at_8192_by_hand() -> None:
    facts = sizing.facts_for("hf://meta-llama/Llama-3.1-8B-Instruct")
    assert facts is not None and facts.layers == 32 and facts.kv_heads == 8 and facts.head_dim == 128
    f = sizing.fit(facts, accelerator_memory_gib=24, accelerators=1, max_model_len=8192)
    weights = 8.03e9 * 2 / GIB  # 14.957 GiB
    kv = 2 * 32 * 8 * 128 * 2 * 8192 / GIB  # K and V, 32 layers, 8 KV heads of 128, bf16: exactly 1 GiB
    overhead = 1.5 * 1 + 0.05 * weights  # 2.248 GiB
    assert f.weights_gib == pytest.approx(weights) == pytest.approx(14.957, abs=1e-3)
    assert f.kv_cache_gib == pytest.approx(kv) == 1.0
    assert f.overhead_gib == pytest.approx(overhead)
    assert f.needed_gib == pytest.approx(18.205, abs=1e-3)
    assert f.usable_gib == pytest.approx(24 * 0.90)  # one L4
    assert f.fits


def test_quantization_bytes_per_param() -> None:
    facts = sizing.facts_for("hf://meta-llama/Llama-3.3-70B-Instruct")
    assert facts is not None
    bf16 = sizing.weights_gib(facts, None)
    assert sizing.weights_gib(facts, "fp8") == pytest.approx(bf16 / 2)
    assert sizing.weights_gib(facts, "awq") == pytest.approx(bf16 / 4 * 1.05)


@pytest.mark.parametrize(
    "source",
    [
        "hf://meta-llama/Llama-3.1-8B-Instruct",
        "hf://meta-llama/Llama-3.1-8B-Instruct@main",
        "bucket://weights/meta-llama/Llama-3.1-8B-Instruct",
        "gs://b/models/meta-llama/llama-3.1-8b-instruct",
        "s3://b/llama-3.1-8b",
    ],
)
def test_model_matching(source: str) -> None:
    facts = sizing.facts_for(source)
    assert facts is not None and facts.name == "meta-llama/Llama-3.1-8B-Instruct"


def test_unknown_model_is_not_checked(write_stack) -> None:
    path = write_stack("""
        extends: base.yaml
        node_pools:
          l4: {accelerator: L4, max_nodes: 1}
        models:
          mine: {source: "hf://someone/unheard-of-model", node_pool: l4}
    """)
    r = resolved(path)
    assert sizing.check_fit(r) == []
    assert sizing.unknown_models(r) == ["mine"]


def test_bundled_stacks_fit() -> None:
    for stack in ("dev", "prod", "gcp-tpu"):
        assert sizing.check_fit(resolved(f"stacks/{stack}.yaml")) == [], stack


def test_too_large_for_its_pool_exits_2_with_the_numbers(cli, write_stack) -> None:
    path = write_stack("""
        extends: base.yaml
        node_pools:
          l4: {accelerator: L4, accelerators_per_node: 1, max_nodes: 2}
        models:
          llama-70b:
            source: hf://meta-llama/Llama-3.3-70B-Instruct
            node_pool: l4
            max_model_len: 8192
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    err = result.stderr
    assert "models.llama-70b.node_pool" in err
    assert "llama-70b needs 142.0 GiB (weights 131.4 + KV cache 2.5 at 8192 tokens + overhead 8.1)" in err
    assert "pool l4 gives 1 × 24 GiB × 0.90 = 21.6 GiB" in err
    assert "quantization" in err and "max_model_len" in err


def test_default_context_is_the_models_own(cli, write_stack) -> None:
    # No max_model_len: vLLM serves the full 131072 tokens, whose KV cache (16 GiB) does not fit one L4.
    path = write_stack("""
        extends: base.yaml
        node_pools:
          l4: {accelerator: L4, max_nodes: 1}
        models:
          llama-8b: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: l4}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2 and "KV cache 16.0 at 131072 tokens" in result.stderr


def test_one_that_fits_passes(cli, write_stack) -> None:
    path = write_stack("""
        extends: base.yaml
        node_pools:
          l4: {accelerator: L4, max_nodes: 1}
        models:
          llama-8b: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: l4, max_model_len: 8192}
    """)
    result = cli("validate", path)
    assert result.exit_code == 0, result.stderr
