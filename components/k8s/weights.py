"""Where a model's weights come from and how much node disk its pods take: pure (no Pulumi), so that
`validate` (components/serving_checks.py) and the CLI use the same numbers as the manifests
(serving.py, README "Weights and cold start")."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..sizing import weights_size_gib

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..resolve import ResolvedModel, ResolvedNodePool, ResolvedStack

OBJECT_SCHEMES = ("gs://", "s3://", "az://")
# Volume sizes (GiB) besides the weights: HOME (HF metadata, vLLM/torch/triton/XLA compile caches, the
# config and tokenizer vLLM pulls next to streamed weights) and /tmp (Ray session files).
HOME_GIB = 20
TMP_GIB = 10
NEURON_ARTIFACTS_GIB = 30  # NxD Inference's compiled model and the neuronx-cc cache
# Writable-layer allowance on top of the volumes (logs, runtime files outside the volumes).
WRITABLE_LAYER_GIB = 2


def is_object_store(source: str) -> bool:
    return source.startswith(("bucket://", *OBJECT_SCHEMES))


def hub_repo(source: str) -> tuple[str, str | None]:
    """hf://org/model[@revision] -> (org/model, revision)."""
    ref = source.removeprefix("hf://")
    repo, _, revision = ref.partition("@")
    return repo, revision or None


def bucket_of(source: str) -> str | None:
    """The stack bucket a bucket://<bucket>/<path> source names."""
    if not source.startswith("bucket://"):
        return None
    return source.removeprefix("bucket://").split("/", 1)[0]


def weights_volume_gib(model: ResolvedModel, pool: ResolvedNodePool) -> int:
    """sizeLimit of the node-local volume vLLM downloads a Hub model into: the checkpoint's safetensors
    + 5 % (config, tokenizer, index) + 2 GiB; 0 for object-store sources (streamed, never on disk).
    An unknown Hub model gets 60 % of where the volume lives: the pool's local NVMe volume capacity
    (pool.local_volume_gib), else the node's ephemeral storage (the rest holds the images): the local SSD
    where the node pool puts ephemeral storage there (pool.local_ssd_gib), else the boot disk."""
    if is_object_store(model.source):
        return 0
    size = weights_size_gib(model.source, None)  # on disk: the checkpoint as published
    if size is None:
        return max(20, int((pool.local_volume_gib or pool.local_ssd_gib or pool.disk_gb) * 0.6))
    return math.ceil(size * 1.05 + 2)


def node_disk_parts(model: ResolvedModel, pool: ResolvedNodePool) -> dict[str, int]:
    """GiB one pod of the model writes to the node's disk, by volume: every on-disk volume's sizeLimit plus
    the writable-layer allowance. A weights volume on the pool's local NVMe (pool.local_volume_gib: a generic
    ephemeral volume, a PVC) is not on the node's disk."""
    parts = {
        "weights": 0 if pool.local_volume_gib else weights_volume_gib(model, pool),
        "home": HOME_GIB,
        "tmp": TMP_GIB,
        "writable layer": WRITABLE_LAYER_GIB,
    }
    if pool.kind == "neuron":
        parts["neuron artifacts"] = NEURON_ARTIFACTS_GIB
    return {k: v for k, v in parts.items() if v}


def ephemeral_storage_gib(model: ResolvedModel, pool: ResolvedNodePool) -> int:
    """What one pod of the model writes to the node's disk (node_disk_parts): the pod requests (and is limited
    to) exactly this."""
    return sum(node_disk_parts(model, pool).values())


def _per_node_max(
    resolved: ResolvedStack,
    gib: Callable[[ResolvedModel, ResolvedNodePool], int],
    counts: Callable[[ResolvedModel, ResolvedNodePool], bool],
) -> dict[str, int]:
    """pool -> the largest `gib(model, pool)` × the model's pods that share one node (one for a multi-host
    group), over the models `counts` keeps."""
    need: dict[str, int] = {}
    for m in resolved.models.values():
        pool = resolved.node_pools[m.node_pool]
        if counts(m, pool):
            per_node = gib(m, pool) * (1 if m.nodes_per_replica > 1 else m.replicas_per_node)
            need[pool.name] = max(need.get(pool.name, 0), per_node)
    return need


def _sized(m: ResolvedModel) -> bool:
    """The catalog knows the checkpoint's size (Hub models it cannot size get a share of the disk instead)."""
    return weights_size_gib(m.source, None) is not None


def local_volume_needs_gib(resolved: ResolvedStack) -> dict[str, int]:
    """pool -> GiB of the pool's local NVMe volume capacity the weights volumes of the model pods on one
    node claim (pools with pool.local_volume_gib only; Hub models the catalog cannot size are left out)."""
    return _per_node_max(
        resolved,
        weights_volume_gib,
        lambda m, pool: bool(pool.local_volume_gib) and not is_object_store(m.source) and _sized(m),
    )


def node_disk_needs_gib(resolved: ResolvedStack) -> dict[str, int]:
    """pool -> GiB of node-local disk the model pods on one node may write (ephemeral-storage requests of
    the replicas that share a node). Cloud node pool components read this to decide where ephemeral
    storage lives (e.g. GKE local SSD via ephemeral_storage_local_ssd_config); validate compares it with
    the disk. Hub models the catalog cannot size are left out (their volume is a share of the disk)."""
    return _per_node_max(resolved, ephemeral_storage_gib, lambda m, pool: is_object_store(m.source) or _sized(m))
