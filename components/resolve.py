"""resolve(stack, cloud) -> ResolvedStack: every decision a Pulumi program needs, made before it runs.

Catalog look-ups (accelerator -> machine type, region and zone availability), defaults that depend
on the environment, names and labels. Pure Python: `validate` runs this without Pulumi or any SDK.
Problems are StackErrors pinned to the stack file, so a bad stack never reaches the engine.
"""

from __future__ import annotations

import getpass
import math
import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from . import catalog, registry
from .catalog import CloudCatalog, Machine, Taint
from .spec.errors import StackError, StackErrors, did_you_mean
from .spec.load import LoadedStack
from .spec.model import ModelSpec, NodePoolSpec

NAMESPACE = "llmcloud"
SERVING_SERVICE_ACCOUNT = "model-server"


@dataclass(frozen=True)
class ResolvedNodePool:
    name: str
    accelerator: str  # neutral name or "none"
    accelerator_id: str | None  # the cloud's string
    kind: str  # gpu | tpu | neuron | cpu
    k8s_resource: str | None
    accelerators_per_node: int
    accelerator_memory_gib: float
    machine_type: str
    vcpus: int
    memory_gib: float
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_gb: int
    zones: tuple[str, ...]
    tpu_topology: str | None = None
    hosts_per_slice: int = 1  # > 1: a multi-host TPU slice
    # Vendor facts of the accelerator, from its catalog row (catalog/data/FORMAT.md); None/"cpu" for CPU pools.
    vendor: str | None = None
    taint: Taint | None = None
    device_plugin: str | None = None
    image_family: str = "cpu"
    cores_per_device: int = 1
    capacity_reservation: str | None = None  # aws: Capacity Block / reservation id or resource group ARN
    # GiB of local SSD/NVMe the cloud's node pool puts ephemeral storage on (Cloud.ephemeral_local_ssd_gib);
    # 0: the boot disk (disk_gb) holds it.
    local_ssd_gib: int = 0
    # Local NVMe the model pods' weights volume is carved from as a generic ephemeral volume of StorageClass
    # `local_volume_class` (Cloud.local_volume; e.g. AKS + Azure Container Storage); 0/"": none, the weights
    # volume is an emptyDir on the node's ephemeral storage.
    local_volume_gib: int = 0
    local_volume_class: str = ""
    provisioning: str | None = None  # gcp: flex_start | reservation (None: on demand or spot)
    reservation: str | None = None  # gcp: the reservation of provisioning: reservation


@dataclass(frozen=True)
class ResolvedBucket:
    name: str  # key in the stack
    physical_name: str  # globally unique bucket name
    versioning: bool
    kms_key: str | None
    protect: bool
    force_destroy: bool = False  # only for `destroy --delete-data`: delete the weights with the bucket


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    source: str
    node_pool: str
    quantization: str | None
    max_model_len: int | None
    tensor_parallel: int
    pipeline_parallel: int
    replicas_min: int
    replicas_max: int
    hf_token_env: str | None
    gpu_memory_utilization: float
    image: str | None
    nodes_per_replica: int
    replicas_per_node: int = 1
    expected_concurrency: int = 1
    workload: Any = None  # WorkloadSpec (components/spec/model.py) or None: the cost table's $/M tokens

    @property
    def workload_kind(self) -> str:
        """The workload that runs it: one pod per replica (Deployment), or a leader and workers across hosts."""
        return "LeaderWorkerSet" if self.nodes_per_replica > 1 else "Deployment"

    def nodes_for(self, replicas: int) -> int:
        return math.ceil(replicas / self.replicas_per_node) * self.nodes_per_replica


@dataclass(frozen=True)
class ResolvedStack:
    environment: str
    cloud: str
    stack_name: str  # <environment>-<cloud>
    file: str
    region: str
    project: str | None  # the cloud's project (Cloud.project), e.g. GCP's
    resource_group: str | None  # the cloud's resource group (Cloud.resource_group), e.g. Azure's
    regional_cluster: bool
    cluster_zone: str | None  # zonal clusters
    kubernetes_version: str | None
    release_channel: str
    private_nodes: bool
    private_endpoint: bool
    authorized_networks: tuple[str, ...]
    system_machine_type: str
    protect_data: bool
    labels: dict[str, str]
    node_pools: dict[str, ResolvedNodePool]
    buckets: dict[str, ResolvedBucket]
    models: dict[str, ResolvedModel]
    gateway_auth: str
    budget_monthly_usd: float | None
    backend: str | None
    # The stack's block for this cloud (Cloud.block): its frozen model from components/spec/model.py (GcpSpec,
    # AwsSpec, AzureSpec), None for a cloud without one. Cloud code reads it typed, through `gcp_options(r)` ... in
    # components/<cloud>/__init__.py; neutral code asks the Cloud object (e.g. Cloud.cluster_tier).
    cloud_options: BaseModel | None = None
    usage: dict[str, float] = field(default_factory=dict)  # the stack's usage: section (cost)
    namespace: str = NAMESPACE
    service_account: str = SERVING_SERVICE_ACCOUNT
    gateway: Any = None  # ResolvedGateway (components/gateway_checks.py): the front door's product and limits
    # Expiry and status: set by resolve (expires_at:) or stamped by `up`
    ttl: str | None = None  # "8h": counted from each `up`
    expires_at: str | None = None  # ISO 8601 UTC deadline, exported as the stack output `expires_at`
    monthly_cost_expected: float | None = None  # stamped by `up` from the cost engine (for `llmcloud status`)
    images: dict[str, str] = field(default_factory=dict)  # the stack's `images:` (components/serving_checks.py)


def stack_labels(loaded: LoadedStack, cloud: str, stack_name: str) -> dict[str, str]:
    spec = loaded.spec
    owner = spec.owner or _user()
    # Keys and values in the cloud's format (components/labels.py); llmcloud's own keys win over the file's.
    from .labels import EXPIRES_KEY, expiry_value, sanitize
    from .ttl import placeholder

    labels = {
        **spec.labels,
        "llmcloud-stack": stack_name,
        "llmcloud-environment": spec.environment,
        "llmcloud-owner": owner,
    }
    if spec.expires_at is not None:
        labels[EXPIRES_KEY] = expiry_value(spec.expires_at)
    elif spec.ttl:
        labels[EXPIRES_KEY] = placeholder(spec.ttl)  # the deadline is stamped by `up` (components/ttl.py)
    return sanitize(labels, cloud)


def _user() -> str:
    # LLMCLOUD_OWNER: who the resources are labelled as (CI sets it; golden plans fix it)
    if os.environ.get("LLMCLOUD_OWNER"):
        return os.environ["LLMCLOUD_OWNER"]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def resolve(loaded: LoadedStack, cloud: str | None = None) -> ResolvedStack:
    """Resolve for `cloud` (default: the stack's `cloud:`); raise StackErrors listing every problem."""
    spec = loaded.spec
    cloud = cloud or spec.cloud
    errors: list[StackError] = []
    known = registry.names()
    if cloud not in known:
        raise StackErrors(
            [
                loaded.error(
                    ("cloud",), f"unknown cloud {cloud!r}{did_you_mean(cloud, known)}", f"allowed: {', '.join(known)}"
                )
            ]
        )
    door = registry.cloud(cloud)
    missing = door.block_missing(spec)
    if missing:
        raise StackErrors(
            [loaded.error((cloud,), f"the target cloud is {cloud} but the stack has no {cloud}: block", missing)]
        )
    cat = catalog.load(cloud)
    region, region_path = door.region(spec) or "", (cloud, door.region_field)
    if region not in cat.regions:
        errors.append(
            loaded.error(
                region_path,
                f"{region!r} is not a {cloud} region llmcloud knows{did_you_mean(region, cat.regions)}",
                f"allowed: {', '.join(sorted(cat.regions))}",
            )
        )
        raise StackErrors(errors)
    zones_override = getattr(door.block(spec), "zones", None)
    if zones_override:
        for i, zone in enumerate(zones_override):
            if zone not in cat.regions[region]:
                errors.append(
                    loaded.error(
                        (region_path[0], "zones", i),
                        f"{zone!r} is not a zone of {region}{did_you_mean(zone, cat.regions[region])}",
                        f"allowed: {', '.join(sorted(cat.regions[region]))}",
                    )
                )

    stack_name = f"{spec.environment}-{cloud}"
    pools: dict[str, ResolvedNodePool] = {}
    for name, pool_spec in spec.node_pools.items():
        sized: NodePoolSpec | None = pool_spec
        if pool_spec.accelerator == "auto":
            sized = _size_pool(loaded, cloud, region, name, pool_spec, errors)
        if sized is None:
            continue
        resolved_pool = _resolve_pool(loaded, cat, cloud, region, zones_override, name, sized, errors)
        if resolved_pool:
            pools[name] = resolved_pool

    models: dict[str, ResolvedModel] = {}
    for name, model_spec in spec.models.items():
        on = pools.get(model_spec.node_pool)
        if on:
            models[name] = _resolve_model(loaded, name, model_spec, on, errors)

    # Fit check (components/sizing.py): weights + KV cache + overhead vs. accelerator memory.
    from .sizing import FIT_HINT, fit_error

    for name, fitted in models.items():
        message = fit_error(fitted, pools[fitted.node_pool])
        if message:
            errors.append(loaded.error(("models", name, "node_pool"), message, FIT_HINT))

    system_machine = spec.cluster.system_machine_type.get(cloud, door.default_system_machine)
    if cat.cpu_machine(system_machine) is None and not any(m.machine_type == system_machine for m in cat.machines):
        errors.append(
            loaded.error(
                ("cluster", "system_machine_type", cloud),
                f"{system_machine!r} is not in the {cloud} catalog",
                "allowed: " + ", ".join(m.machine_type for m in cat.cpu_machines),
            )
        )
    if errors:
        raise StackErrors(errors)
    resolved = _assemble(loaded, cloud, cat, region, stack_name, pools, models, system_machine)
    # Bucket names are global and cut to the cloud's length: two keys may come out as one name.
    first_key: dict[str, str] = {}
    for key, b in resolved.buckets.items():
        other = first_key.setdefault(b.physical_name, key)
        if other != key:
            errors.append(
                loaded.error(
                    ("buckets", key),
                    f"buckets {other} and {key} would both be named {b.physical_name!r} on {cloud} "
                    "(the stack name and the key, cut to the cloud's length)",
                    "make the keys differ within their first characters, or shorten them",
                )
            )
    # Front door (components/gateway_checks.py): the product per cloud and the limits it cannot give.
    from dataclasses import replace as _replace

    from .gateway_checks import resolve_gateway

    gateway, gateway_errors = resolve_gateway(loaded, resolved)
    errors += gateway_errors
    resolved = _replace(resolved, gateway=gateway)
    # Expiry (components/ttl.py): a fixed deadline now; a ttl's deadline is stamped by `up`.
    if spec.ttl and spec.expires_at is not None:
        errors.append(
            loaded.error(
                ("ttl",),
                "ttl and expires_at are both set",
                "keep one: ttl (counted from each up) or expires_at (a fixed deadline)",
            )
        )
    elif spec.expires_at is not None:
        from .ttl import iso

        resolved = _replace(resolved, expires_at=iso(spec.expires_at))
    elif spec.ttl:
        resolved = _replace(resolved, ttl=spec.ttl)
    # Model serving (components/serving_checks.py): image overrides, quantization, Neuron, node disks.
    from .serving_checks import check_serving

    resolved, serving_errors = check_serving(loaded, resolved)
    errors += serving_errors
    # What only one cloud can say (names that clash after its naming rules, options it refuses).
    errors += door.check(loaded, resolved)
    if errors:
        raise StackErrors(errors)
    return resolved


def _assemble(
    loaded: LoadedStack,
    cloud: str,
    cat: CloudCatalog,
    region: str,
    stack_name: str,
    pools: dict[str, ResolvedNodePool],
    models: dict[str, ResolvedModel],
    system_machine: str,
) -> ResolvedStack:
    spec = loaded.spec
    regional = spec.cluster.regional if spec.cluster.regional is not None else spec.environment == "prod"
    first_zone = None
    if not regional:
        # A zonal control plane sits in the zone where the accelerators are.
        candidates = [z for p in pools.values() for z in p.zones] or sorted(cat.regions[region])
        first_zone = sorted(candidates)[0]
    door = registry.cloud(cloud)
    project = door.project(spec)
    protect = spec.data_protected
    buckets = {
        name: ResolvedBucket(
            name=name,
            physical_name=door.bucket_name(spec, stack_name, name),
            versioning=b.versioning,
            kms_key=b.kms_key,
            protect=protect,
        )
        for name, b in spec.buckets.items()
    }
    return ResolvedStack(
        environment=spec.environment,
        cloud=cloud,
        stack_name=stack_name,
        file=loaded.file,
        region=region,
        project=project,
        resource_group=door.resource_group(spec),
        regional_cluster=regional,
        cluster_zone=first_zone,
        kubernetes_version=spec.cluster.kubernetes_version,
        release_channel=spec.cluster.release_channel,
        private_nodes=spec.cluster.private_nodes,
        private_endpoint=spec.cluster.private_endpoint,
        authorized_networks=tuple(spec.cluster.authorized_networks),
        system_machine_type=system_machine,
        protect_data=protect,
        labels=stack_labels(loaded, cloud, stack_name),
        node_pools=pools,
        buckets=buckets,
        models=models,
        gateway_auth=spec.gateway.auth,
        budget_monthly_usd=spec.budget.monthly_usd,
        backend=spec.backend,
        cloud_options=door.block(spec),
        usage=spec.usage.model_dump(),
        service_account=door.serving_service_account(spec.environment),
    )


POOL_CLOUD_FIELDS = ("provisioning", "reservation", "capacity_reservation")


def _resolve_pool(
    loaded: LoadedStack,
    cat: CloudCatalog,
    cloud: str,
    region: str,
    zones_override: list[str] | None,
    name: str,
    pool: NodePoolSpec,
    errors: list[StackError],
) -> ResolvedNodePool | None:
    path = ("node_pools", name)
    door = registry.cloud(cloud)
    # Pool fields only some clouds can honour: the cloud's `unsupported` table says which, and why
    # (node_pools.<field> entries), so a field is refused where it would be ignored.
    for field_name in POOL_CLOUD_FIELDS:
        reason = door.unsupported.get(f"node_pools.{field_name}")
        if reason and getattr(pool, field_name, None):
            errors.append(
                loaded.error((*path, field_name), f"{field_name} has no meaning on {cloud}: {reason}", "remove it")
            )
    if pool.accelerator == "none":
        machine_type = pool.machine_type.get(cloud, door.default_system_machine)
        cpu = cat.cpu_machine(machine_type)
        if cpu is None:
            errors.append(
                loaded.error(
                    (*path, "machine_type", cloud),
                    f"{machine_type!r} is not a CPU machine type in the {cloud} catalog",
                    "allowed: " + ", ".join(m.machine_type for m in cat.cpu_machines),
                )
            )
            return None
        zones = tuple(zones_override or sorted(cat.regions[region]))
        return ResolvedNodePool(
            name,
            "none",
            None,
            "cpu",
            None,
            0,
            0.0,
            machine_type,
            cpu.vcpus,
            cpu.memory_gib,
            pool.min_nodes,
            pool.max_nodes,
            pool.spot,
            pool.disk_gb,
            zones,
        )

    acc = cat.accelerators.get(pool.accelerator)
    if acc is None or not cat.machines_for(pool.accelerator):
        kind = catalog.kind_of(pool.accelerator)
        reason = registry.unsupported().get((cloud, kind), "") if kind else ""
        errors.append(
            loaded.error(
                (*path, "accelerator"),
                f"{pool.accelerator} is not offered on {cloud}" + (f" ({reason})" if reason else ""),
                f"{cloud} offers: {', '.join(cat.offered_accelerators())}",
            )
        )
        return None
    zones_with = cat.zones_offering(region, pool.accelerator)
    if not zones_with:
        elsewhere = sorted(r for r in cat.regions if cat.zones_offering(r, pool.accelerator))
        errors.append(
            loaded.error(
                (*path, "accelerator"),
                f"{pool.accelerator} is not offered in {region}",
                f"{region} offers: {', '.join(cat.offered_accelerators(region)) or 'none'}; "
                f"{pool.accelerator} is in: {', '.join(elsewhere) or 'no known region'}",
            )
        )
        return None
    if zones_override:
        zones = tuple(z for z in zones_override if z in zones_with)
        if not zones:
            errors.append(
                loaded.error(
                    (*path, "accelerator"),
                    f"{pool.accelerator} is not offered in the zones listed ({', '.join(zones_override)})",
                    f"zones of {region} with {pool.accelerator}: {', '.join(zones_with)}",
                )
            )
            return None
    else:
        zones = tuple(zones_with)

    machine = _pick_machine(loaded, cat, cloud, name, pool, errors)
    if machine is None:
        return None
    if pool.spot and not machine.spot:
        errors.append(
            loaded.error(
                (*path, "spot"),
                f"{machine.machine_type} cannot run as spot on {cloud}",
                "set spot: false, or pick a machine that spot capacity exists for",
            )
        )
        return None
    hosts = 1
    if acc.kind == "tpu":
        slice_hosts = _tpu_hosts(loaded, name, pool, machine, errors)
        if slice_hosts is None:
            return None
        hosts = slice_hosts
        # A multi-host slice only works whole: the pool is 0 or one slice (GKE sizes it atomically).
        if hosts > 1 and (pool.max_nodes != hosts or pool.min_nodes not in (0, hosts)):
            errors.append(
                loaded.error(
                    (*path, "max_nodes"),
                    f"a {pool.tpu_topology} slice of {machine.machine_type} has {hosts} hosts",
                    f"set max_nodes: {hosts} and min_nodes: 0 or {hosts}",
                )
            )
            return None
    return ResolvedNodePool(
        name=name,
        accelerator=pool.accelerator,
        accelerator_id=machine.accelerator_id or acc.id,
        kind=acc.kind,
        k8s_resource=acc.k8s_resource,
        accelerators_per_node=machine.count,
        accelerator_memory_gib=cat.accelerator_memory(machine),
        machine_type=machine.machine_type,
        vcpus=machine.vcpus,
        memory_gib=machine.memory_gib,
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
        spot=pool.spot,
        disk_gb=pool.disk_gb,
        zones=tuple(zones),
        tpu_topology=pool.tpu_topology or machine.tpu_topology,
        hosts_per_slice=hosts,
        vendor=acc.vendor,
        taint=acc.taint,
        device_plugin=acc.device_plugin,
        image_family=acc.image_family,
        cores_per_device=acc.cores_per_device,
        capacity_reservation=pool.capacity_reservation,
        local_ssd_gib=door.ephemeral_local_ssd_gib(machine),
        **_local_volume(door.local_volume(machine, door.block(loaded.spec), pool)),
        provisioning=pool.provisioning,
        reservation=pool.reservation,
    )


def _local_volume(volume: tuple[str, int] | None) -> dict[str, Any]:
    return {"local_volume_class": volume[0], "local_volume_gib": volume[1]} if volume else {}


def _size_pool(
    loaded: LoadedStack, cloud: str, region: str, name: str, pool: NodePoolSpec, errors: list[StackError]
) -> NodePoolSpec | None:
    """accelerator: auto -> the cheapest machine that fits every model on the pool (components/optimizer)."""
    from .optimizer import Demand, cheapest
    from .sizing import facts_for

    path = ("node_pools", name, "accelerator")
    models = {m_name: m for m_name, m in loaded.spec.models.items() if m.node_pool == name}
    facts = {m_name: facts_for(m.source) for m_name, m in models.items()}
    unknown = sorted(m_name for m_name, f in facts.items() if f is None)
    if not models or unknown:
        why = f"models llmcloud cannot size: {', '.join(unknown)}" if unknown else "no model runs on it"
        errors.append(
            loaded.error(
                path,
                f"auto needs models to size the pool for ({why})",
                "name the accelerator, or use models listed in the catalog's models.yaml",
            )
        )
        return None
    demands: list[Demand] = [
        (f, m.quantization, m.max_model_len, m.expected_concurrency, m.gpu_memory_utilization)
        for m_name, m in models.items()
        if (f := facts[m_name]) is not None  # all of them: unknown models returned above
    ]
    option = cheapest(demands, cloud, region, spot=pool.spot)
    if option is None:
        errors.append(
            loaded.error(
                path,
                f"no {cloud} machine in {region} fits {', '.join(sorted(models))}" + (" as spot" if pool.spot else ""),
                "quantize, shorten max_model_len, lower expected_concurrency, or use pipeline "
                "parallelism across nodes with an explicit accelerator",
            )
        )
        return None
    return pool.model_copy(
        update={
            "accelerator": option.accelerator,
            "accelerators_per_node": option.count,
            "machine_type": {**pool.machine_type, cloud: option.machine_type},
        }
    )


def _pick_machine(
    loaded: LoadedStack, cat: CloudCatalog, cloud: str, name: str, pool: NodePoolSpec, errors: list[StackError]
) -> Machine | None:
    """The stack's machine type (which must carry the accelerator and count), else the smallest that does."""
    path = ("node_pools", name)
    wanted = pool.machine_type.get(cloud)
    rows = cat.machines_for(pool.accelerator)
    if wanted:
        same_type = [m for m in rows if m.machine_type == wanted]
        match = next((m for m in same_type if m.count == pool.accelerators_per_node), None)
        if match is None:
            if same_type:
                counts = ", ".join(str(m.count) for m in same_type)
                msg = f"{wanted} carries {counts} × {pool.accelerator}, not {pool.accelerators_per_node}"
            else:
                hint = did_you_mean(wanted, [m.machine_type for m in rows])
                msg = f"{wanted} does not carry {pool.accelerator}{hint}"
            errors.append(
                loaded.error(
                    (*path, "machine_type", cloud),
                    msg,
                    "machine types with "
                    f"{pool.accelerators_per_node} × {pool.accelerator}: "
                    + (", ".join(m.machine_type for m in rows if m.count == pool.accelerators_per_node) or "none"),
                )
            )
            return None
        machine = match
    else:
        fitting = [m for m in rows if m.count == pool.accelerators_per_node]
        if not fitting:
            offered = sorted({m.count for m in rows})
            errors.append(
                loaded.error(
                    (*path, "accelerators_per_node"),
                    f"no {cloud} machine carries {pool.accelerators_per_node} × {pool.accelerator}",
                    f"allowed: {', '.join(map(str, offered))}",
                )
            )
            return None
        usable = [m for m in fitting if m.serving]
        if not usable:
            errors.append(
                loaded.error(
                    (*path, "accelerator"),
                    f"{pool.accelerator} machines on {cloud} are not offered for serving: {fitting[0].note}",
                    "pick another accelerator",
                )
            )
            return None
        machine = usable[0]
    if not machine.serving:
        errors.append(
            loaded.error(
                (*path, "machine_type", cloud),
                f"{machine.machine_type} is not offered for serving: {machine.note}",
                "pick a whole-GPU machine type",
            )
        )
        return None
    return machine


def _tpu_hosts(
    loaded: LoadedStack, name: str, pool: NodePoolSpec, machine: Machine, errors: list[StackError]
) -> int | None:
    """Hosts in one slice: chips in the topology / chips per host; the topology must tile whole hosts."""
    path = ("node_pools", name, "tpu_topology")
    topology = pool.tpu_topology or machine.tpu_topology
    if topology is None:
        return 1
    chips = math.prod(int(x) for x in topology.split("x"))
    if chips % machine.count:
        errors.append(
            loaded.error(
                path,
                f"{topology} has {chips} chips, not a multiple of the {machine.count} chips of {machine.machine_type}",
                f"a topology whose chip count is a multiple of {machine.count}",
            )
        )
        return None
    hosts = chips // machine.count
    if hosts == 1 and machine.tpu_topology and topology != machine.tpu_topology:
        errors.append(
            loaded.error(
                path,
                f"{machine.machine_type} is a {machine.tpu_topology} slice, not {topology}",
                f"tpu_topology: {machine.tpu_topology}, or a multi-host topology",
            )
        )
        return None
    if hosts > 1 and machine.count not in (4,):
        # GKE builds multi-host v5e/v6e slices from 4-chip hosts only.
        errors.append(
            loaded.error(
                path,
                f"a multi-host slice ({topology}) needs 4-chip hosts, not {machine.machine_type}",
                "accelerators_per_node: 4 for multi-host slices",
            )
        )
        return None
    return hosts


def _resolve_model(
    loaded: LoadedStack, name: str, model: ModelSpec, pool: ResolvedNodePool, errors: list[StackError]
) -> ResolvedModel:
    tp = pool.accelerators_per_node if model.tensor_parallel == "auto" else model.tensor_parallel
    tp = max(tp, 1)
    nodes = max(model.pipeline_parallel, pool.hosts_per_slice)
    # Replicas that fit on one node share it (an 8-GPU node holds eight tensor_parallel=1 replicas).
    per_node = max(1, (pool.accelerators_per_node or 1) // tp) if nodes == 1 else 1
    needed = math.ceil(model.replicas.max / per_node) * nodes
    if needed > pool.max_nodes:
        errors.append(
            loaded.error(
                ("models", name, "replicas", "max"),
                f"{model.replicas.max} replicas need {needed} nodes of pool {pool.name}, "
                f"which has max_nodes {pool.max_nodes}",
                f"raise node_pools.{pool.name}.max_nodes or lower replicas.max",
            )
        )
    if model.image:
        from .k8s.images import is_pinned

        if not is_pinned(model.image):
            errors.append(
                loaded.error(
                    ("models", name, "image"),
                    f"{model.image!r} is not pinned",
                    "a version tag other than latest (repo/image:1.2.3) or a digest (@sha256:...)",
                )
            )
    return ResolvedModel(
        name=name,
        source=model.source,
        node_pool=model.node_pool,
        quantization=model.quantization,
        max_model_len=model.max_model_len,
        tensor_parallel=tp,
        pipeline_parallel=model.pipeline_parallel,
        replicas_min=model.replicas.min,
        replicas_max=model.replicas.max,
        hf_token_env=model.hf_token_env,
        gpu_memory_utilization=model.gpu_memory_utilization,
        image=model.image,
        nodes_per_replica=nodes,
        replicas_per_node=per_node,
        expected_concurrency=model.expected_concurrency,
        workload=model.workload,
    )
