"""Security and safety rules over a plan (from either engine), run by `preview` and `up`.

Each rule has an id, a severity (mandatory: exit 3, nothing deployed; advisory: a warning), a message
and a fix. Rules read resources the way the provider receives them (type + camelCase inputs), so the
same functions also back the Pulumi policy pack (components/policy/pack) for the real engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..engine.plan import COMPUTED, Plan, Step
from ..k8s.images import is_pinned

MANDATORY, ADVISORY = "mandatory", "advisory"


@dataclass(frozen=True)
class Context:
    environment: str
    gateway_auth: str = "api_key"
    private_nodes: bool = True

    @property
    def prod(self) -> bool:
        return self.environment == "prod"


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: str
    resource: str
    message: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "resource": self.resource,
            "message": self.message,
            "fix": self.fix,
        }


Check = Callable[[list[Step], Context], Iterable[tuple[str, str]]]  # -> (resource, message)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    fix: str
    check: Check = field(compare=False)
    prod_only_mandatory: bool = False  # mandatory in prod, advisory elsewhere

    def severity_for(self, ctx: Context) -> str:
        if self.prod_only_mandatory and not ctx.prod:
            return ADVISORY
        return self.severity


RULES: list[Rule] = []


def rule(id: str, severity: str, title: str, fix: str, *, prod_only_mandatory: bool = False):
    def register(fn: Check) -> Check:
        RULES.append(Rule(id, severity, title, fix, fn, prod_only_mandatory))
        return fn

    return register


def _get(inputs: Any, path: str, default: Any = None) -> Any:
    value = inputs
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return default
    return value


def _of(steps: list[Step], *prefixes: str) -> Iterator[Step]:
    return (s for s in steps if s.custom and any(s.type.startswith(p) for p in prefixes))


# ------------------------------------------------------------------------------------------- data


@rule(
    "LLM-DATA-001",
    MANDATORY,
    "weights buckets are never public",
    "keep public access prevention (GCS), all four S3 public access block flags, "
    "allowBlobPublicAccess=false and private containers (Azure)",
)
def bucket_private(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(steps, "gcp:storage/bucket:Bucket"):
        if s.inputs.get("publicAccessPrevention") != "enforced":
            yield s.name, "public access prevention is not enforced"
        if s.inputs.get("uniformBucketLevelAccess") is not True:
            yield s.name, "object ACLs are allowed (uniform bucket-level access is off)"
    s3 = list(_of(steps, "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"))
    blocks = list(_of(steps, "aws:s3/bucketPublicAccessBlock"))
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for b in blocks:
        off = [f for f in flags if b.inputs.get(f) is not True]
        if off:
            yield b.name, f"public access block flags not set: {', '.join(off)}"
    if len(blocks) < len(s3):
        yield ", ".join(s.name for s in s3), "an S3 bucket has no public access block"
    for s in _of(steps, "azure-native:storage:StorageAccount"):
        if s.inputs.get("allowBlobPublicAccess") is not False:
            yield s.name, "allowBlobPublicAccess is not false"
    for s in _of(steps, "azure-native:storage:BlobContainer"):
        if s.inputs.get("publicAccess", "None") not in ("None", None):
            yield s.name, f"container public access is {s.inputs.get('publicAccess')}"


@rule(
    "LLM-DATA-002",
    MANDATORY,
    "weights buckets are encrypted and reached over TLS only",
    "S3: a server-side encryption configuration and a TLS-only bucket policy; Azure: HTTPS only, TLS 1.2",
)
def bucket_encrypted(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    # GCS encrypts every object at rest and serves only HTTPS: nothing to check there.
    s3 = list(_of(steps, "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"))
    sse = list(_of(steps, "aws:s3/bucketServerSideEncryptionConfiguration"))
    if len(sse) < len(s3):
        yield ", ".join(s.name for s in s3), "an S3 bucket has no default encryption configuration"
    for s in _of(steps, "azure-native:storage:StorageAccount"):
        if s.inputs.get("enableHttpsTrafficOnly") is False:
            yield s.name, "plain HTTP is allowed"
        if s.inputs.get("minimumTlsVersion") != "TLS1_2":
            yield s.name, f"minimumTlsVersion is {s.inputs.get('minimumTlsVersion', 'unset (TLS 1.0)')}"


@rule(
    "LLM-DATA-003",
    MANDATORY,
    "weights buckets are versioned",
    "versioning: true on the bucket (recovers overwritten or deleted weights)",
)
def bucket_versioned(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(steps, "gcp:storage/bucket:Bucket"):
        if _get(s.inputs, "versioning.enabled") is not True:
            yield s.name, "versioning is off"
    s3 = list(_of(steps, "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"))
    versioning = [
        v
        for v in _of(steps, "aws:s3/bucketVersioning")
        if _get(v.inputs, "versioningConfiguration.status") == "Enabled"
    ]
    if len(versioning) < len(s3):
        yield ", ".join(s.name for s in s3), "an S3 bucket is not versioned"
    for s in _of(steps, "azure-native:storage:BlobServiceProperties"):
        if s.inputs.get("isVersioningEnabled") is not True:
            yield s.name, "blob versioning is off"


@rule(
    "LLM-DATA-004",
    MANDATORY,
    "prod keeps its data on destroy",
    "do not set protect_data: false in prod (buckets are then protected and retained)",
    prod_only_mandatory=True,
)
def data_protected(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    if not ctx.prod:
        return
    from .. import registry

    data = list(_of(steps, *sorted(registry.data_resource_types())))  # the types the real engine keeps too
    kept_parents = {s.parent for s in data if s.protect and s.retain_on_delete}
    for s in data:
        # A resource inside a protected, retained one of the same component (Azure's container in its storage
        # account) is kept with it.
        if not (s.protect and s.retain_on_delete) and s.parent not in kept_parents:
            yield s.name, "bucket is not protected and retained on delete"


# ------------------------------------------------------------------------------------------- network


_OPEN = {"0.0.0.0/0", "::/0", "*", "Internet", "Any"}


def is_front_door_component(type_token: str) -> bool:
    """The component every cloud's front door is (llmcloud:<cloud>:FrontDoor, components/<cloud>/front_door.py)."""
    parts = type_token.split(":")
    return len(parts) == 3 and parts[0] == "llmcloud" and parts[2] == "FrontDoor"


def parent_types(urn: str) -> list[str]:
    """The types of a resource's ancestors, read from its URN: urn:pulumi:<stack>::<project>::<parent
    types, $-separated>$<type>::<name> (https://www.pulumi.com/docs/iac/concepts/resources/names/#urns)."""
    parts = urn.split("::")
    return parts[2].split("$")[:-1] if len(parts) >= 4 else []


def _front_door(s: Step) -> bool:
    """Resources of the front door may accept the internet: by their role (a child of the FrontDoor
    component), never by their name."""
    return any(is_front_door_component(t) for t in parent_types(s.urn))


@rule(
    "LLM-NET-001",
    MANDATORY,
    "no ingress from the whole internet except the front door",
    "restrict source ranges, or route the traffic through the gateway",
)
def no_open_ingress(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(steps, "gcp:compute/firewall:Firewall"):
        if (
            s.inputs.get("direction", "INGRESS") == "INGRESS"
            and _OPEN & set(s.inputs.get("sourceRanges") or [])
            and not _front_door(s)
        ):
            yield s.name, "firewall accepts 0.0.0.0/0"
    for s in _of(steps, "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule"):
        if s.inputs.get("type", "ingress") == "ingress" and not _front_door(s):
            cidrs = set(s.inputs.get("cidrBlocks") or []) | {s.inputs.get("cidrIpv4"), s.inputs.get("cidrIpv6")}
            if _OPEN & cidrs:
                yield s.name, "security group accepts 0.0.0.0/0"
    for s in _of(steps, "aws:ec2/securityGroup:SecurityGroup"):
        for rule_ in s.inputs.get("ingress") or []:
            if _OPEN & set(rule_.get("cidrBlocks") or []) and not _front_door(s):
                yield s.name, "security group accepts 0.0.0.0/0"
    for s in _of(steps, "azure-native:network:SecurityRule", "azure-native:network:NetworkSecurityGroup"):
        rules = [s.inputs] if s.type.endswith("SecurityRule") else (s.inputs.get("securityRules") or [])
        for r in rules:
            if (
                r.get("direction") == "Inbound"
                and r.get("access") == "Allow"
                and r.get("sourceAddressPrefix") in _OPEN
                and not _front_door(s)
            ):
                yield s.name, "network security rule allows inbound from anywhere"


@rule(
    "LLM-NET-002",
    MANDATORY,
    "nodes have no public IP addresses in prod",
    "cluster.private_nodes: true",
    prod_only_mandatory=True,
)
def private_nodes(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(steps, "gcp:container/cluster:Cluster"):
        if _get(s.inputs, "privateClusterConfig.enablePrivateNodes") is not True:
            yield s.name, "GKE nodes get public IP addresses"
    for s in _of(steps, "azure-native:containerservice:AgentPool"):
        if s.inputs.get("enableNodePublicIP") is True:
            yield s.name, "AKS nodes get public IP addresses"
    if not ctx.private_nodes:
        yield "cluster", "cluster.private_nodes is false"


@rule(
    "LLM-NET-003",
    ADVISORY,
    "the Kubernetes API is not open to the whole internet",
    "set cluster.authorized_networks to your office/VPN/CI ranges, or cluster.private_endpoint: true",
)
def api_server_exposure(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(steps, "gcp:container/cluster:Cluster"):
        if not _get(s.inputs, "privateClusterConfig.enablePrivateEndpoint") and not _get(
            s.inputs, "masterAuthorizedNetworksConfig.cidrBlocks"
        ):
            yield s.name, "the GKE control plane accepts connections from any address"
    for s in _of(steps, "aws:eks/cluster:Cluster"):
        vpc = s.inputs.get("vpcConfig") or {}
        if vpc.get("endpointPublicAccess", True) and _OPEN & set(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]):
            yield s.name, "the EKS endpoint accepts connections from any address"
    for s in _of(steps, "azure-native:containerservice:ManagedCluster"):
        profile = s.inputs.get("apiServerAccessProfile") or {}
        if not profile.get("enablePrivateCluster") and not profile.get("authorizedIPRanges"):
            yield s.name, "the AKS API server accepts connections from any address"


# ------------------------------------------------------------------------------------------- identity


@rule(
    "LLM-IAM-001",
    MANDATORY,
    "workload identity only: no static keys or key files",
    "remove service account keys, access keys and shared-key access; llmcloud grants access through "
    "workload identity (GKE), Pod Identity (EKS) or Entra workload identity (AKS)",
)
def no_static_keys(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(steps, "gcp:serviceaccount/key:Key", "aws:iam/accessKey:AccessKey", "gcp:apikeys/key:Key"):
        yield s.name, f"{s.type} creates a long-lived credential"
    for s in _of(steps, "azure-native:storage:StorageAccount"):
        if s.inputs.get("allowSharedKeyAccess") is not False:
            yield s.name, "shared key (account key) access is allowed"
    for s in _of(steps, "gcp:container/nodePool:NodePool"):
        if _get(s.inputs, "nodeConfig.workloadMetadataConfig.mode") != "GKE_METADATA":
            yield s.name, "pods can read the node's credentials (workload metadata is not GKE_METADATA)"
    bad = re.compile(
        r"(GOOGLE_APPLICATION_CREDENTIALS|AWS_SECRET_ACCESS_KEY|AZURE_CLIENT_SECRET|"
        r"AccountKey=|private_key)",
        re.I,
    )
    for s in _of(steps, "kubernetes:core/v1:Secret"):
        keys = [
            k for field_ in ("data", "stringData") if isinstance(s.inputs.get(field_), dict) for k in s.inputs[field_]
        ]
        if any(bad.search(k) for k in keys):
            yield s.name, "a Kubernetes Secret holds cloud credentials"


@rule(
    "LLM-API-001",
    MANDATORY,
    "every endpoint requires authentication",
    "gateway.auth: api_key (auth: none is refused in prod)",
    prod_only_mandatory=True,
)
def auth_on(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    if ctx.gateway_auth == "none":
        yield "gateway", "gateway.auth is none: anyone who finds the endpoint can use the models"


# ------------------------------------------------------------------------------------------- compute


def _pool_has_accelerators(s: Step) -> bool:
    if s.type == "gcp:container/nodePool:NodePool":
        cfg = s.inputs.get("nodeConfig") or {}
        return bool(cfg.get("guestAccelerators")) or str(cfg.get("machineType", "")).startswith(("ct5", "ct6"))
    if s.type == "aws:eks/nodeGroup:NodeGroup":
        return any(t in str(s.inputs.get("amiType", "")) for t in ("NVIDIA", "NEURON", "GPU"))
    if s.type == "azure-native:containerservice:AgentPool":
        return str(s.inputs.get("vmSize", "")).startswith(("Standard_N",))
    return False


@rule(
    "LLM-K8S-001",
    MANDATORY,
    "accelerator pools are tainted",
    "keep the nvidia.com/gpu (or google.com/tpu, aws.amazon.com/neuron) NoSchedule taint, so only pods "
    "that request accelerators land on the expensive nodes",
)
def pools_tainted(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s in _of(
        steps,
        "gcp:container/nodePool:NodePool",
        "aws:eks/nodeGroup:NodeGroup",
        "azure-native:containerservice:AgentPool",
    ):
        if not _pool_has_accelerators(s):
            continue
        taints = _get(s.inputs, "nodeConfig.taints") or s.inputs.get("taints") or s.inputs.get("nodeTaints") or []
        text = str(taints)
        if not any(k in text for k in _accelerator_taint_keys()):
            yield s.name, "accelerator nodes have no NoSchedule taint"


def _accelerator_taint_keys() -> set[str]:
    """The taint keys of every accelerator in the catalogs (their rows' `taint`)."""
    from .. import catalog, registry

    return {a.taint.key for c in registry.CLOUDS for a in catalog.load(c).accelerators.values()}


_WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet",
)


def _pod_specs(s: Step) -> Iterator[dict[str, Any]]:
    spec = s.inputs.get("spec") or {}
    if "template" in spec:
        yield _get(spec, "template.spec") or {}
    lws = spec.get("leaderWorkerTemplate") or {}
    for key in ("leaderTemplate", "workerTemplate"):
        if key in lws:
            yield _get(lws, f"{key}.spec") or {}


def _containers(steps: list[Step]) -> Iterator[tuple[Step, dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec, container) for every container, init containers included."""
    for s in _of(steps, *_WORKLOADS):
        for pod in _pod_specs(s):
            for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
                yield s, pod, c


@rule(
    "LLM-K8S-002",
    MANDATORY,
    "containers are not privileged and cannot escalate",
    "remove privileged: true; set allowPrivilegeEscalation: false",
)
def not_privileged(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s, _, c in _containers(steps):
        sc = c.get("securityContext") or {}
        if sc.get("privileged") is True:
            yield f"{s.name}/{c.get('name')}", "container is privileged"
        elif sc.get("allowPrivilegeEscalation") is not False and not s.type.endswith("DaemonSet"):
            yield f"{s.name}/{c.get('name')}", "privilege escalation is not disabled"


@rule("LLM-K8S-003", ADVISORY, "containers run as non-root", "runAsNonRoot: true with a UID the image supports")
def non_root(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s, pod, c in _containers(steps):
        pod_sc = pod.get("securityContext") or {}
        sc = c.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            yield f"{s.name}/{c.get('name')}", "may run as root"


@rule(
    "LLM-K8S-004",
    MANDATORY,
    "containers have resource limits",
    "set resources.limits (memory, and the accelerator count) on every container",
)
def resource_limits(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s, _, c in _containers(steps):
        if not _get(c, "resources.limits"):
            yield f"{s.name}/{c.get('name')}", "no resource limits"


@rule(
    "LLM-K8S-005",
    MANDATORY,
    "images are pinned to a version or digest",
    "use an explicit version tag (not latest) or a digest",
)
def images_pinned(steps: list[Step], ctx: Context) -> Iterable[tuple[str, str]]:
    for s, _, c in _containers(steps):
        image = str(c.get("image", ""))
        if image != COMPUTED and not is_pinned(image):
            yield f"{s.name}/{c.get('name')}", f"image {image!r} is not pinned"


# ------------------------------------------------------------------------------------------- evaluation


def evaluate_steps(steps: list[Step], ctx: Context) -> list[Violation]:
    out = []
    for r in RULES:
        for resource, message in r.check(steps, ctx):
            out.append(Violation(r.id, r.severity_for(ctx), resource, message, r.fix))
    return out


def evaluate(plan: Plan, resolved: Any) -> dict[str, Any]:
    """The policy JSON of a plan: violations, counts, and the rules that passed."""
    ctx = Context(
        environment=resolved.environment, gateway_auth=resolved.gateway_auth, private_nodes=resolved.private_nodes
    )
    violations = evaluate_steps(plan.steps, ctx)
    failed = {v.rule for v in violations}
    return {
        "violations": [v.to_json() for v in violations],
        "mandatory": sum(v.severity == MANDATORY for v in violations),
        "advisory": sum(v.severity == ADVISORY for v in violations),
        "passed": [r.id for r in RULES if r.id not in failed],
    }
