"""ModelServer: one model behind vLLM's OpenAI-compatible server, on the pool the stack names.

Per model: a Secret with the Hugging Face token (when the model names one), a Deployment, or a
LeaderWorkerSet when one replica spans several nodes (pipeline stages across nodes, or the hosts of
a multi-host TPU slice), a ClusterIP Service on 8000, PodDisruptionBudgets and an autoscaler
(autoscaling.py).

The weight path (README, "The serving layer": weights and cold start):
- object storage (bucket://, gs://, s3://, az://): vLLM streams the safetensors straight into
  accelerator memory with the Run:ai Model Streamer (`--load-format runai_streamer`); nothing is
  copied to disk and no init container runs. Credentials come from the pod's workload identity only
  (GKE Workload Identity, EKS Pod Identity, AKS workload identity): the streamer uses Application
  Default Credentials, boto3's default chain and DefaultAzureCredential respectively. With tensor
  parallelism the ranks of a node split the reads and broadcast over NCCL (distributed streaming).
- hf://: vLLM downloads from the Hub itself into a node-local volume sized for the weights; vLLM
  fetches safetensors only and skips `original/**/*` (LoadConfig.ignore_patterns' default).

The manifests are built by plain functions (`pod_template`, `deployment`, `leader_worker_set`, ...)
so tests and `llmcloud render` see exactly what is deployed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import registry
from ..labels import POOL_LABEL
from ..resolve import ResolvedModel, ResolvedNodePool, ResolvedStack
from ..sizing import facts_for, kv_cache_gib, weights_gib, weights_size_gib
from . import images
from .weights import (  # noqa: F401  (re-exported: serving.X is what tests and callers use)
    HOME_GIB,
    NEURON_ARTIFACTS_GIB,
    OBJECT_SCHEMES,
    TMP_GIB,
    WRITABLE_LAYER_GIB,
    bucket_of,
    ephemeral_storage_gib,
    hub_repo,
    is_object_store,
    node_disk_needs_gib,
    weights_volume_gib,
)

PORT = 8000
MODEL_LABEL = "llmcloud.dev/model"
ROLE_LABEL = "llmcloud.dev/role"  # server (answers HTTP) | worker (LWS workers: Ray only)
# Labels the LeaderWorkerSet controller puts on every pod of a group (api/leaderworkerset/v1 at v0.10.0).
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_GROUP_LABEL = "leaderworkerset.sigs.k8s.io/group-index"
MODELS_DIR = "/models"
HOME_DIR = "/home/vllm"
HF_SECRET_KEY = "token"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"
MODEL_ENV = "LLMCLOUD_MODEL"  # the model reference; args use $(LLMCLOUD_MODEL) so it may be computed
# The vLLM images run as root by default but need no root: with HOME, USER and every cache on writable
# volumes they run as any UID (vLLM >= 0.22 calls getpwuid unless USER is set; getpass reads USER first:
# at v0.33.0 vllm/config/vllm.py calls getpass.getuser() for its temporary directory).
RUN_AS_USER = 10001
USER_NAME = "vllm"

# Taints and NeuronCores per device are vendor facts of each accelerator's catalog row (pool.taint,
# pool.cores_per_device); pool labels and taints are set by each cloud's node pool component.
# Neuron serves a fixed number of sequences with a contiguous KV cache; without max_model_len the
# model's full context would be compiled in.
NEURON_DEFAULT_MAX_MODEL_LEN = 4096
NEURON_MAX_NUM_SEQS = 64

# Run:ai Model Streamer settings (run-ai/runai-model-streamer docs/src/env-vars.md, 0.15.x): 16 reader
# threads (object-store default 8), and a CPU staging buffer bounded so it fits the pod's memory limit
# (default 40 GB, more than many pods have).
STREAMER_CONCURRENCY = 16
STREAMER_BUFFER_SHARE = 0.25
STREAMER_BUFFER_MAX_GIB = 16
# Leader and workers of an LWS group wait at most this long for each other (vLLM's multi-node example
# script waits 300 s for the Ray cluster; weights are streamed only after the group has formed).
GROUP_JOIN_SECONDS = 600


@dataclass(frozen=True)
class ModelServerArgs:
    model: ResolvedModel
    pool: ResolvedNodePool
    cloud: str  # gcp | aws | azure: decides the TPU selectors, spot taints and the metrics backend
    namespace: str  # created by ServingNamespace (depend on it)
    service_account: str
    bucket_urls: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # on every object
    pod_labels: Mapping[str, str] = field(default_factory=dict)  # Platform.pod_labels (Azure workload identity)
    prometheus_url: str | None = None  # the autoscaler's Prometheus; default per cloud (autoscaling.py)
    project: str | None = None  # gcp: Managed Prometheus query endpoint
    wake_query: str | None = None  # PromQL that is non-zero when a scaled-to-zero model has traffic
    region: str | None = None  # aws: the S3 client's region (Pod Identity does not set AWS_REGION)
    # azure: stack bucket name -> storage account (az://<container>/<path> is read from that account)
    storage_accounts: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    image_overrides: Mapping[str, str] = field(default_factory=dict)  # the stack's `images:`


# ---------------------------------------------------------------- pure helpers (no Pulumi)


def hf_token_value(model: ResolvedModel) -> str | None:
    """The token from the environment variable the stack names (read at program time), or None."""
    if not model.hf_token_env:
        return None
    return os.environ.get(model.hf_token_env) or None


def missing_secrets(resolved: ResolvedStack) -> list[str]:
    """Environment variables that models reference (hf_token_env) but that are unset or empty.
    `up` must refuse to deploy (exit 4); the offline plan uses an empty Secret and a notice."""
    return sorted(
        {m.hf_token_env for m in resolved.models.values() if m.hf_token_env and not os.environ.get(m.hf_token_env)}
    )


def selector_labels(model: ResolvedModel) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": model.name,
        MODEL_LABEL: model.name,
    }


def object_labels(model: ResolvedModel, labels: Mapping[str, str]) -> dict[str, str]:
    return {
        **labels,
        **selector_labels(model),
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/version": images.VLLM_VERSION,
    }


def accelerators_per_pod(model: ResolvedModel, pool: ResolvedNodePool) -> int:
    """A single-node replica takes tensor_parallel devices; a multi-node replica takes whole nodes."""
    if model.nodes_per_replica > 1:
        return pool.accelerators_per_node
    return model.tensor_parallel


def parallelism(model: ResolvedModel, pool: ResolvedNodePool) -> tuple[int, int]:
    """(--tensor-parallel-size, --pipeline-parallel-size). A multi-host TPU slice shards tensors across
    all of its chips: TP = chips of the slice / pipeline stages."""
    if pool.kind == "tpu" and pool.hosts_per_slice > 1:
        chips = pool.accelerators_per_node * pool.hosts_per_slice
        return max(1, chips // model.pipeline_parallel), model.pipeline_parallel
    if pool.kind == "neuron":
        # vLLM on Neuron shards over NeuronCores, not devices (the Kubernetes resource counts devices).
        return model.tensor_parallel * pool.cores_per_device, model.pipeline_parallel
    return model.tensor_parallel, model.pipeline_parallel


# ---------------------------------------------------------------- where the weights come from


def model_uri(source: str, bucket_urls: Mapping[str, pulumi.Input[str]]) -> pulumi.Input[str]:
    """What vLLM's --model gets: the object-store prefix (gs://, s3://, az://<container>/...), a bucket://
    source turned into its bucket's URL (known after deploy), or the Hub repo id."""
    bucket = bucket_of(source)
    if bucket is not None:
        path = source.removeprefix(f"bucket://{bucket}").strip("/")
        url = bucket_urls.get(bucket)
        if url is None:
            raise ValueError(f"source {source!r} names bucket {bucket!r}, which the stack does not define")
        if not path:
            return url
        return f"{url}/{path}" if isinstance(url, str) else pulumi.Output.concat(url, "/", path)
    if source.startswith(OBJECT_SCHEMES):
        return source
    return hub_repo(source)[0]


def streamer_memory_limit_bytes(model: ResolvedModel, pool: ResolvedNodePool) -> int:
    """RUNAI_STREAMER_MEMORY_LIMIT: a quarter of the pod's memory, at most 16 GiB."""
    _, limits = pod_resources(model, pool)
    mem_gib = int(limits["memory"].removesuffix("Mi")) / 1024
    return int(min(STREAMER_BUFFER_MAX_GIB, mem_gib * STREAMER_BUFFER_SHARE) * 2**30)


def neuron_max_num_seqs(model: ResolvedModel, pool: ResolvedNodePool) -> int:
    """Sequences whose KV cache at max_model_len fits in the devices' memory next to the weights
    (vLLM on Neuron reserves one contiguous block of max_model_len per sequence), at least 1."""
    facts = facts_for(model.source)
    max_len = model.max_model_len or NEURON_DEFAULT_MAX_MODEL_LEN
    if facts is None:
        return max(1, min(model.expected_concurrency, 8))
    memory = pool.accelerator_memory_gib * model.tensor_parallel * model.gpu_memory_utilization
    free = memory - weights_gib(facts, model.quantization) * 1.05 - 1.5 * model.tensor_parallel
    per_seq = kv_cache_gib(facts, max_len)
    return int(max(1, min(NEURON_MAX_NUM_SEQS, free // per_seq if per_seq else 1)))


def streams_distributed(model: ResolvedModel, pool: ResolvedNodePool) -> bool:
    """Object-store weights on a GPU node with tensor parallelism: the node's ranks split the reads."""
    tp, _ = parallelism(model, pool)
    return is_object_store(model.source) and pool.kind == "gpu" and tp > 1


def vllm_args(model: ResolvedModel, pool: ResolvedNodePool) -> list[str]:
    """`vllm serve` arguments; the model reference is $(LLMCLOUD_MODEL), which Kubernetes expands
    from the container's environment."""
    tp, pp = parallelism(model, pool)
    args = [
        f"$({MODEL_ENV})",
        "--served-model-name",
        model.name,
        "--port",
        str(PORT),
        "--tensor-parallel-size",
        str(tp),
        "--pipeline-parallel-size",
        str(pp),
    ]
    if pool.kind != "neuron":
        args += ["--gpu-memory-utilization", f"{model.gpu_memory_utilization:.2f}"]
    if is_object_store(model.source):
        args += ["--load-format", "runai_streamer"]
        if streams_distributed(model, pool):
            # vLLM v0.33.0 (model_loader/runai_streamer_loader.py) streams distributed only when the loader's
            # extra config says so (keys: distributed, concurrency, memory_limit); RUNAI_STREAMER_DIST alone
            # is not enough, since vLLM then passes is_distributed=False to the streamer.
            args += ["--model-loader-extra-config", '{"distributed": true}']
    else:
        _, revision = hub_repo(model.source)
        if revision:
            args += ["--revision", revision]
    max_len = model.max_model_len
    if pool.kind == "neuron":
        # Neuron's platform sets the KV block size to max_model_len itself (no prefix caching); the
        # sequences it serves at once must be bounded by what the devices hold.
        max_len = max_len or NEURON_DEFAULT_MAX_MODEL_LEN
        args += ["--max-num-seqs", str(neuron_max_num_seqs(model, pool))]
    if max_len:
        args += ["--max-model-len", str(max_len)]
    if model.quantization:
        args += ["--quantization", model.quantization]
    if model.nodes_per_replica > 1:
        args += ["--distributed-executor-backend", "ray"]
    return args


def startup_budget_minutes(model: ResolvedModel) -> int:
    """How long the engine may take from container start to /health (download or stream the weights,
    CUDA graph capture / XLA or Neuron compilation): 20 min + 0.5 min per GiB of weights, at most 3 h.
    Llama-3.1-8B: 28 min; 70B in bf16: 86 min. Unknown models get an hour."""
    size = weights_size_gib(model.source, model.quantization)
    if size is None:
        return 60
    return min(180, max(30, math.ceil(20 + 0.5 * size)))


def pod_resources(model: ResolvedModel, pool: ResolvedNodePool) -> tuple[dict[str, str], dict[str, str]]:
    """(requests, limits): this pod's share of the node (70 %, leaving room for the system daemons),
    the accelerators, the /dev/shm tmpfs (which counts against the memory limit) and the node disk its
    volumes may fill (ephemeral-storage)."""
    share = 1 if model.nodes_per_replica > 1 else max(1, model.replicas_per_node)
    cpu_m = max(1000, int(pool.vcpus * 1000 * 0.7 / share) // 100 * 100)
    mem_mi = max(4096, int(pool.memory_gib * 1024 * 0.7 / share) // 256 * 256)
    disk = f"{ephemeral_storage_gib(model, pool)}Gi"
    requests = {"cpu": f"{cpu_m}m", "memory": f"{mem_mi}Mi", "ephemeral-storage": disk}
    # CPU limit above the request: tokenization and detokenization burst, throttling them stalls decoding.
    limits = {"cpu": f"{min(pool.vcpus * 1000, cpu_m * 2)}m", "memory": f"{mem_mi}Mi", "ephemeral-storage": disk}
    if pool.k8s_resource:
        n = str(accelerators_per_pod(model, pool))
        requests[pool.k8s_resource] = n
        limits[pool.k8s_resource] = n
    return requests, limits


def shm_size_gib(pool: ResolvedNodePool, model: ResolvedModel) -> int:
    """NCCL and the engine's worker processes exchange tensors through /dev/shm (Docker's 64 MiB is far
    too small for tensor parallel): 10 % of the pod's memory, 1-16 GiB."""
    share = 1 if model.nodes_per_replica > 1 else max(1, model.replicas_per_node)
    return int(min(16, max(1, pool.memory_gib * 0.1 / share)))


def tolerations(pool: ResolvedNodePool, cloud: str) -> list[dict[str, str]]:
    out = []
    if pool.taint:  # the accelerator's taint, from its catalog row
        out.append(pool.taint.toleration())
    spot_taint = registry.cloud(cloud).spot_taint
    if pool.spot and spot_taint:
        out.append(
            {
                "key": spot_taint[0],
                "operator": "Equal",
                "value": spot_taint[1],
                "effect": "NoSchedule",
            }
        )
    return out


def node_selector(pool: ResolvedNodePool, cloud: str) -> dict[str, str]:
    sel = {POOL_LABEL: pool.name}
    sel.update(registry.cloud(cloud).node_selector(pool))  # e.g. GKE's TPU labels
    return sel


def _restricted() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        # Everything the engine writes goes to volumes: HOME (caches), /tmp (Ray, compilers), the weights.
        "readOnlyRootFilesystem": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _http_probe(period: int, failures: int, timeout: int = 5) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/health", "port": "http"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def user_env() -> list[dict[str, str]]:
    """Identity and caches for any UID: no passwd entry is needed, nothing is written outside volumes."""
    cache = f"{HOME_DIR}/.cache"
    return [
        {"name": "HOME", "value": HOME_DIR},
        {"name": "USER", "value": USER_NAME},
        {"name": "LOGNAME", "value": USER_NAME},
        {"name": "XDG_CACHE_HOME", "value": cache},
        {"name": "XDG_CONFIG_HOME", "value": f"{HOME_DIR}/.config"},
        {"name": "HF_HOME", "value": f"{cache}/huggingface"},
        {"name": "VLLM_CACHE_ROOT", "value": f"{cache}/vllm"},
        {"name": "TORCHINDUCTOR_CACHE_DIR", "value": f"{cache}/torchinductor"},
        {"name": "TRITON_CACHE_DIR", "value": f"{cache}/triton"},
        {"name": "NUMBA_CACHE_DIR", "value": f"{cache}/numba"},
        {"name": "OUTLINES_CACHE_DIR", "value": f"{cache}/outlines"},
        {"name": "TMPDIR", "value": "/tmp"},
    ]


def weights_env(args: ModelServerArgs, secret_name: str | None) -> list[dict[str, Any]]:
    """How vLLM finds the weights: the model reference, the streamer's settings and the store's
    identity hints (never a key), or the Hub's cache and token file."""
    model, pool = args.model, args.pool
    env: list[dict[str, Any]] = [{"name": MODEL_ENV, "value": model_uri(model.source, args.bucket_urls)}]
    if is_object_store(model.source):
        env += [
            {"name": "RUNAI_STREAMER_CONCURRENCY", "value": str(STREAMER_CONCURRENCY)},
            {"name": "RUNAI_STREAMER_MEMORY_LIMIT", "value": str(streamer_memory_limit_bytes(model, pool))},
        ]
        if streams_distributed(model, pool):
            # Each rank of the node reads 1/TP of the checkpoint and broadcasts it over NCCL (with the
            # loader's {"distributed": true}, vllm_args). runai-model-streamer 0.15.7 reads RUNAI_STREAMER_DIST
            # (0, 1, auto) only once vLLM asks for distributed streaming; 1 states it. Local mode (the
            # default): the nodes of a multi-node group do not split the reads over the inter-node network.
            env.append({"name": "RUNAI_STREAMER_DIST", "value": "1"})
        from .. import registry

        scheme = (
            registry.cloud(args.cloud).object_store_scheme
            if bucket_of(model.source)
            else model.source.split("://", 1)[0]
        )
        if scheme == "s3" and args.region:
            env.append({"name": "AWS_REGION", "value": args.region})
        bucket = bucket_of(model.source)
        if bucket is not None and bucket in args.storage_accounts:
            env.append({"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": args.storage_accounts[bucket]})
    else:
        # The weights volume is the Hub cache: vLLM downloads safetensors (not original/**) there.
        env += [
            {"name": "HF_HUB_CACHE", "value": MODELS_DIR},
            {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
            {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
        ]
        if secret_name:
            # A file, not an environment variable: env leaks into crash dumps and `kubectl describe`-style
            # tooling; huggingface_hub reads HF_TOKEN_PATH itself.
            env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/{HF_SECRET_KEY}"})
    if pool.kind == "neuron":
        env += [
            {"name": "VLLM_NEURON_FRAMEWORK", "value": "neuronx-distributed-inference"},
            # NxD Inference writes the compiled model next to the weights unless told: a writable volume.
            {"name": "NEURON_COMPILED_ARTIFACTS", "value": f"{NEURON_ARTIFACTS_DIR}/{model.name}"},
        ]
    return env


NEURON_ARTIFACTS_DIR = "/var/tmp/neuron"


def _server_env(args: ModelServerArgs, secret_name: str | None) -> list[dict[str, Any]]:
    return [
        *user_env(),
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
        *weights_env(args, secret_name),
    ]


# Leader: start the Ray head, wait (bounded) for the group's workers, then serve. Workers: join the
# head, retrying until the deadline (the leader may start later than a worker); a worker that cannot join
# exits non-zero, so the LeaderWorkerSet recreates the group instead of leaving a half-formed one.
LEADER_SCRIPT = """set -eu
ray start --head --port=6379 --disable-usage-stats
deadline=$(( $(date +%s) + {join} ))
until python3 -c "import os,ray,sys; ray.init(address='auto', logging_level='ERROR'); \\
sys.exit(sum(n['Alive'] for n in ray.nodes()) < int(os.environ['LWS_GROUP_SIZE']))"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "the group's workers did not join within {join} s"; exit 1; fi
  echo waiting for the group's workers; sleep 5
done
exec vllm serve {args}"""

WORKER_SCRIPT = """set -u
deadline=$(( $(date +%s) + {join} ))
until ray start --address="$LWS_LEADER_ADDRESS:6379" --block --disable-usage-stats; do
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "could not join the leader within {join} s"; exit 1; fi
  echo "leader $LWS_LEADER_ADDRESS not ready, retrying"; sleep 5
done"""


def _quote_arg(arg: str) -> str:
    """Shell-quote an argument but keep "$LLMCLOUD_MODEL" expandable."""
    if arg == f"$({MODEL_ENV})":
        return f'"${MODEL_ENV}"'
    import shlex

    return shlex.quote(arg)


def server_container(args: ModelServerArgs, image: str, role: str, secret_name: str | None) -> dict[str, Any]:
    model, pool = args.model, args.pool
    requests, limits = pod_resources(model, pool)
    mounts = [
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "home", "mountPath": HOME_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if not is_object_store(model.source):
        mounts.insert(0, {"name": "weights", "mountPath": MODELS_DIR})
        if secret_name:
            mounts.append({"name": "hf-token", "mountPath": HF_TOKEN_DIR, "readOnly": True})
    if pool.kind == "neuron":
        mounts.append({"name": "neuron", "mountPath": "/var/tmp"})  # neuronx-cc cache + compiled model
    c: dict[str, Any] = {
        "name": "vllm",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": _server_env(args, secret_name),
        "resources": {"requests": requests, "limits": limits},
        "securityContext": _restricted(),
        "volumeMounts": mounts,
    }
    if role == "worker":
        c["command"] = ["/bin/sh", "-c", WORKER_SCRIPT.format(join=GROUP_JOIN_SECONDS)]
        return c
    if model.nodes_per_replica > 1:
        script = LEADER_SCRIPT.format(
            join=GROUP_JOIN_SECONDS, args=" ".join(_quote_arg(a) for a in vllm_args(model, pool))
        )
        c["command"] = ["/bin/sh", "-c", script]
    else:
        c["command"] = ["vllm", "serve"]
        c["args"] = vllm_args(model, pool)
    c["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    minutes = startup_budget_minutes(model)
    # The startup probe holds off liveness until weights are on the accelerators.
    c["startupProbe"] = _http_probe(10, minutes * 6)
    c["readinessProbe"] = _http_probe(5, 3)
    c["livenessProbe"] = _http_probe(15, 4, timeout=10)
    return c


def weights_volume(model: ResolvedModel, pool: ResolvedNodePool) -> dict[str, Any]:
    """The volume vLLM downloads a Hub model into: a generic ephemeral volume of the pool's local NVMe
    StorageClass where the cloud offers one (pool.local_volume_class, e.g. AKS + Azure Container Storage;
    created with the pod, deleted with it), else an emptyDir on the node's ephemeral storage."""
    size = f"{weights_volume_gib(model, pool)}Gi"
    if not pool.local_volume_class:
        return {"name": "weights", "emptyDir": {"sizeLimit": size}}
    claim = {
        "metadata": {"labels": selector_labels(model)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": pool.local_volume_class,
            "resources": {"requests": {"storage": size}},
        },
    }
    return {"name": "weights", "ephemeral": {"volumeClaimTemplate": claim}}


def pod_volumes(args: ModelServerArgs, secret_name: str | None) -> list[dict[str, Any]]:
    model, pool = args.model, args.pool
    volumes: list[dict[str, Any]] = []
    if not is_object_store(model.source):
        volumes.append(weights_volume(model, pool))
    volumes += [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{shm_size_gib(pool, model)}Gi"}},
        {"name": "home", "emptyDir": {"sizeLimit": f"{HOME_GIB}Gi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": f"{TMP_GIB}Gi"}},
    ]
    if pool.kind == "neuron":
        volumes.append({"name": "neuron", "emptyDir": {"sizeLimit": f"{NEURON_ARTIFACTS_GIB}Gi"}})
    if secret_name and not is_object_store(model.source):
        volumes.append({"name": "hf-token", "secret": {"secretName": secret_name, "defaultMode": 0o400}})
    return volumes


def pod_template(args: ModelServerArgs, role: str = "server", secret_name: str | None = None) -> dict[str, Any]:
    """The pod of one replica (role server), or of an LWS worker (role worker)."""
    model, pool = args.model, args.pool
    image = images.serving_image(pool.image_family, model.image, pool.accelerator, args.image_overrides)
    labels = {**object_labels(model, args.labels), **args.pod_labels, ROLE_LABEL: role}
    return {
        "metadata": {
            "labels": labels,
            # Scraped by PodMonitoring/ServiceMonitor (monitoring.py), not by annotation discovery.
            "annotations": {"prometheus.io/scrape": "false"},
        },
        "spec": {
            "serviceAccountName": args.service_account,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 120,  # let in-flight generations finish
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "fsGroup": RUN_AS_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "nodeSelector": node_selector(pool, args.cloud),
            "tolerations": tolerations(pool, args.cloud),
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {**selector_labels(model), ROLE_LABEL: role}},
                }
            ],
            "containers": [server_container(args, image, role, secret_name)],
            "volumes": pod_volumes(args, secret_name),
        },
    }


def _metadata(args: ModelServerArgs, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": args.namespace, "labels": object_labels(args.model, args.labels)}


def _workload_metadata(args: ModelServerArgs) -> dict[str, Any]:
    # `up` does not wait for the model to become ready: a cold start (node, image, weights, compilation) can
    # outlast any deploy timeout. `up` reports the rollout status instead (README, "The serving layer").
    return {**_metadata(args, args.model.name), "annotations": {"pulumi.com/skipAwait": "true"}}


def deployment(args: ModelServerArgs, secret_name: str | None) -> dict[str, Any]:
    model = args.model
    return {
        "metadata": _workload_metadata(args),
        "spec": {
            "replicas": model.replicas_min,  # the autoscaler owns the current count (ignore_changes)
            "selector": {"matchLabels": {**selector_labels(model), ROLE_LABEL: "server"}},
            # One new pod before an old one goes: no capacity dip; the cluster autoscaler adds the node.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "progressDeadlineSeconds": (startup_budget_minutes(model) + 30) * 60,
            "revisionHistoryLimit": 3,
            "template": pod_template(args, "server", secret_name),
        },
    }


def leader_worker_set(args: ModelServerArgs, secret_name: str | None) -> dict[str, Any]:
    """One group = one replica of nodes_per_replica pods (leader + workers), restarted as a whole: a
    tensor/pipeline-parallel engine cannot survive losing one of its pods."""
    model = args.model
    return {
        "metadata": _workload_metadata(args),
        "spec": {
            "replicas": model.replicas_min,
            "startupPolicy": "LeaderCreated",
            "rolloutStrategy": {
                "type": "RollingUpdate",
                "rollingUpdateConfiguration": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "leaderWorkerTemplate": {
                "size": model.nodes_per_replica,
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": pod_template(args, "server", secret_name),
                "workerTemplate": pod_template(args, "worker", secret_name),
            },
        },
    }


def service(args: ModelServerArgs) -> dict[str, Any]:
    return {
        "metadata": _metadata(args, args.model.name),
        "spec": {
            "type": "ClusterIP",
            # Headless: the name resolves to every ready pod, so the gateway balances requests over pods
            # (least outstanding requests) instead of connections over one virtual IP (k8s/gateway.py).
            "clusterIP": "None",
            "selector": {**selector_labels(args.model), ROLE_LABEL: "server"},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budgets(args: ModelServerArgs) -> dict[str, dict[str, Any]]:
    """name -> PodDisruptionBudget. A Deployment: one for its pods, one at a time. A LeaderWorkerSet: one
    per group (leader and workers, by the controller's group-index label) for every group the autoscaler
    may create, so a drain takes at most one pod of a group at a time (losing one restarts the group).
    The budgets select disjoint pods: the eviction API refuses pods that two budgets cover."""
    model = args.model
    if not needs_leader_worker_set(model):
        return {
            model.name: {
                "metadata": _metadata(args, model.name),
                "spec": {
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": {**selector_labels(model), ROLE_LABEL: "server"}},
                },
            }
        }
    out = {}
    for group in range(model.replicas_max):
        name = f"{model.name}-group-{group}"
        out[name] = {
            "metadata": _metadata(args, name),
            "spec": {
                "maxUnavailable": 1,
                "selector": {
                    "matchLabels": {**selector_labels(model), LWS_NAME_LABEL: model.name, LWS_GROUP_LABEL: str(group)}
                },
            },
        }
    return out


def needs_leader_worker_set(model: ResolvedModel) -> bool:
    return model.workload_kind == "LeaderWorkerSet"


# ---------------------------------------------------------------- components


def _dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    deps = opts.depends_on if opts else None
    if deps is None:
        return []
    return list(deps) if isinstance(deps, list | tuple) else [deps]


class LeaderWorkerSetController(pulumi.ComponentResource):
    """The LeaderWorkerSet controller (kubernetes-sigs/lws) from its official Helm chart, pinned.
    Installed only when a model spans nodes. Outputs: release (the Helm release name)."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:LeaderWorkerSetController", name, None, opts)
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="lws",
            chart=images.LWS_CHART.chart,
            version=images.LWS_CHART.version,
            namespace="lws-system",
            create_namespace=True,
            atomic=True,
            wait_for_jobs=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = release.name
        self.register_outputs({"release": self.release})


class ModelServer(pulumi.ComponentResource):
    """Outputs: service_name, endpoint (in-cluster URL of the OpenAI-compatible API), kind."""

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:k8s:ModelServer", name, None, opts)
        model = args.model
        if model.node_pool != args.pool.name:
            raise ValueError(f"model {model.name} runs on pool {model.node_pool}, not {args.pool.name}")
        # Rejects an unpinned image override before anything exists.
        images.serving_image(args.pool.image_family, model.image, args.pool.accelerator, args.image_overrides)
        # Children do not inherit the component's depends_on: pass it on, so that the custom resources
        # (LeaderWorkerSet, ScaledObject) wait for the controllers that install their CRDs.
        deps = _dependencies(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=deps)

        secret_name = None
        if model.hf_token_env:
            secret_name = f"{model.name}-hf-token"
            token = hf_token_value(model)
            if token is None:
                pulumi.log.warn(
                    f"{model.hf_token_env} is not set: the Secret for model {model.name} is empty "
                    "(gated models will fail to download); `up` requires it",
                    self,
                )
            k8s.core.v1.Secret(
                f"{name}-hf-token",
                metadata=_metadata(args, secret_name),
                type="Opaque",
                # Secret in state and plan ("[secret]"); the pods read it by secretKeyRef only.
                string_data={HF_SECRET_KEY: pulumi.Output.secret(token or "")},
                opts=child,
            )

        autoscaled = pulumi.ResourceOptions(parent=self, depends_on=deps, ignore_changes=["spec.replicas"])
        if needs_leader_worker_set(model):
            obj = leader_worker_set(args, secret_name)
            workload = k8s.apiextensions.CustomResource(
                f"{name}-lws",
                api_version="leaderworkerset.x-k8s.io/v1",
                kind="LeaderWorkerSet",
                metadata=obj["metadata"],
                spec=obj["spec"],
                opts=autoscaled,
            )
            target = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
        else:
            obj = deployment(args, secret_name)
            workload = k8s.apps.v1.Deployment(
                f"{name}-deployment", metadata=obj["metadata"], spec=obj["spec"], opts=autoscaled
            )
            target = ("apps/v1", "Deployment")

        svc = service(args)
        self.service = k8s.core.v1.Service(f"{name}-service", metadata=svc["metadata"], spec=svc["spec"], opts=child)
        for pdb_name, pdb in disruption_budgets(args).items():
            suffix = pdb_name.removeprefix(model.name)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb{suffix}", metadata=pdb["metadata"], spec=pdb["spec"], opts=child
            )

        from .autoscaling import TARGET_RUNNING_PER_REPLICA, QueueDepthAutoscaler, QueueDepthAutoscalerArgs

        QueueDepthAutoscaler(
            f"{name}-autoscaler",
            QueueDepthAutoscalerArgs(
                model=model.name,
                namespace=args.namespace,
                target_api_version=target[0],
                target_kind=target[1],
                target_name=model.name,
                min_replicas=model.replicas_min,
                max_replicas=model.replicas_max,
                cloud=args.cloud,
                project=args.project,
                prometheus_url=args.prometheus_url,
                wake_query=args.wake_query,
                target_running=max(TARGET_RUNNING_PER_REPLICA, model.expected_concurrency),
                labels=object_labels(model, args.labels),
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[workload, *deps]),
        )

        self.kind = target[1]
        self.service_name = self.service.metadata.name
        self.endpoint = pulumi.Output.concat(
            "http://",
            self.service.metadata.name,
            ".",
            self.service.metadata.namespace,
            ".svc.cluster.local:",
            str(PORT),
            "/v1",
        )
        self.register_outputs({"service_name": self.service_name, "endpoint": self.endpoint, "kind": self.kind})
