"""The Cloud protocol: the one door through which cloud-neutral code reaches a cloud.

Each cloud is one object, `CLOUD` in `components/<cloud>/__init__.py`, registered by one line in
`components/registry.py`. Neutral code (resolve, the program, the engines, cost, preflight, leftovers,
catalog refresh, labels, policy, the CLI) asks that object and never branches on a cloud's name.

Importing a cloud package is cheap: its `__init__` holds facts and small pure functions only. The
members that need the cloud's SDK (`build_platform`, `build_front_door`) or its HTTP clients
(`preflight`, `find_leftovers`, `fetch_prices`) import their submodule when called, so `llmcloud
--help`, `validate` and a user with one cloud's SDK never load another cloud's SDK.

`BaseCloud` implements the members that are the same shape on every cloud by importing the
conventional submodule (`platform`, `front_door`, `checks`, `cost`, `preflight`, `leftovers`,
`prices`, `rehearsal`); a cloud overrides what differs and sets its facts as class attributes.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, get_args, runtime_checkable

if TYPE_CHECKING:
    import pulumi
    from pydantic import BaseModel

    from .catalog.refresh.base import Fetched, Targets
    from .cost import Pricer
    from .engine.plan import Plan, Step
    from .gateway_checks import Product
    from .http import Http
    from .leftovers import Leftover
    from .platform import FrontDoor, Platform
    from .preflight import PoolCheck
    from .resolve import ResolvedBucket, ResolvedNodePool, ResolvedStack
    from .spec.errors import StackError
    from .spec.load import LoadedStack
    from .spec.model import StackSpec


@dataclass(frozen=True)
class CiTools:
    """The programs a cluster's kubeconfig runs to sign in (each cloud's `checks.TOOLS`, which `preview` and
    `up` require), as a CI job gets them, for `llmcloud ci init` (cli/ci.py)."""

    # GitHub: steps after the login (nothing when the hosted runner image has the programs)
    github_steps: tuple[Mapping[str, Any], ...] = ()
    # action -> (commit, tag) of every action github_steps uses, pinned as the login actions are
    github_pins: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    # GitLab (llmcloud's Debian-based Python image): shell lines before the login's, that install them, and
    # lines after it that sign them in with the login's credentials
    gitlab_script: tuple[str, ...] = ()
    gitlab_after_login: tuple[str, ...] = ()


# Pulumi's autonaming: the logical name, '-' and 7 random characters (llmcloud leaves the physical names of
# clusters, node pools and node groups to it).
AUTONAME_SUFFIX = len("-") + 7


def autonamed_pool_errors(loaded: Any, r: Any, *, service: str, what: str, limit: int) -> list[Any]:
    """One error per pool whose autonamed `what` (llm-<environment>-<pool>-<7 random characters>) would be longer
    than `service` allows."""
    base = f"llm-{r.environment}"
    errors = []
    for name in r.node_pools:
        length = len(f"{base}-{name}") + AUTONAME_SUFFIX
        if length > limit:
            room = limit - AUTONAME_SUFFIX - len(base) - 1
            errors.append(
                loaded.error(
                    ("node_pools", name),
                    f"{service} would name this {what} {base}-{name}-<7 random characters>, {length} characters; "
                    f"{service} allows {limit}",
                    f"a pool name of at most {room} characters" if room > 0 else "a shorter environment name",
                )
            )
    return errors


def missing_program_names(tools: Mapping[str, str], which: Any = None) -> list[str]:
    """The programs of `tools` (name -> why it is needed and how to install it) that are not on PATH."""
    import shutil

    which = which or shutil.which
    return [tool for tool in tools if which(tool) is None]


def missing_programs(tools: Mapping[str, str], which: Any = None) -> list[str]:
    """One line per program of `tools` not on PATH: what it is and how to install it."""
    return [f"{tool} is not installed; {tools[tool]}" for tool in missing_program_names(tools, which)]


@dataclass(frozen=True)
class CiLogin:
    """How a CI job logs in to this cloud by OIDC (no stored keys), for `llmcloud ci init` (cli/ci.py).
    Values in `${{ vars.X }}` / `$X` form are variables the user sets once (README, "CI pipelines")."""

    github_step: str  # the step's name
    github_action: str  # owner/action
    github_with: Mapping[str, str]
    gitlab_token_var: str  # the id_tokens variable holding GitLab's OIDC token
    gitlab_audience: str
    gitlab_script: tuple[str, ...]  # shell lines that turn the token into the cloud SDKs' credentials
    backend_scheme: str  # the Pulumi state backend URL scheme of this cloud's buckets (gs, s3, azblob)
    # (commit, tag) the workflow pins github_action to: the commit the release tag points at, kept in the
    # cloud's own module as CI_LOGIN_ACTION, which renovate.json's regex manager updates
    github_action_pin: tuple[str, str]


class RehearsalFacts(Protocol):
    """What the deploy rehearsal (components/rehearsal/) asks of a cloud: the module
    components/<cloud>/rehearsal.py implements it (pure Python, no SDK). `plan` and `resolved` are the
    stack's Plan and ResolvedStack."""

    KUBERNETES_SERVICE: str  # gke | eks | aks: the catalog's Kubernetes version windows

    def pools(self, plan: Plan, resolved: ResolvedStack) -> list[dict[str, Any]]:
        """The planned node pools as the scheduling check reads them (machine, taints, labels, max pods)."""
        ...

    def reserved(self, vcpus: int, memory_gib: float, max_pods: int) -> tuple[int, int]:
        """CPU (millicores) and memory (bytes) the cloud reserves on a node of this size."""
        ...

    def control_plane_ports(self, plan: Plan, resolved: ResolvedStack) -> tuple[set[int] | None, str]:
        """Ports the control plane can reach on the nodes (None: all), and how the plan says so."""
        ...

    def builtin_api_groups(self, plan: Plan, resolved: ResolvedStack) -> set[str]:
        """API groups the cluster serves before anything is installed (the cloud's own CRDs)."""
        ...

    def orderings(self, plan: Plan, resolved: ResolvedStack) -> list[tuple[Step, Step, str]]:
        """(dependent, required, why) pairs of steps the deploy must order."""
        ...

    def propagation_delays(self, plan: Plan, resolved: ResolvedStack) -> list[tuple[Step, Step, str]]:
        """(dependent, required, why): created right after `required`, it may fail until that propagates."""
        ...

    def required_services(self, plan: Plan, resolved: ResolvedStack) -> list[dict[str, Any]]:
        """The cloud APIs the stack needs, each with whether the plan enables it."""
        ...


@runtime_checkable
class Cloud(Protocol):
    """What llmcloud needs to know about, and ask of, one cloud. Every member is required; a cloud
    that cannot do something says so in `unsupported` rather than leaving a member out."""

    # ---- identity and vendor facts (plain data; read-only, so a class attribute implements each)
    @property
    def name(self) -> str: ...  # "gcp": the stack's `cloud:` value, the catalog file name, the stack-name suffix

    @property
    def title(self) -> str: ...  # "Google Cloud", for messages

    @property
    def sdk_module(self) -> str: ...  # the Pulumi provider package: pulumi_gcp

    @property
    def pip_extra(self) -> str: ...  # pip install 'llmcloud[<extra>]' installs it

    @property
    def token_prefix(self) -> str: ...  # the first part of the provider's Pulumi type tokens: gcp, aws, azure-native

    @property
    def region_field(self) -> str: ...  # the field of the stack's cloud block that names the region: region | location

    @property
    def default_system_machine(self) -> str: ...  # the system pool's machine when the stack names none

    @property
    def in_cluster_autoscaler(self) -> bool: ...  # True: llmcloud installs the Kubernetes cluster autoscaler (EKS)

    # Pulumi types that hold the model weights (protected in prod)
    @property
    def data_resource_types(self) -> tuple[str, ...]: ...

    @property
    def unsupported(self) -> Mapping[str, str]: ...  # feature (accelerator kind, capability) -> why this cloud lacks it

    @property
    def credentials_help(self) -> str: ...  # where credentials come from, shown when none are found

    @property
    def label_fields(self) -> tuple[str, ...]: ...  # resource arguments that carry the cloud's labels/tags

    # (block, argument) pairs inside a resource's arguments
    @property
    def nested_label_fields(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def max_labels(self) -> int: ...  # how many labels/tags one resource may carry

    @property
    def refresh_note(self) -> str: ...  # said before `prices refresh` fetches this cloud ("" for nothing)

    # gateway kind -> gateway_checks.Product (name, max timeout, streams)
    @property
    def front_door_products(self) -> Mapping[str, Product]: ...

    # accelerator kinds whose device plugin llmcloud installs (the cloud does not)
    @property
    def device_plugins(self) -> tuple[str, ...]: ...

    # (key, value) of the NoSchedule taint the cloud puts on spot nodes
    @property
    def spot_taint(self) -> tuple[str, str] | None: ...

    @property
    def keda_identity_provider(self) -> str | None: ...  # KEDA podIdentity provider for the cloud's managed Prometheus

    # True: serving metrics go to the cloud's Prometheus (its own scrape/rule kinds)
    @property
    def managed_prometheus(self) -> bool: ...

    def managed_prometheus_url(self, project: str | None) -> str | None:
        """The query URL of the cloud's managed Prometheus that serving metrics go to, or None: llmcloud then
        runs Prometheus in the cluster (ServiceMonitor/PrometheusRule)."""
        ...

    def node_selector(self, pool: ResolvedNodePool) -> dict[str, str]:
        """Node labels the cloud schedules a pool's pods by, beyond llmcloud's pool label (GKE TPU labels)."""
        ...

    # ---- the stack file
    def block(self, spec: StackSpec) -> BaseModel | None:
        """The stack's block for this cloud (`gcp:`, `aws:` ...: its frozen model in components/spec/model.py),
        or None when the stack has none. Resolve keeps it as `ResolvedStack.cloud_options`."""
        ...

    def cluster_tier(self, resolved: ResolvedStack) -> str:
        """The managed control plane's pricing tier the cost engine prices, lower case ("standard" on a cloud
        with one tier; AKS: free | standard | premium from `azure.tier`)."""
        ...

    def block_missing(self, spec: StackSpec) -> str | None:
        """Why the stack cannot target this cloud without its block (a fix hint), else None."""
        ...

    def region(self, spec: StackSpec) -> str | None:
        """The region the stack names for this cloud (its block's `region_field`, defaulted)."""
        ...

    def default_region(self) -> str:
        """The region a stack gets when its block names none (the schema's default)."""
        ...

    def project(self, spec: StackSpec) -> str | None:
        """The cloud's project (GCP), else None."""
        ...

    def resource_group(self, spec: StackSpec) -> str | None:
        """The resource group (Azure), else None."""
        ...

    def bucket_name(self, spec: StackSpec, stack_name: str, key: str) -> str:
        """The globally unique physical name of the stack's bucket `key`, within the cloud's naming rules."""
        ...

    def check(self, loaded: LoadedStack, resolved: ResolvedStack) -> list[StackError]:
        """What only this cloud can say about a resolved stack (pure Python, no SDK)."""
        ...

    # ---- labels and tags
    def label_key(self, key: str) -> str:
        """`key` in a form the cloud accepts as a label/tag key."""
        ...

    def label_value(self, value: str) -> str:
        """`value` in a form the cloud accepts as a label/tag value."""
        ...

    def label_problem(self, key: str, value: str) -> str | None:
        """Why the cloud would reject `key=value`, or None."""
        ...

    # ---- the Pulumi program (these import the SDK)
    def build_platform(self, r: ResolvedStack) -> Platform:
        """Network, cluster, node pools, buckets, workload identity: contract in components/platform.py."""
        ...

    def build_front_door(
        self,
        r: ResolvedStack,
        platform: Platform,
        provider: pulumi.ProviderResource,
        labels: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> FrontDoor:
        """The one HTTPS endpoint in front of the models: contract in components/front_door.py."""
        ...

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """The offline engine's answer to a provider function of this cloud (None: not ours)."""
        ...

    # ---- cost, catalog
    def pricers(self) -> Mapping[str, Pricer]:
        """Pulumi type -> pricer of the resources this cloud bills (components/cost)."""
        ...

    def fetch_prices(self, raw: dict[str, Any], wanted: Targets, http: Http, base_url: str | None) -> Fetched:
        """List prices from the cloud's public pricing API for the catalog rows `wanted`."""
        ...

    def refresh_prerequisite(self) -> str | None:
        """What `prices refresh` needs first that is missing (an API key), else None."""
        ...

    # ---- operations
    def has_credentials(self, env: Mapping[str, str], home: Path) -> bool:
        """Whether credentials for the cloud's SDK are present (no network)."""
        ...

    def preflight(self, resolved: ResolvedStack, pools: list[ResolvedNodePool], **clients: object) -> list[PoolCheck]:
        """Quota and zone availability of each accelerator pool, asked of the cloud's APIs."""
        ...

    def leftover_scope(self, resolved: ResolvedStack) -> dict[str, str | None]:
        """The keyword arguments `find_leftovers` needs besides the stack (region, project)."""
        ...

    def find_leftovers(self, stack: str, **clients: object) -> list[Leftover]:
        """Resources still labelled with the stack after destroy, priced where known."""
        ...

    @property
    def ci_login(self) -> CiLogin: ...  # the OIDC login of CI jobs that deploy to this cloud

    @property
    def ci_tools(self) -> CiTools: ...  # what those jobs install so that the cluster's kubeconfig signs in

    @property
    def object_store_scheme(self) -> str: ...  # the URL scheme of its buckets for vLLM's streamer: gs, s3, az

    def weights_url(self, bucket: ResolvedBucket) -> str:
        """The object-store URL of a resolved weights bucket, as vLLM's streamer and `weights sync` read it."""
        ...

    def front_door_problems(self, loaded: LoadedStack, resolved: ResolvedStack, kind: str) -> list[StackError]:
        """Stack problems specific to this cloud's front door of `kind` (network prerequisites and the like)."""
        ...

    def serving_service_account(self, environment: str) -> str:
        """The model servers' Kubernetes service account name (GKE: per environment, since every cluster
        of a project shares one Workload Identity pool)."""
        ...

    @property
    def tools(self) -> Mapping[str, str]: ...  # programs the cloud's kubeconfig runs -> why, and how to install

    def missing_tools(self) -> list[str]:
        """Programs the cloud's providers run that are not installed, each with how to install it."""
        ...

    def deploy_blockers(self, resolved: ResolvedStack) -> list[str]:
        """What would leave a deployed stack unreachable (refused by `up`, exit 2), e.g. placeholder ranges."""
        ...

    def rehearsal_facts(self) -> RehearsalFacts | None:
        """What the rehearsal asks of this cloud (its module components/<cloud>/rehearsal.py), or None: the
        cloud has none yet, and the checks that need its facts are skipped."""
        ...

    def ephemeral_local_ssd_gib(self, machine: Any) -> int:
        """GiB of local SSD/NVMe this cloud's node pool puts a node's ephemeral storage (emptyDir, images) on,
        for a catalog machine row; 0: the boot disk holds it (validate then checks `disk_gb`)."""
        ...

    def local_volume(self, machine: Any, options: Any, pool: Any = None) -> tuple[str, int] | None:
        """(StorageClass, GiB) of the local NVMe a pod's weights volume is carved from as a generic ephemeral
        volume on a catalog machine row, given the stack's cloud block (`options`, the typed block or None)
        and node pool (`pool`, its NodePoolSpec or None), or None: the weights volume is an emptyDir."""
        ...


class BaseCloud:
    """Shared implementation of `Cloud`: each member imports the cloud's conventional submodule when
    called. Subclasses set the facts and override what differs."""

    name = ""
    title = ""
    sdk_module = ""
    pip_extra = ""
    token_prefix = ""
    region_field = "region"
    default_system_machine = ""
    in_cluster_autoscaler = False
    ci_tools = CiTools()
    data_resource_types: tuple[str, ...] = ()
    unsupported: Mapping[str, str] = MappingProxyType({})
    credentials_help = ""
    label_fields: tuple[str, ...] = ("tags",)
    nested_label_fields: tuple[tuple[str, str], ...] = ()
    max_labels = 50
    refresh_note = ""
    device_plugins: tuple[str, ...] = ()
    spot_taint: tuple[str, str] | None = None
    keda_identity_provider: str | None = None
    managed_prometheus = False
    prices_url_env = ""  # environment variable that points `prices refresh` at another pricing API URL
    package = ""  # where the submodules live (default llmcloud.components.<name>)

    @property
    def front_door_products(self) -> Mapping[str, Product]:  # kind -> gateway_checks.Product
        return MappingProxyType({})

    object_store_scheme = ""  # the URL scheme of its buckets for vLLM's streamer: gs, s3, az

    def front_door_problems(self, loaded: LoadedStack, resolved: ResolvedStack, kind: str) -> list[StackError]:
        return []

    def weights_url(self, bucket: ResolvedBucket) -> str:
        raise NotImplementedError(f"{self.name}: no object store")

    def ephemeral_local_ssd_gib(self, machine: Any) -> int:
        return 0

    def local_volume(self, machine: Any, options: Any, pool: Any = None) -> tuple[str, int] | None:
        return None

    def __repr__(self) -> str:
        return f"<Cloud {self.name}>"

    def _module(self, sub: str) -> ModuleType:
        return importlib.import_module(f"{self.package or f'llmcloud.components.{self.name}'}.{sub}")

    def _has_module(self, sub: str) -> bool:
        try:
            return importlib.util.find_spec(f"{self.package or f'llmcloud.components.{self.name}'}.{sub}") is not None
        except ModuleNotFoundError:
            return False

    def require_sdk(self) -> None:
        from .registry import require_sdk

        require_sdk(self.name)

    def managed_prometheus_url(self, project: str | None) -> str | None:
        return None

    def node_selector(self, pool: ResolvedNodePool) -> dict[str, str]:
        return {}

    # ---- the stack file
    def block(self, spec: StackSpec) -> BaseModel | None:
        block: BaseModel | None = getattr(spec, self.name, None)  # StackSpec.<name>: the block's model or None
        return block

    def cluster_tier(self, resolved: ResolvedStack) -> str:
        return "standard"

    def block_missing(self, spec: StackSpec) -> str | None:
        return None

    def region(self, spec: StackSpec) -> str | None:
        block = self.block(spec)
        return getattr(block, self.region_field) if block is not None else None

    def default_region(self) -> str:
        from pydantic import BaseModel

        from .spec.model import StackSpec

        annotation = StackSpec.model_fields[self.name].annotation  # GcpSpec | None, AwsSpec, ...
        types = get_args(annotation) or (annotation,)
        block = next(t for t in types if isinstance(t, type) and issubclass(t, BaseModel))
        return str(block.model_fields[self.region_field].default)

    def project(self, spec: StackSpec) -> str | None:
        return None

    def resource_group(self, spec: StackSpec) -> str | None:
        return None

    bucket_name_max = 63  # the characters of a bucket's name llmcloud chooses (S3 and GCS names: at most 63)

    def bucket_name(self, spec: StackSpec, stack_name: str, key: str) -> str:
        return f"llmcloud-{stack_name}-{key}"[: self.bucket_name_max].rstrip("-")

    def check(self, loaded: LoadedStack, resolved: ResolvedStack) -> list[StackError]:
        if not self._has_module("checks"):
            return []
        fn = getattr(self._module("checks"), "check", None)
        return list(fn(loaded, resolved)) if fn is not None else []

    # ---- labels
    def label_key(self, key: str) -> str:
        return key

    def label_value(self, value: str) -> str:
        return str(value)

    def label_problem(self, key: str, value: str) -> str | None:
        return None

    # ---- the program
    def build_platform(self, r: ResolvedStack) -> Platform:
        self.require_sdk()
        return self._module("platform").build_platform(r)  # type: ignore[no-any-return]

    def build_front_door(
        self,
        r: ResolvedStack,
        platform: Platform,
        provider: pulumi.ProviderResource,
        labels: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> FrontDoor:
        self.require_sdk()
        return self._module("front_door").build_front_door(r, platform, provider, labels, opts)  # type: ignore[no-any-return]

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        return None

    # ---- cost, catalog
    def pricers(self) -> Mapping[str, Pricer]:
        from .cost import registered_pricers

        self._module("cost")  # its @pricer decorators register on import
        return registered_pricers(self.name)

    def fetch_prices(self, raw: dict[str, Any], wanted: Targets, http: Http, base_url: str | None) -> Fetched:
        import os

        prices = self._module("prices")
        base = base_url or (os.environ.get(self.prices_url_env) if self.prices_url_env else None) or prices.BASE_URL
        return prices.fetch(raw, wanted, http, base)  # type: ignore[no-any-return]

    def refresh_prerequisite(self) -> str | None:
        return None

    # ---- operations
    def has_credentials(self, env: Mapping[str, str], home: Path) -> bool:
        return False

    def preflight(self, resolved: ResolvedStack, pools: list[ResolvedNodePool], **clients: object) -> list[PoolCheck]:
        return self._module("preflight").check(resolved, pools, **clients)  # type: ignore[no-any-return]

    def leftover_scope(self, resolved: ResolvedStack) -> dict[str, str | None]:
        return {"region": resolved.region}

    def find_leftovers(self, stack: str, **clients: object) -> list[Leftover]:
        return self._module("leftovers").find(stack, **clients)  # type: ignore[no-any-return]

    def serving_service_account(self, environment: str) -> str:
        from .resolve import SERVING_SERVICE_ACCOUNT

        return SERVING_SERVICE_ACCOUNT

    @property
    def tools(self) -> Mapping[str, str]:
        """The cloud's `checks.TOOLS` (components/<cloud>/checks.py), or none."""
        if not self._has_module("checks"):
            return MappingProxyType({})
        return MappingProxyType(dict(getattr(self._module("checks"), "TOOLS", {})))

    def missing_tools(self) -> list[str]:
        return missing_programs(self.tools)

    def deploy_blockers(self, resolved: ResolvedStack) -> list[str]:
        if not self._has_module("checks"):
            return []
        return list(getattr(self._module("checks"), "deploy_blockers", lambda _r: [])(resolved))

    def rehearsal_facts(self) -> RehearsalFacts | None:
        # A cloud with facts returns its module (`from . import rehearsal`), which mypy then checks against
        # RehearsalFacts (tests/unit/test_types.py).
        return None


_Options = TypeVar("_Options")


def of_type(value: object, kind: type[_Options], what: str) -> _Options:
    """`value` as the cloud's own type `kind`: another type is a programming error (a stack resolved for
    another cloud, a platform of another cloud), not a user's."""
    if not isinstance(value, kind):
        raise TypeError(f"{what} are {type(value).__name__}, not {kind.__name__}")
    return value


def typed_options(resolved: ResolvedStack, kind: type[_Options]) -> _Options:
    """`resolved.cloud_options` as the cloud's own block type (each cloud's `<cloud>_options(r)` calls this)."""
    return of_type(resolved.cloud_options, kind, f"{resolved.stack_name}: cloud options")


def any_env(env: Mapping[str, str], *names: str) -> bool:
    """Whether any of `names` is set (non-empty) in `env`: the shape of most credential checks."""
    return any(env.get(n) for n in names)


MEMBERS: tuple[str, ...] = tuple(
    name
    for name, value in vars(Cloud).items()
    if not name.startswith("_") and (callable(value) or isinstance(value, property))
)
"""Every member of the protocol, for the test that each registered cloud has them all."""
