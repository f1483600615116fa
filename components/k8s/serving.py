"""ModelServer: one model behind vLLM's OpenAI-compatible server, on the pool the stack names.

Per model: a Secret with the Hugging Face token (when the model names one), a Deployment, or a
LeaderWorkerSet when one replica spans several nodes (pipeline stages across nodes, or the hosts of
a multi-host TPU slice), a ClusterIP Service on 8000, a PodDisruptionBudget and a queue-depth
autoscaler (autoscaling.py).

Each pod starts with the llmcloud weight loader as an init container: it copies the weights to a
node-local emptyDir (the node's disk; local SSD where the node pool puts ephemeral storage there)
and exits 0 once DEST/.llmcloud-complete is written; then vLLM reads them from disk, offline.
Bucket access comes from workload identity through the service account, never keys.

The manifests are built by plain functions (`pod_template`, `deployment`, `leader_worker_set`, ...)
so tests and `llmcloud render` see exactly what is deployed.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..resolve import ResolvedModel, ResolvedNodePool, ResolvedStack
from ..sizing import weights_size_gib
from . import images

PORT = 8000
POOL_LABEL = "llmcloud.dev/pool"
MODEL_LABEL = "llmcloud.dev/model"
ROLE_LABEL = "llmcloud.dev/role"  # server (answers HTTP) | worker (LWS workers: Ray only)
MODELS_DIR = "/models"
HOME_DIR = "/home/vllm"
HF_SECRET_KEY = "token"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"
# The vLLM images run as root by default but need no root: with HOME, caches and /dev/shm on
# writable volumes they run as any UID. 1000 is the conventional first user; fsGroup makes the
# emptyDirs writable for it.
RUN_AS_USER = 10001

# Taints per accelerator kind (pool labels and taints are set by each cloud's node pool component).
KIND_TAINTS = {"gpu": "nvidia.com/gpu", "tpu": "google.com/tpu", "neuron": "aws.amazon.com/neuron"}
AZURE_SPOT_TAINT = ("kubernetes.azure.com/scalesetpriority", "spot")
# https://awsdocs-neuron.readthedocs-hosted.com (Inferentia2/Trainium1: 2 NeuronCores-v2; Trainium2: 8 v3)
NEURON_CORES_PER_DEVICE = {"Inferentia2": 2, "Trainium1": 2, "Trainium2": 8}


@dataclass(frozen=True)
class ModelServerArgs:
    model: ResolvedModel
    pool: ResolvedNodePool
    cloud: str  # gcp | aws | azure: decides the TPU selectors, spot taints and the metrics backend
    namespace: str  # created by ServingNamespace (depend on it)
    service_account: str
    bucket_urls: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # on every object
    pod_labels: Mapping[str, str] = field(
        default_factory=dict
    )  # Platform.pod_labels (Azure workload identity)
    prometheus_url: str | None = None  # the autoscaler's Prometheus; default per cloud (autoscaling.py)
    project: str | None = None  # gcp: Managed Prometheus query endpoint
    wake_query: str | None = None  # PromQL that is non-zero when a scaled-to-zero model has traffic


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
        {
            m.hf_token_env
            for m in resolved.models.values()
            if m.hf_token_env and not os.environ.get(m.hf_token_env)
        }
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
        return model.tensor_parallel * NEURON_CORES_PER_DEVICE.get(
            pool.accelerator, 2
        ), model.pipeline_parallel
    return model.tensor_parallel, model.pipeline_parallel


def vllm_args(model: ResolvedModel, pool: ResolvedNodePool) -> list[str]:
    tp, pp = parallelism(model, pool)
    args = [
        "--model",
        model_path(model),
        "--served-model-name",
        model.name,
        "--port",
        str(PORT),
        "--tensor-parallel-size",
        str(tp),
        "--pipeline-parallel-size",
        str(pp),
        "--gpu-memory-utilization",
        f"{model.gpu_memory_utilization:.2f}",
    ]
    if model.max_model_len:
        args += ["--max-model-len", str(model.max_model_len)]
    if model.quantization:
        args += ["--quantization", model.quantization]
    if model.nodes_per_replica > 1:
        args += ["--distributed-executor-backend", "ray"]
    return args


def model_path(model: ResolvedModel) -> str:
    return f"{MODELS_DIR}/{model.name}"


def weights_volume_gib(model: ResolvedModel, pool: ResolvedNodePool) -> int:
    """sizeLimit of the node-local weights volume: weights + 20 % (tokenizer, partial files) + 5 GiB;
    an unknown model gets 60 % of the boot disk (the rest holds the images)."""
    size = weights_size_gib(model.source, model.quantization)
    if size is None:
        return max(20, int(pool.disk_gb * 0.6))
    # Every node of a multi-node replica loads the whole checkpoint (each rank reads its shards from it).
    return math.ceil(size * 1.2 + 5)


def startup_budget_minutes(model: ResolvedModel) -> int:
    """How long the engine may take from container start to /health (weights from local disk to the
    accelerators, CUDA graph capture / XLA compilation): 20 min + 0.5 min per GiB of weights, at most
    3 h. Llama-3.1-8B: 28 min; 70B in bf16: 86 min. Unknown models get an hour."""
    size = weights_size_gib(model.source, model.quantization)
    if size is None:
        return 60
    return min(180, max(30, math.ceil(20 + 0.5 * size)))


def pod_resources(model: ResolvedModel, pool: ResolvedNodePool) -> tuple[dict[str, str], dict[str, str]]:
    """(requests, limits): this pod's share of the node (70 %, leaving room for the system daemons),
    the accelerators, and the /dev/shm tmpfs (which counts against the memory limit)."""
    share = 1 if model.nodes_per_replica > 1 else max(1, model.replicas_per_node)
    cpu_m = max(1000, int(pool.vcpus * 1000 * 0.7 / share) // 100 * 100)
    mem_mi = max(4096, int(pool.memory_gib * 1024 * 0.7 / share) // 256 * 256)
    requests = {"cpu": f"{cpu_m}m", "memory": f"{mem_mi}Mi"}
    # CPU limit above the request: tokenization and detokenization burst, throttling them stalls decoding.
    limits = {"cpu": f"{min(pool.vcpus * 1000, cpu_m * 2)}m", "memory": f"{mem_mi}Mi"}
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
    taint = KIND_TAINTS.get(pool.kind)
    if taint:
        out.append({"key": taint, "operator": "Exists", "effect": "NoSchedule"})
    if pool.spot and cloud == "azure":
        out.append(
            {
                "key": AZURE_SPOT_TAINT[0],
                "operator": "Equal",
                "value": AZURE_SPOT_TAINT[1],
                "effect": "NoSchedule",
            }
        )
    return out


def node_selector(pool: ResolvedNodePool, cloud: str) -> dict[str, str]:
    sel = {POOL_LABEL: pool.name}
    if pool.kind == "tpu" and cloud == "gcp":
        # GKE schedules TPU pods by these two labels (https://cloud.google.com/kubernetes-engine/docs/how-to/tpus)
        sel["cloud.google.com/gke-tpu-accelerator"] = pool.accelerator_id or ""
        if pool.tpu_topology:
            sel["cloud.google.com/gke-tpu-topology"] = pool.tpu_topology
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


def loader_container(
    model: ResolvedModel, bucket_url: pulumi.Input[str] | None, secret_name: str | None
) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"}]
    if bucket_url is not None:
        env.append({"name": "LLMCLOUD_BUCKET_URL", "value": bucket_url})
    mounts = [{"name": "weights", "mountPath": MODELS_DIR}, {"name": "home", "mountPath": HOME_DIR},
              {"name": "tmp", "mountPath": "/tmp"}]
    if secret_name:
        # A file, not an environment variable: env leaks into crash dumps and `kubectl describe`-style
        # tooling; the Hugging Face client reads HF_TOKEN_PATH itself.
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/{HF_SECRET_KEY}"})
        mounts.append({"name": "hf-token", "mountPath": HF_TOKEN_DIR, "readOnly": True})
    return {
        "name": "load-weights",
        "image": images.LOADER_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["llmcloud-load"],
        # 16 parallel 64 MiB ranges: ~1 GiB of buffers, enough to fill a node's NIC from one bucket.
        "args": [model.source, model_path(model), "--parallel", "16"],
        "env": env,
        "resources": {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"cpu": "4", "memory": "3Gi"}},
        "securityContext": _restricted(),
        "volumeMounts": mounts,
    }


def _server_env(model: ResolvedModel) -> list[dict[str, Any]]:
    return [
        {"name": "HOME", "value": HOME_DIR},
        {"name": "HF_HOME", "value": f"{HOME_DIR}/.cache/huggingface"},
        {"name": "HF_HUB_OFFLINE", "value": "1"},  # weights, tokenizer and config are on local disk
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
        {"name": "VLLM_CACHE_ROOT", "value": f"{HOME_DIR}/.cache/vllm"},
    ]


LEADER_SCRIPT = """set -eu
ray start --head --port=6379 --disable-usage-stats
until python3 -c "import os,ray,sys; ray.init(address='auto', logging_level='ERROR'); \\
sys.exit(sum(n['Alive'] for n in ray.nodes()) < int(os.environ['LWS_GROUP_SIZE']))"; do
  echo waiting for the group's workers; sleep 5
done
exec python3 -m vllm.entrypoints.openai.api_server {args}"""

WORKER_SCRIPT = 'exec ray start --address="$LWS_LEADER_ADDRESS:6379" --block --disable-usage-stats'


def server_container(model: ResolvedModel, pool: ResolvedNodePool, image: str, role: str) -> dict[str, Any]:
    requests, limits = pod_resources(model, pool)
    c: dict[str, Any] = {
        "name": "vllm",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": _server_env(model),
        "resources": {"requests": requests, "limits": limits},
        "securityContext": _restricted(),
        "volumeMounts": [
            {"name": "weights", "mountPath": MODELS_DIR, "readOnly": True},
            {"name": "dshm", "mountPath": "/dev/shm"},
            {"name": "home", "mountPath": HOME_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if role == "worker":
        c["command"] = ["/bin/sh", "-c", WORKER_SCRIPT]
        return c
    if model.nodes_per_replica > 1:
        script = LEADER_SCRIPT.format(args=shlex.join(vllm_args(model, pool)))
        c["command"] = ["/bin/sh", "-c", script]
    else:
        c["command"] = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
        c["args"] = vllm_args(model, pool)
    c["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    minutes = startup_budget_minutes(model)
    # The startup probe holds off liveness until weights are on the accelerators.
    c["startupProbe"] = _http_probe(10, minutes * 6)
    c["readinessProbe"] = _http_probe(5, 3)
    c["livenessProbe"] = _http_probe(15, 4, timeout=10)
    return c


def pod_template(
    args: ModelServerArgs, role: str = "server", secret_name: str | None = None
) -> dict[str, Any]:
    """The pod of one replica (role server), or of an LWS worker (role worker)."""
    model, pool = args.model, args.pool
    image = images.serving_image(pool.kind, model.image)
    bucket_url = None
    if model.source.startswith("bucket://"):
        bucket = model.source.removeprefix("bucket://").split("/", 1)[0]
        bucket_url = args.bucket_urls.get(bucket)
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
            "initContainers": [loader_container(model, bucket_url, secret_name)],
            "containers": [server_container(model, pool, image, role)],
            "volumes": [
                {"name": "weights", "emptyDir": {"sizeLimit": f"{weights_volume_gib(model, pool)}Gi"}},
                {
                    "name": "dshm",
                    "emptyDir": {"medium": "Memory", "sizeLimit": f"{shm_size_gib(pool, model)}Gi"},
                },
                {"name": "home", "emptyDir": {"sizeLimit": "20Gi"}},  # compile caches (torch, triton, XLA)
                {"name": "tmp", "emptyDir": {"sizeLimit": "10Gi"}},
                *([{"name": "hf-token", "secret": {"secretName": secret_name, "defaultMode": 0o400}}]
                  if secret_name else []),
            ],
        },
    }


def _metadata(args: ModelServerArgs, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": args.namespace, "labels": object_labels(args.model, args.labels)}


def deployment(args: ModelServerArgs, secret_name: str | None) -> dict[str, Any]:
    model = args.model
    return {
        "metadata": _metadata(args, model.name),
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
        "metadata": _metadata(args, model.name),
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
            "selector": {**selector_labels(args.model), ROLE_LABEL: "server"},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(args: ModelServerArgs) -> dict[str, Any]:
    # One replica (one LWS group) at a time during node upgrades and scale-downs.
    return {
        "metadata": _metadata(args, args.model.name),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {**selector_labels(args.model), ROLE_LABEL: "server"}},
        },
    }


def needs_leader_worker_set(model: ResolvedModel) -> bool:
    return model.nodes_per_replica > 1


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
        images.serving_image(args.pool.kind, model.image)
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
        self.service = k8s.core.v1.Service(
            f"{name}-service", metadata=svc["metadata"], spec=svc["spec"], opts=child
        )
        pdb = disruption_budget(args)
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=pdb["metadata"], spec=pdb["spec"], opts=child
        )

        from .autoscaling import QueueDepthAutoscaler, QueueDepthAutoscalerArgs

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
        self.register_outputs(
            {"service_name": self.service_name, "endpoint": self.endpoint, "kind": self.kind}
        )
