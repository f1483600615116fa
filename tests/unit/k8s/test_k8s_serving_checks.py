"""validate refuses what would not come up: quantization the checkpoint cannot take, object-store weights
on Neuron, node disks too small for their pods, image overrides of images llmcloud does not deploy."""

from __future__ import annotations

import pytest
from helpers import resolved
from llmcloud.components.k8s import images


def _validate(cli, write_stack, text: str) -> tuple[int, str]:
    result = cli("validate", write_stack(text))
    return result.exit_code, result.stderr


def _one_model(name: str, pool: str, accelerator: str, source: str, quantization: str, context: bool = True) -> str:
    """A stack of one model with `quantization` on a one-node pool (max_model_len 4096 unless `context` is off)."""
    length = ", max_model_len: 4096" if context else ""
    return f"""
        extends: base.yaml
        node_pools: {{{pool}: {{accelerator: {accelerator}, max_nodes: 1}}}}
        models:
          {name}: {{source: {source}, node_pool: {pool}, quantization: {quantization}{length}}}
    """


@pytest.mark.parametrize("method", ["awq", "gptq", "awq_marlin"])
def test_pre_quantized_method_on_a_bf16_checkpoint_is_refused(cli, write_stack, method: str) -> None:
    code, err = _validate(cli, write_stack, _one_model("qwen", "t4", "T4", "hf://Qwen/Qwen2.5-7B-Instruct", method))
    assert code == 2
    assert "models.qwen.quantization" in err and "bfloat16 checkpoint" in err
    assert "fp8_per_tensor or fp8_per_block" in err


def test_awq_checkpoint_with_awq_passes_and_with_fp8_is_refused(cli, write_stack) -> None:
    awq = "hf://Qwen/Qwen2.5-7B-Instruct-AWQ"
    assert _validate(cli, write_stack, _one_model("qwen", "t4", "T4", awq, "awq"))[0] == 0
    code, err = _validate(cli, write_stack, _one_model("qwen", "t4", "T4", awq, "fp8"))
    assert code == 2 and "published as awq" in err and "awq or awq_marlin" in err


@pytest.mark.parametrize("method", ["int4", "bitsandbytes", "gguf"])  # never vLLM's, or gone by v0.33
def test_names_vllm_does_not_know_are_schema_errors(cli, write_stack, method: str) -> None:
    stack = _one_model("m", "l4", "L4", "hf://Qwen/Qwen2.5-7B-Instruct", method, context=False)
    code, err = _validate(cli, write_stack, stack)
    assert code == 2 and "models.m.quantization" in err and "fp8_per_tensor" in err


def test_fp8_on_a_bf16_checkpoint_is_refused_with_the_on_load_method(cli, write_stack) -> None:
    # vLLM v0.33.0: `--quantization fp8` reads fp8 checkpoints only; Fp8Config names fp8_per_tensor instead.
    code, err = _validate(cli, write_stack, _one_model("m", "l4", "L4", "hf://Qwen/Qwen2.5-7B-Instruct", "fp8"))
    assert code == 2 and "fp8 needs a checkpoint published in that format" in err and "fp8_per_tensor" in err


def test_unknown_checkpoint_with_quantization_is_warned_not_refused(cli, write_stack) -> None:
    result = cli(
        "validate",
        write_stack("""
        extends: base.yaml
        node_pools: {l4: {accelerator: L4, max_nodes: 1}}
        models:
          m: {source: hf://someone/private-model, node_pool: l4, quantization: awq}
    """),
    )
    assert result.exit_code == 0, result.stderr
    assert "does not know hf://someone/private-model" in result.stderr


def test_neuron_with_object_store_weights_is_refused(cli, write_stack) -> None:
    result = cli(
        "validate",
        write_stack("""
        extends: base.yaml
        cloud: aws
        node_pools: {inf2: {accelerator: Inferentia2, max_nodes: 1}}
        models:
          m: {source: s3://my-bucket/meta-llama/Llama-3.1-8B-Instruct, node_pool: inf2, max_model_len: 4096}
    """),
    )
    assert result.exit_code == 2 and "models.m.source" in result.stderr and "Neuron" in result.stderr


def test_pool_disk_too_small_is_refused_with_the_numbers(cli, write_stack) -> None:
    code, err = _validate(
        cli,
        write_stack,
        """
        extends: base.yaml
        node_pools: {a100: {accelerator: A100-40GB, accelerators_per_node: 4, max_nodes: 1, disk_gb: 200, spot: true}}
        models:
          llama-70b: {source: hf://meta-llama/Llama-3.3-70B-Instruct, node_pool: a100, max_model_len: 8192,
                      quantization: fp8_per_tensor}
    """,
    )
    assert code == 2
    assert "node_pools.a100.disk_gb" in err
    assert "disk_gb 200 (186 GiB)" in err and "weights 140" in err
    assert "raise node_pools.a100.disk_gb to at least" in err
    # the same model streamed from a bucket writes nothing but caches: the same disk holds it
    code, err = _validate(
        cli,
        write_stack,
        """
        extends: base.yaml
        node_pools: {a100: {accelerator: A100-40GB, accelerators_per_node: 4, max_nodes: 1, disk_gb: 200, spot: true}}
        models:
          llama-70b: {source: bucket://weights/meta-llama/Llama-3.3-70B-Instruct, node_pool: a100,
                      max_model_len: 8192, quantization: fp8_per_tensor}
    """,
    )
    assert code == 0, err


def test_the_suggested_disk_is_enough_and_one_less_is_not(cli, write_stack) -> None:
    import re

    stack = """
        extends: base.yaml
        node_pools:
          a100: {{accelerator: A100-40GB, accelerators_per_node: 4, max_nodes: 1, disk_gb: {disk}, spot: true}}
        models:
          llama-70b: {{source: hf://meta-llama/Llama-3.3-70B-Instruct, node_pool: a100, max_model_len: 8192,
                      quantization: fp8_per_tensor}}
    """
    _, err = _validate(cli, write_stack, stack.format(disk=200))
    suggested = int(re.search(r"disk_gb to at least (\d+)", err).group(1))
    assert _validate(cli, write_stack, stack.format(disk=suggested))[0] == 0
    assert _validate(cli, write_stack, stack.format(disk=suggested - 1))[0] == 2


LOCAL_SSD_STACK = """
    extends: base.yaml
    node_pools: {h100: {accelerator: H100, accelerators_per_node: 2, max_nodes: 1, disk_gb: 200, spot: true}}
    models:
      llama-70b: {source: hf://meta-llama/Llama-3.3-70B-Instruct, node_pool: h100, max_model_len: 8192,
                  quantization: fp8_per_tensor}
"""


def test_bundled_local_ssd_holds_the_pods_instead_of_the_boot_disk(cli, write_stack) -> None:
    # a3-highgpu-2g comes with 4 x 375 GiB Local SSD; GKE puts ephemeral storage there, so the 200 GB boot
    # disk that refuses this model on a2-highgpu-4g (above) does not matter
    from llmcloud.components.serving_checks import disk_capacity_gib

    path = write_stack(LOCAL_SSD_STACK)
    pool = resolved(path).node_pools["h100"]
    assert (pool.machine_type, pool.local_ssd_gib) == ("a3-highgpu-2g", 1500)
    assert disk_capacity_gib(pool) == (1500.0, "a3-highgpu-2g's 1500 GiB of local SSD")
    assert _validate(cli, write_stack, LOCAL_SSD_STACK)[0] == 0


def test_local_ssd_too_small_is_refused_with_its_numbers(write_stack) -> None:
    from dataclasses import replace

    from llmcloud.components import serving_checks
    from llmcloud.components.spec import load_stack

    path = write_stack(LOCAL_SSD_STACK)
    r = resolved(path)
    small = replace(r, node_pools={**r.node_pools, "h100": replace(r.node_pools["h100"], local_ssd_gib=150)})
    errors = serving_checks._disk_errors(load_stack(str(path)), small)
    assert len(errors) == 1
    text = str(errors[0])
    assert "a3-highgpu-2g's 150 GiB of local SSD cannot hold" in text and "weights 140" in text
    assert "pick a machine with more local SSD" in text and "disk_gb to at least" not in text
    assert serving_checks._disk_errors(load_stack(str(path)), r) == []


def test_image_overrides_only_for_reviewed_images_and_pinned(cli, write_stack) -> None:
    gpu = images.SERVING_IMAGES["gpu"]
    code, err = _validate(
        cli,
        write_stack,
        f"""
        extends: base.yaml
        node_pools: {{l4: {{accelerator: L4, max_nodes: 1}}}}
        images:
          docker.io/someone/else:1.0: registry.internal/else:1.0
          {gpu}: registry.internal/vllm-openai:latest
    """,
    )
    assert code == 2
    assert "is not an image llmcloud deploys" in err and "is not pinned" in err
    path = write_stack(f"""
        extends: base.yaml
        node_pools: {{l4: {{accelerator: L4, max_nodes: 1}}}}
        images: {{"{gpu}": "registry.internal/vllm-openai:v0.33.0"}}
    """)
    assert resolved(path).images == {gpu: "registry.internal/vllm-openai:v0.33.0"}
