"""The stack file, v1 (contract 1 in DESIGN.md): a cloud-neutral, validated description of one environment.

Maps are keyed by name, never lists, so a name is a stable identity (and a stable Pulumi URN):
adding a pool never renames another. Every field documents its allowed values, which also feed
the JSON Schema (`llmcloud schema`) that editors use for completion.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..catalog import accelerator_names
from ..registry import CLOUDS

if TYPE_CHECKING:  # both Literals are computed from data at import: to a type checker they are strings
    Cloud = str
    AcceleratorName = str
else:
    Cloud = Literal[CLOUDS]  # the clouds of components/registry.py
    # Every accelerator some cloud's catalog lists (components/catalog/data/<cloud>.yaml), plus none and auto.
    AcceleratorName = Literal[(*accelerator_names(), "none", "auto")]

# DNS-1123 labels: names become parts of Kubernetes and cloud resource names.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$")]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
LabelValue = Annotated[str, StringConstraints(max_length=63)]


class _Spec(BaseModel):
    # Unknown keys are errors (a typo must never be ignored silently); values are never coerced
    # across types except int -> float.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True)


class GkeMaintenanceExclusionSpec(_Spec):
    """A time in which GKE does not upgrade the cluster (gcp.maintenance_exclusions); rules checked by
    components/gcp/checks.py."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")] = Field(
        description="Name of the exclusion, e.g. launch-freeze."
    )
    # Quoted or not (YAML reads an unquoted time as a timestamp); checked by components/gcp/checks.py.
    start: datetime | Annotated[str, StringConstraints(max_length=64)] = Field(
        description="Start, RFC 3339 with an offset, e.g. 2026-12-20T00:00:00Z."
    )
    end: datetime | Annotated[str, StringConstraints(max_length=64)] = Field(
        description="End, RFC 3339 with an offset; or end_of_support (the minor scopes only): until the "
        "cluster's minor version leaves support, renewed with each minor upgrade."
    )
    scope: Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] = Field(
        "NO_UPGRADES",
        description="NO_UPGRADES: nothing, patches included (at most 30 days); NO_MINOR_UPGRADES: patches "
        "only; NO_MINOR_OR_NODE_UPGRADES: control-plane patches only, no node upgrades.",
    )


class GcpSpec(_Spec):
    """Google Cloud placement."""

    project: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")] = Field(
        description="Project ID (6-30 characters: lowercase letters, digits, hyphens)."
    )
    region: str = Field("us-central1", description="Region, e.g. us-central1.")
    zones: list[str] | None = Field(
        None, description="Zones for node pools; default: every zone of the region that offers the pool's accelerator."
    )
    image_cache: bool = Field(
        False,
        description="Create an Artifact Registry remote repository that caches Docker Hub images in the "
        "region (output image_cache): image streaming only speeds up images pulled from Artifact Registry.",
    )
    maintenance_exclusions: list[GkeMaintenanceExclusionSpec] = Field(
        default_factory=list,
        description="Times in which GKE does not upgrade the cluster (at most 20), on top of the weekend "
        "maintenance window.",
    )


class AwsSpec(_Spec):
    """AWS placement."""

    region: str = Field("us-east-1", description="Region, e.g. us-east-1.")
    zones: list[str] | None = Field(
        None,
        description="Availability zone IDs (use1-az1, not us-east-1a: names map to IDs differently in each "
        "account); default: up to three that offer the pools' accelerators.",
    )
    vpc_id: str | None = Field(None, description="Existing VPC id; default: a new VPC.")
    subnet_ids: list[str] | None = Field(None, description="Existing private subnet ids (two or more AZs).")


class AzureSpec(_Spec):
    """Azure placement."""

    location: str = Field("eastus", description="Location, e.g. eastus.")
    resource_group: str | None = Field(None, description="Resource group; default: llmcloud-<environment>.")
    zones: list[str] | None = Field(None, description='Availability zones ("1", "2", "3").')
    subnet_id: str | None = Field(None, description="Existing subnet resource id; default: a new virtual network.")
    tier: Literal["Free", "Standard", "Premium"] = Field(
        "Standard", description="AKS pricing tier: Free (no SLA), Standard (SLA), Premium (LTS)."
    )
    local_nvme: bool | None = Field(
        None,
        description="Put the model pods' Hub-download volumes on the local NVMe data disks of GPU sizes that have "
        "them (NC A100 v4, ND H100/H200 v5) through Azure Container Storage v2 (a cluster extension and a "
        "StorageClass). Default (unset): on for such pools of a fixed size (min_nodes == max_nodes), because the "
        "cluster autoscaler cannot add a node for a pod waiting on such a volume; true: on for every such pool "
        "(its autoscaler then adds no node for model pods); false: off (emptyDir on the OS or temporary disk). README, "
        "'Disks that fit'.",
    )


class ClusterSpec(_Spec):
    """The managed Kubernetes cluster."""

    kubernetes_version: Annotated[str, StringConstraints(pattern=r"^1\.\d{2}$")] | None = Field(
        None, description='Minor version, quoted ("1.31"); default: the release channel\'s default.'
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field("REGULAR", description="GKE release channel.")
    regional: bool | None = Field(
        None, description="Control plane across zones (true) or in one zone (false); default: true in prod."
    )
    private_nodes: bool = Field(True, description="Nodes get no public IP addresses.")
    private_endpoint: bool = Field(False, description="The API server has no public endpoint.")
    authorized_networks: list[str] = Field(
        default_factory=list, description="CIDRs allowed to reach a public API server; empty: any."
    )
    system_machine_type: dict[Cloud, str] = Field(
        default_factory=dict, description="Per-cloud machine type of the small system pool."
    )


class NodePoolSpec(_Spec):
    """An autoscaled pool of accelerator (or CPU) nodes."""

    accelerator: AcceleratorName = Field(
        description="Accelerator type, none for a CPU pool, or auto: the cheapest machine (type and count) on the "
        "target cloud and region that fits every model on the pool."
    )
    accelerators_per_node: int = Field(
        1, ge=1, le=16, description="Accelerators (GPUs, TPU chips, Neuron devices) per node."
    )
    min_nodes: int = Field(0, ge=0, le=1000, description="Fewest nodes; 0 lets the pool scale to zero.")
    max_nodes: int = Field(1, ge=1, le=1000, description="Most nodes the autoscaler may add.")
    spot: bool = Field(False, description="Spot/preemptible capacity: cheaper, can be reclaimed.")
    provisioning: Literal["flex_start", "reservation"] | None = Field(
        None,
        description="gcp: how GKE obtains the nodes instead of on demand or spot: flex_start (Dynamic "
        "Workload Scheduler; a node runs at most 7 days, then is replaced) or reservation (the Compute Engine "
        "reservation named in `reservation`). Not together with spot.",
    )
    reservation: (
        Annotated[
            str,
            StringConstraints(
                max_length=200,
                pattern=r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/reservations/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
            ),
        ]
        | None
    ) = Field(
        None,
        description="gcp, with provisioning: reservation: the reservation's name, or "
        "projects/<project>/reservations/<name> for a reservation shared from another project.",
    )
    machine_type: dict[Cloud, str] = Field(
        default_factory=dict, description="Per-cloud override; must carry the accelerator and count."
    )
    disk_gb: int = Field(200, ge=50, le=65536, description="Boot disk size in GB (images and weights cache).")
    tpu_topology: Annotated[str, StringConstraints(pattern=r"^\d+x\d+(x\d+)?$")] | None = Field(
        None, description='TPU slice topology, e.g. "2x4" (one host) or "4x4" (multi-host).'
    )
    capacity_reservation: (
        Annotated[
            str,
            StringConstraints(
                max_length=2048,
                pattern=r"^(cr-[0-9a-f]{17}|arn:aws[a-z-]*:resource-groups:[a-z0-9-]+:\d{12}:group/[A-Za-z0-9_.-]+)$",
            ),
        ]
        | None
    ) = Field(
        None,
        description="aws: the EC2 Capacity Block (or capacity reservation) the pool launches into: a "
        "reservation id (cr-...) or a capacity reservation resource group ARN; required by instance types sold "
        "only as Capacity Blocks (p5e.48xlarge, p5en.48xlarge, trn2.48xlarge, ...).",
    )


class BucketSpec(_Spec):
    """An object-storage bucket for model weights: private and encrypted always."""

    versioning: bool = Field(True, description="Keep old object versions (recover overwritten weights).")
    kms_key: str | None = Field(None, description="Customer-managed key id; default: provider-managed encryption.")


class ReplicasSpec(_Spec):
    min: int = Field(1, ge=0, le=1000, description="Fewest replicas; 0 scales to zero when idle.")
    max: int = Field(1, ge=1, le=1000, description="Most replicas.")


class WorkloadSpec(_Spec):
    """The traffic a model serves: drives the cost table's $/M tokens, the replicas it needs and the
    latency check (components/estimate.py; an estimate: `llmcloud bench` measures)."""

    input_tokens: int = Field(1000, ge=1, le=2_097_152, description="Prompt tokens per request (mean).")
    output_tokens: int = Field(200, ge=1, le=2_097_152, description="Generated tokens per request (mean).")
    concurrency: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Requests in flight per replica; default: as many as the KV cache "
        "holds (a busy replica), or what the latency targets allow.",
    )
    requests_per_second: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="Peak requests per second for the whole model: gives the replicas it needs.",
    )
    ttft_ms: float | None = Field(
        None, gt=0, le=3_600_000, allow_inf_nan=False, description="Target time to first token (p50), ms."
    )
    tpot_ms: float | None = Field(
        None, gt=0, le=60_000, allow_inf_nan=False, description="Target time per output token (p50), ms."
    )


class ModelSpec(_Spec):
    """A model served by vLLM behind the OpenAI-compatible API."""

    source: Annotated[str, StringConstraints(pattern=r"^(hf|gs|s3|az|bucket)://\S+$")] = Field(
        description="Where the weights are: hf://org/model, gs://, s3://, az://, or bucket://<bucket>/<path>."
    )
    node_pool: str = Field(description="The node pool that runs it (a key of node_pools).")
    runtime: Literal["vllm"] = Field("vllm", description="Serving engine.")
    quantization: (
        Literal[
            # vLLM v0.33.0's names (components/serving_checks.py VLLM_QUANTIZATION_TAG)
            "fp8_per_tensor",
            "fp8_per_block",
            "fp8_per_channel",
            "mxfp8",
            "experts_int8",
            "fp8",
            "awq",
            "awq_marlin",
            "gptq",
            "gptq_marlin",
            "compressed-tensors",
            "modelopt",
            "modelopt_fp4",
            "torchao",
        ]
        | None
    ) = Field(
        None,
        description="vLLM's --quantization method (vLLM v0.33.0). fp8_per_tensor, fp8_per_block, fp8_per_channel "
        "and mxfp8 quantize a bf16/fp16 checkpoint on load; fp8, awq, gptq, compressed-tensors, modelopt... need a "
        "checkpoint published in that format (the catalog knows which Hub checkpoints are); null: the "
        "checkpoint's own format.",
    )
    max_model_len: int | None = Field(None, ge=128, le=2_097_152, description="Context length served.")
    tensor_parallel: int | Literal["auto"] = Field(
        "auto", description="Tensor-parallel degree (<= accelerators per node); auto = all accelerators of a node."
    )
    pipeline_parallel: int = Field(1, ge=1, le=64, description="Pipeline stages across nodes (multi-host).")
    replicas: ReplicasSpec = Field(default_factory=ReplicasSpec)
    hf_token_env: EnvVarName | None = Field(
        None, description="Name of the environment variable holding the Hugging Face token (never the token)."
    )
    gpu_memory_utilization: float = Field(
        0.90, gt=0.1, le=0.98, description="Share of accelerator memory vLLM may use."
    )
    expected_concurrency: int = Field(
        1,
        ge=1,
        le=4096,
        description="Sequences served at once per replica; sizing (accelerator: auto) keeps "
        "their KV cache at max_model_len in memory.",
    )
    image: str | None = Field(None, description="Serving image override (pinned tag or digest).")
    workload: WorkloadSpec | None = Field(
        None,
        description="The traffic it serves (input/output tokens, concurrency or requests per second, "
        "latency targets): the cost table's $/M tokens and replica check use it.",
    )
    wake_timeout_seconds: int | None = Field(
        None,
        ge=1,
        le=86_400,
        description="At zero replicas, how long the gateway holds a request while the model "
        "starts (then 503 with Retry-After); default: the model's start-up budget, at most "
        "gateway.request_timeout_seconds.",
    )


class ApiKeySpec(_Spec):
    """One API key of the front door (generated by llmcloud, a Pulumi secret, kept in the cloud's secret manager)."""

    rate_limit_per_minute: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Requests per minute for this key; default: gateway.rate_limit_per_minute.",
    )


class GatewaySpec(_Spec):
    """The API front door: one OpenAI-compatible HTTPS endpoint for every model (README, "The front door")."""

    kind: Literal["managed", "load_balancer"] | None = Field(
        None,
        description="managed (API Gateway REST on aws, API Management StandardV2 on azure, API Gateway on "
        "gcp) or load_balancer (GKE Gateway API, ALB, Azure Load Balancer); default: load_balancer, the option "
        "that streams and holds a request for at least 10 minutes on every cloud.",
    )
    auth: Literal["api_key", "none"] = Field("api_key", description="api_key (default) or none (never in prod).")
    rate_limit_per_minute: int = Field(600, ge=1, le=1_000_000, description="Requests per minute per API key.")
    keys: dict[Name, ApiKeySpec] = Field(
        default_factory=lambda: {"default": ApiKeySpec()},
        description="API keys by name (one generated key each); rotate one by renaming it.",
    )
    request_timeout_seconds: int = Field(
        900, ge=1, le=86_400, description="Longest request (a whole streamed generation), in seconds."
    )
    streaming: bool = Field(True, description="Responses stream (server-sent events); the front door must not buffer.")
    domain: (
        Annotated[
            str, StringConstraints(max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
        ]
        | None
    ) = Field(
        None,
        description="Host name of the endpoint, e.g. api.example.com: gets a managed TLS certificate; "
        "required by kind load_balancer.",
    )
    dns_zone: str | None = Field(
        None,
        max_length=512,
        description="The DNS zone that holds `domain`, as its provider id: a Route 53 hosted "
        "zone id (aws), a Cloud DNS managed zone name (gcp), an Azure DNS zone resource id (azure). With it, "
        "llmcloud creates the certificate-validation and endpoint records itself.",
    )
    allowed_cidrs: list[str] = Field(
        default_factory=list, description="Client CIDRs allowed to reach the endpoint; empty: any."
    )


class UsageSpec(_Spec):
    """Usage-based quantities the cost preview cannot see in the plan (documented defaults)."""

    stored_gb: float = Field(100.0, ge=0, description="GB stored per bucket (weights, with old versions).")
    nat_gb_month: float = Field(50.0, ge=0, description="GB a month through NAT (image and weight downloads).")
    egress_gb_month: float = Field(10.0, ge=0, description="GB a month of responses to the internet.")
    requests_per_month: float = Field(1_000_000, ge=0, description="API requests a month (managed front doors).")


class BudgetSpec(_Spec):
    monthly_usd: float | None = Field(None, gt=0, description="Deploys whose monthly cost exceeds this are stopped.")


class StackSpec(_Spec):
    """One environment of the platform."""

    environment: Name = Field(description="Environment name; default: the stack file's stem.")
    cloud: Cloud = Field("gcp", description="Default target cloud; `--cloud` overrides.")
    protect_data: bool | None = Field(
        None, description="Buckets protected and retained on destroy; default: true when environment is prod."
    )
    backend: str | None = Field(None, description="Pulumi state backend URL (file://, gs://, s3://, azblob://).")
    owner: str | None = Field(None, description="Owner label; default: the user's identity.")
    labels: dict[str, LabelValue] = Field(default_factory=dict, description="Labels/tags added to every resource.")
    # Expiry: `llmcloud reap` destroys stacks whose time is up
    ttl: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,3}[mhdw]$")] | None = Field(
        None,
        description='Lifetime counted from each `up`, e.g. "8h", "3d" (m, h, d, w); then `llmcloud reap` '
        "destroys the stack, keeping data. Not together with expires_at.",
    )
    expires_at: datetime | None = Field(
        None,
        description="Fixed deadline (ISO 8601, e.g. 2026-12-01T18:00:00Z; UTC when no offset is given) "
        "after which `llmcloud reap` destroys the stack, keeping data. Not together with ttl.",
    )
    gcp: GcpSpec | None = None
    aws: AwsSpec = Field(default_factory=AwsSpec)
    azure: AzureSpec = Field(default_factory=AzureSpec)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    node_pools: dict[Name, NodePoolSpec] = Field(default_factory=dict)
    buckets: dict[Name, BucketSpec] = Field(default_factory=lambda: {"weights": BucketSpec()})
    models: dict[Name, ModelSpec] = Field(default_factory=dict)
    gateway: GatewaySpec = Field(default_factory=GatewaySpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    usage: UsageSpec = Field(default_factory=UsageSpec)
    # Serving images (README, "The serving layer"): replacements for air-gapped registries
    images: dict[
        Annotated[str, StringConstraints(min_length=3, max_length=512)],
        Annotated[str, StringConstraints(min_length=3, max_length=512)],
    ] = Field(
        default_factory=dict,
        description="Replace a reviewed image (as components/k8s/images.py and the README "
        "list it, e.g. docker.io/vllm/vllm-openai:v0.33.0) by your mirror of it, pinned by tag or digest: "
        "{docker.io/vllm/vllm-openai:v0.33.0: registry.internal/vllm-openai:v0.33.0}.",
    )

    def cloud_block(self, cloud: str) -> BaseModel | None:
        """The stack's block for `cloud` (gcp:, aws:, azure:), or None."""
        from ..registry import cloud as cloud_of

        return cloud_of(cloud).block(self)

    def region_path(self, cloud: str) -> tuple[str, str]:
        """Where `cloud`'s region is set: gcp.region, aws.region, azure.location (its Cloud.region_field)."""
        from ..registry import cloud as cloud_of

        return (cloud, cloud_of(cloud).region_field)

    def region_for(self, cloud: str) -> str | None:
        block = self.cloud_block(cloud)
        return getattr(block, self.region_path(cloud)[1]) if block is not None else None

    @property
    def data_protected(self) -> bool:
        return self.protect_data if self.protect_data is not None else self.environment == "prod"
