"""Checks of the serving layer that `validate` runs before anything is planned (README, "The serving layer").

- `images:` replaces only reviewed images (components/k8s/images.py), by pinned references.
- `quantization:` is one of vLLM's methods and fits the checkpoint: fp8_per_tensor, fp8_per_block, ...
  quantize a bf16/fp16 checkpoint on load; fp8, awq, gptq, ... need a checkpoint published in that
  format. The catalog (models.yaml `quantization`) knows which Hub checkpoints are pre-quantized; for a
  checkpoint it does not know, `serving_warnings` warns instead of guessing.
- Neuron images load weights from local disk (NxD Inference): object-store sources are refused there.
- Every node pool's disk holds what its model pods write (ephemeral-storage), the serving image and the
  kubelet's reserve; a pool whose disk is too small is refused with the numbers.

Pure Python (no Pulumi): resolve calls `check_serving` once.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .resolve import ResolvedNodePool, ResolvedStack

# vLLM's --quantization names, read from vLLM v0.33.0 (the pinned images.VLLM_VERSION), in the release wheel
# vllm-0.33.0 from PyPI (2026-12-01): vllm/model_executor/layers/quantization/__init__.py QuantizationMethods
# and vllm/config/quantization.py _ONLINE_SHORTHANDS. At that tag `fp8` reads fp8 checkpoints only (Fp8Config
# refuses online quantization and names fp8_per_tensor instead), and bitsandbytes and gguf are gone.
VLLM_QUANTIZATION_TAG = "v0.33.0"
# Methods that read the weights as published in a bf16/fp16 checkpoint and quantize on load (the online
# shorthands; experts_int8 quantizes MoE experts only and leaves linear layers in bf16).
ON_THE_FLY = ("fp8_per_tensor", "fp8_per_block", "fp8_per_channel", "mxfp8", "experts_int8")
# Methods that need a checkpoint in that format: checkpoint quant_method -> --quantization values that read it.
PRE_QUANTIZED = {
    "fp8": ("fp8",),
    "awq": ("awq", "awq_marlin"),
    "gptq": ("gptq", "gptq_marlin"),
    "compressed-tensors": ("compressed-tensors",),
    "modelopt": ("modelopt",),
    "modelopt_fp4": ("modelopt_fp4",),
    "torchao": ("torchao",),
}
# Uncompressed size of the serving image on the node's disk (GiB), per accelerator kind. Estimates from
# the images' published compressed sizes (the CUDA image about 10 GB compressed, roughly double unpacked).
IMAGE_GIB = {"gpu": 25, "tpu": 15, "neuron": 20, "cpu": 10}
# The kubelet's hard eviction threshold nodefs.available<10 % (Kubernetes default) and the OS, kubelet,
# container runtime and logs.
KUBELET_FREE_SHARE = 0.10
SYSTEM_GIB = 8
GB = 10**9
GIB = 2**30


def check_serving(loaded: Any, resolved: ResolvedStack) -> tuple[ResolvedStack, list[Any]]:
    """(the stack with its `images:` overrides, errors)."""
    spec = loaded.spec
    errors = [
        *_image_errors(loaded, spec),
        *_quantization_errors(loaded, resolved),
        *_neuron_errors(loaded, resolved),
        *_disk_errors(loaded, resolved),
    ]
    return replace(resolved, images=dict(spec.images)), errors


def _image_errors(loaded: Any, spec: Any) -> list[Any]:
    from .k8s.images import is_pinned, reviewed

    allowed = reviewed()
    errors = []
    for original, mirror in spec.images.items():
        if original not in allowed:
            errors.append(
                loaded.error(
                    ("images", original),
                    f"{original!r} is not an image llmcloud deploys",
                    "allowed keys: " + ", ".join(sorted(allowed)),
                )
            )
        elif not is_pinned(mirror):
            errors.append(
                loaded.error(
                    ("images", original),
                    f"{mirror!r} is not pinned",
                    "a version tag other than latest (registry/repo:1.2.3) or a digest",
                )
            )
    return errors


def _quantization_errors(loaded: Any, resolved: ResolvedStack) -> list[Any]:
    from .sizing import facts_for

    errors = []
    for name, model in resolved.models.items():
        facts = facts_for(model.source)
        method = model.quantization
        if facts is None or method is None:
            continue
        published = facts.checkpoint_quantization
        where = ("models", name, "quantization")
        if published is None and method not in ON_THE_FLY:
            errors.append(
                loaded.error(
                    where,
                    f"{method} needs a checkpoint published in that format, but "
                    f"{facts.name} is a {facts.dtype} checkpoint (vLLM fails at start)",
                    f"use {' or '.join(ON_THE_FLY[:2])} (quantized on load), or a {method} "
                    "checkpoint as source" + _example(method),
                )
            )
        elif published is not None and method not in PRE_QUANTIZED.get(published, (published,)):
            errors.append(
                loaded.error(
                    where,
                    f"{facts.name} is published as {published}; --quantization {method} cannot read it",
                    f"use {' or '.join(PRE_QUANTIZED.get(published, (published,)))}, or null "
                    "(vLLM reads the checkpoint's own format)",
                )
            )
    return errors


def _example(method: str) -> str:
    from .sizing import load_models

    hits = [
        f.name
        for f in load_models().values()
        if f.checkpoint_quantization in [k for k, v in PRE_QUANTIZED.items() if method in v]
    ]
    return f" (the catalog knows e.g. hf://{hits[0]})" if hits else ""


def serving_warnings(resolved: ResolvedStack) -> list[str]:
    """What validate says but does not refuse: quantization of a checkpoint the catalog does not know."""
    from .sizing import facts_for

    out = []
    for name, model in resolved.models.items():
        if model.quantization and facts_for(model.source) is None:
            kind = "quantizes it on load" if model.quantization in ON_THE_FLY else "needs a checkpoint in that format"
            out.append(
                f"models.{name}: the catalog does not know {model.source}; --quantization "
                f"{model.quantization} {kind}, which vLLM checks only at start"
            )
    return out


def _neuron_errors(loaded: Any, resolved: ResolvedStack) -> list[Any]:
    from .k8s.weights import is_object_store

    return [
        loaded.error(
            ("models", name, "source"),
            f"{model.source}: the Neuron images load weights from local "
            "disk (NxD Inference); streaming from object storage is a CUDA feature",
            "use an hf:// source for models on Inferentia/Trainium pools",
        )
        for name, model in resolved.models.items()
        if resolved.node_pools[model.node_pool].kind == "neuron" and is_object_store(model.source)
    ]


def disk_capacity_gib(pool: ResolvedNodePool) -> tuple[float, str]:
    """(GiB the pool's pods can write, where): the local SSD/NVMe the cloud's node pool puts ephemeral
    storage on (ResolvedNodePool.local_ssd_gib, from Cloud.ephemeral_local_ssd_gib), else the boot disk."""
    if pool.local_ssd_gib:
        return float(pool.local_ssd_gib), f"{pool.machine_type}'s {pool.local_ssd_gib} GiB of local SSD"
    return pool.disk_gb * GB / GIB, f"disk_gb {pool.disk_gb} ({pool.disk_gb * GB / GIB:.0f} GiB)"


def _fits(disk_gib: float, pods_gib: int, image_gib: int) -> bool:
    return pods_gib + image_gib + math.ceil(disk_gib * KUBELET_FREE_SHARE) + SYSTEM_GIB <= disk_gib


def required_disk_gb(pods_gib: int, image_gib: int) -> int:
    """The smallest disk_gb (GB, as clouds size disks) that holds the pods, the image and the reserve."""
    gb = math.ceil((pods_gib + image_gib + SYSTEM_GIB) / (1 - KUBELET_FREE_SHARE) * GIB / GB)
    while not _fits(gb * GB / GIB, pods_gib, image_gib):
        gb += 1
    return gb


def _local_volume_errors(loaded: Any, resolved: ResolvedStack) -> list[Any]:
    """Pools whose weights volumes live on local NVMe (pool.local_volume_gib): the volumes of one node's
    model pods must fit in that NVMe."""
    from .k8s.weights import local_volume_needs_gib, weights_volume_gib

    errors = []
    for pool_name, need in local_volume_needs_gib(resolved).items():
        pool = resolved.node_pools[pool_name]
        if need <= pool.local_volume_gib:
            continue
        biggest = max(
            (m for m in resolved.models.values() if m.node_pool == pool_name),
            key=lambda m: weights_volume_gib(m, pool),
        )
        errors.append(
            loaded.error(
                ("node_pools", pool_name, "accelerator"),
                f"{pool.machine_type}'s {pool.local_volume_gib} GiB of local NVMe cannot hold the weights volumes "
                f"of the model pods on a node: {need} GiB (model {biggest.name}: weights "
                f"{weights_volume_gib(biggest, pool)} GiB per pod)",
                "pick a machine with more local NVMe (more accelerators per node), fewer replicas per node, or "
                "serve the weights from a bucket (bucket://, streamed into accelerator memory, nothing on disk)",
            )
        )
    return errors


def _disk_errors(loaded: Any, resolved: ResolvedStack) -> list[Any]:
    from .k8s import weights as serving

    errors = _local_volume_errors(loaded, resolved)
    needs = serving.node_disk_needs_gib(resolved)
    for pool_name, pods_gib in needs.items():
        pool = resolved.node_pools[pool_name]
        capacity, where = disk_capacity_gib(pool)
        image = IMAGE_GIB.get(pool.kind, 25)
        reserve = math.ceil(capacity * KUBELET_FREE_SHARE) + SYSTEM_GIB
        total = pods_gib + image + reserve
        if _fits(capacity, pods_gib, image):
            continue
        biggest = max(
            (m for m in resolved.models.values() if m.node_pool == pool_name),
            key=lambda m: serving.ephemeral_storage_gib(m, pool),
        )
        parts = " + ".join(f"{k} {v}" for k, v in serving.node_disk_parts(biggest, pool).items())
        need_gb = required_disk_gb(pods_gib, image)
        if pool.local_ssd_gib:  # disk_gb does not hold pods here: the machine's local SSD does
            field = ("node_pools", pool_name, "accelerator")
            fix = "pick a machine with more local SSD (more accelerators per node), or "
        else:
            field = ("node_pools", pool_name, "disk_gb")
            fix = f"raise node_pools.{pool_name}.disk_gb to at least {need_gb}, or "
        errors.append(
            loaded.error(
                field,
                f"{where} cannot hold what runs on a node: {pods_gib} GiB for model pods (model {biggest.name}: {parts}"
                f" GiB per pod) + {image} GiB serving image + {reserve} GiB kept free (kubelet eviction 10 % and "
                f"{SYSTEM_GIB} GiB system) = {total} GiB",
                fix + "serve the weights from a bucket (bucket://, streamed into accelerator memory, nothing on disk)",
            )
        )
    return errors
