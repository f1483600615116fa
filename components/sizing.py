"""Does a model fit its node pool? Weights + KV cache + runtime overhead against accelerator memory.

Pure Python (no Pulumi, no SDK): `validate` runs it. Model facts come from the catalog's
models.yaml (config.json numbers per model family). The formula, in GiB (2**30 bytes):

    weights  = params × bytes_per_param(dtype, quantization)
               bf16/fp16 2, fp32 served as bf16 2, 8-bit methods 1, 4-bit methods (awq, gptq) 0.5 × 1.05
               (4-bit formats carry per-group scales and zero points: about 5 % on top)
    kv_cache = 2 (K and V) × layers × kv_heads × head_dim × 2 bytes × max_model_len × 1 sequence
               vLLM refuses to start unless one sequence of max_model_len fits in the KV cache; more
               concurrent sequences only raise throughput, so one is the floor we check.
    overhead = 1.5 GiB per accelerator (CUDA/XLA context, NCCL buffers, CUDA graphs)
               + 5 % of the weights (activations of the profiling run, sampler buffers)
               (the same shape as KAITO's estimate: weights × 1.02 + fixed per-GPU overheads + KV cache)
    usable   = accelerator memory × gpu_memory_utilization × accelerators per replica
               accelerators per replica = tensor_parallel × nodes per replica (pipeline stages, or the
               hosts of a multi-host TPU slice)

needs = weights + kv_cache + overhead; the model fits when needs <= usable. An unknown model (not in
models.yaml) is not checked; `unknown_models` names them so the CLI can say so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import yamldata

if TYPE_CHECKING:
    from .resolve import ResolvedModel, ResolvedNodePool, ResolvedStack

GIB = 2**30
MODELS_FILE = Path(__file__).parent / "catalog" / "data" / "models.yaml"

DTYPE_BYTES = {"bfloat16": 2.0, "float16": 2.0, "float32": 2.0}  # fp32 checkpoints are served in bf16
# Per vLLM --quantization method (vllm/model_executor/layers/quantization/__init__.py): 8-bit formats 1 byte,
# 4-bit formats half a byte plus their scales.
QUANT_BYTES = {
    "fp8": 1.0,
    "fp8_per_tensor": 1.0,
    "fp8_per_block": 1.0,
    "fp8_per_channel": 1.0,
    "mxfp8": 1.0 * 1.03,  # one 8-bit scale per 32 weights
    "experts_int8": 1.0,
    "compressed-tensors": 1.0,  # the common case (FP8/INT8 W8A8); 4-bit compressed-tensors checkpoints are smaller
    "modelopt": 1.0,
    "torchao": 1.0,
    "awq": 0.5 * 1.05,
    "awq_marlin": 0.5 * 1.05,
    "gptq": 0.5 * 1.05,
    "gptq_marlin": 0.5 * 1.05,
    "modelopt_fp4": 0.5 * 1.125,
}
KV_BYTES = 2  # KV cache in the activation dtype (bf16/fp16); fp8 KV cache is an opt-in we don't set
OVERHEAD_PER_ACCELERATOR_GIB = 1.5
OVERHEAD_SHARE_OF_WEIGHTS = 0.05

FIT_HINT = "use a bigger pool, more accelerators per node, quantization, or a shorter max_model_len"


@dataclass(frozen=True)
class ModelFacts:
    name: str  # org/model as on Hugging Face
    params_b: float
    layers: int
    kv_heads: int
    head_dim: int
    max_context: int
    dtype: str
    aliases: tuple[str, ...] = ()
    hidden_size: int = 0  # the attention width for prefill FLOPs (components/estimate.py)
    # The checkpoint's own quantization (config.json quantization_config.quant_method): awq, gptq, ...
    # None for a bf16/fp16 checkpoint. components/serving_checks.py checks `quantization:` against it.
    checkpoint_quantization: str | None = None


@dataclass(frozen=True)
class Fit:
    weights_gib: float
    kv_cache_gib: float
    overhead_gib: float
    usable_gib: float
    accelerators: int
    accelerator_memory_gib: float
    gpu_memory_utilization: float
    max_model_len: int

    @property
    def needed_gib(self) -> float:
        return self.weights_gib + self.kv_cache_gib + self.overhead_gib

    @property
    def fits(self) -> bool:
        return self.needed_gib <= self.usable_gib


@functools.cache
def load_models() -> dict[str, ModelFacts]:
    """models.yaml as facts keyed by the lowercased org/model name."""
    raw = yamldata.load_file(MODELS_FILE)
    out: dict[str, ModelFacts] = {}
    for name, row in (raw.get("models") or {}).items():
        out[name.lower()] = ModelFacts(
            name=name,
            params_b=float(row["params_b"]),
            layers=int(row["layers"]),
            kv_heads=int(row["kv_heads"]),
            head_dim=int(row["head_dim"]),
            max_context=int(row["max_context"]),
            dtype=str(row["dtype"]),
            aliases=tuple(str(a).lower() for a in row.get("aliases") or ()),
            hidden_size=int(row.get("hidden_size") or 0),
            checkpoint_quantization=row.get("quantization"),
        )
    return out


def facts_for(source: str) -> ModelFacts | None:
    """hf://org/name[@rev], bucket://b/.../org/name, gs://b/.../org/name -> facts, by the last two path
    parts (org/name) or an alias equal to the last part; None when the catalog does not know it."""
    path = re.sub(r"^[a-z]+://", "", source).split("@", 1)[0].strip("/")
    parts = [p for p in path.split("/") if p]
    models = load_models()
    if len(parts) >= 2:
        hit = models.get(f"{parts[-2]}/{parts[-1]}".lower())
        if hit:
            return hit
    if parts:
        last = parts[-1].lower()
        for facts in models.values():
            if last in facts.aliases or last == facts.name.split("/")[-1].lower():
                return facts
    return None


def bytes_per_param(dtype: str, quantization: str | None) -> float:
    if quantization:
        return QUANT_BYTES[quantization]
    return DTYPE_BYTES.get(dtype, 2.0)


def weights_gib(facts: ModelFacts, quantization: str | None) -> float:
    return facts.params_b * 1e9 * bytes_per_param(facts.dtype, quantization) / GIB


def kv_cache_gib(facts: ModelFacts, max_model_len: int, sequences: int = 1) -> float:
    return 2 * facts.layers * facts.kv_heads * facts.head_dim * KV_BYTES * max_model_len * sequences / GIB


def fit(
    facts: ModelFacts,
    *,
    accelerator_memory_gib: float,
    accelerators: int,
    quantization: str | None = None,
    max_model_len: int | None = None,
    gpu_memory_utilization: float = 0.90,
    sequences: int = 1,
) -> Fit:
    """The fit of one replica: `accelerators` devices of `accelerator_memory_gib` each, holding the KV
    cache of `sequences` concurrent sequences at max_model_len."""
    context = max_model_len or facts.max_context  # vLLM defaults to the model's own context length
    weights = weights_gib(facts, quantization)
    return Fit(
        weights_gib=weights,
        kv_cache_gib=kv_cache_gib(facts, context, sequences),
        overhead_gib=OVERHEAD_PER_ACCELERATOR_GIB * accelerators + OVERHEAD_SHARE_OF_WEIGHTS * weights,
        usable_gib=accelerator_memory_gib * gpu_memory_utilization * accelerators,
        accelerators=accelerators,
        accelerator_memory_gib=accelerator_memory_gib,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=context,
    )


def accelerators_per_replica(model: ResolvedModel) -> int:
    return model.tensor_parallel * model.nodes_per_replica


def model_fit(model: ResolvedModel, pool: ResolvedNodePool) -> Fit | None:
    """None when there is nothing to check: a CPU pool, or a model the catalog does not know."""
    if pool.kind == "cpu" or not pool.accelerator_memory_gib:
        return None
    facts = facts_for(model.source)
    if facts is None:
        return None
    return fit(
        facts,
        accelerator_memory_gib=pool.accelerator_memory_gib,
        accelerators=accelerators_per_replica(model),
        quantization=model.quantization,
        max_model_len=model.max_model_len,
        gpu_memory_utilization=model.gpu_memory_utilization,
    )


def fit_message(model_name: str, pool_name: str, f: Fit) -> str:
    return (
        f"{model_name} needs {f.needed_gib:.1f} GiB (weights {f.weights_gib:.1f} + KV cache "
        f"{f.kv_cache_gib:.1f} at {f.max_model_len} tokens + overhead {f.overhead_gib:.1f}) but pool "
        f"{pool_name} gives {f.accelerators} × {f.accelerator_memory_gib:g} GiB"
        f" × {f.gpu_memory_utilization:.2f}"
        f" = {f.usable_gib:.1f} GiB"
    )


def fit_error(model: ResolvedModel, pool: ResolvedNodePool) -> str | None:
    """The error message when `model` does not fit `pool`, else None."""
    f = model_fit(model, pool)
    if f is None or f.fits:
        return None
    return fit_message(model.name, pool.name, f)


def check_fit(resolved: ResolvedStack) -> list[tuple[str, str]]:
    """(model name, message) for every model of the stack that does not fit its pool."""
    out = []
    for name, model in resolved.models.items():
        message = fit_error(model, resolved.node_pools[model.node_pool])
        if message:
            out.append((name, message))
    return out


def unknown_models(resolved: Any) -> list[str]:
    """Models on accelerator pools that the catalog cannot size (so no fit check ran)."""
    return [
        name
        for name, m in resolved.models.items()
        if resolved.node_pools[m.node_pool].kind != "cpu" and facts_for(m.source) is None
    ]


def weights_size_gib(source: str, quantization: str | None) -> float | None:
    """Size of the weights on disk (for the node-local volume, the node disk check and the startup probe),
    if known: the checkpoint as published (its own quantization, else its dtype). vLLM's on-load methods
    (fp8_per_tensor, ...) quantize in memory, so `quantization` does not shrink what is on disk."""
    facts = facts_for(source)
    return weights_gib(facts, facts.checkpoint_quantization) if facts else None
