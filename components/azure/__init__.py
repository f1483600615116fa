"""Azure (pulumi-azure-native): the `CLOUD` object, llmcloud's one door to Azure (components/cloud.py).

This module imports nothing heavy: facts and small pure functions only. `checks` is pure Python
(`resolve`/`validate` run it without pulumi-azure-native); the modules that build resources import the
SDK and are loaded only when the target cloud is azure.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..cloud import BaseCloud, CiLogin, CiTools, Cloud, RehearsalFacts, any_env, typed_options

if TYPE_CHECKING:
    import pulumi

    from ..gateway_checks import Product
    from ..resolve import ResolvedBucket, ResolvedStack
    from ..spec.errors import StackError
    from ..spec.load import LoadedStack
    from ..spec.model import AzureSpec, StackSpec

# Tags: https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
_BAD = re.compile(r"[<>%&\\?/]")
_ZERO = "00000000-0000-0000-0000-000000000000"


# The CI login action, pinned to the commit its release tag points at (git rev-parse TAG^{commit} in the
# action's repository, checked 2026-12-01); renovate.json proposes updates.
CI_LOGIN_ACTION = ("azure/login", "f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1")
# kubelogin for CI jobs (GitHub's Ubuntu image has the Azure CLI, not kubelogin), pinned as the login action
# is (its newest tag, v1.3, 2026-04-01), and the kubelogin release it installs (Azure/kubelogin's newest tag,
# v0.2.19 of 2026-06-23; both checked 2026-12-01).
CI_TOOL_ACTION = ("azure/use-kubelogin", "0ce7c36141aa27d4934872cf00b0120804c98a29", "v1.3")
KUBELOGIN_VERSION = "v0.2.19"
# GitLab jobs install the Azure CLI from PyPI, in a virtualenv of its own (its pins are not llmcloud's).
AZURE_CLI_VERSION = "2.91.0"


class Azure(BaseCloud):
    name = "azure"
    title = "Azure"
    sdk_module = "pulumi_azure_native"
    pip_extra = "azure"
    object_store_scheme = "az"

    # gateway kind -> the product llmcloud builds (limits checked by components/gateway_checks.py).
    # Never used: API Management Consumption (no SSE).
    @property
    def front_door_products(self) -> Mapping[str, Product]:
        from ..gateway_checks import AZURE_LB_TIMEOUT, AZURE_MANAGED_TIMEOUT, LB_TIMEOUT_MARGIN, Product

        return MappingProxyType(
            {
                # Standard Load Balancer TCP idle timeout: 4-100 minutes; TLS ends at the in-cluster gateway.
                # L4 with externalTrafficPolicy Local: the client's own address reaches Envoy, nothing to trust in XFF.
                "load_balancer": Product(
                    "Azure Standard Load Balancer + in-cluster gateway",
                    6_000 - LB_TIMEOUT_MARGIN,
                    True,
                    trusted_hops=0,
                    limit=AZURE_LB_TIMEOUT,
                ),
                "managed": Product(
                    "API Management StandardV2", 240, True, limit=AZURE_MANAGED_TIMEOUT, needs_domain=False
                ),
            }
        )

    def front_door_problems(self, loaded: LoadedStack, resolved: ResolvedStack, kind: str) -> list[StackError]:
        from ..gateway_checks import AZURE_MANAGED_SUBNET

        if kind == "managed" and azure_options(resolved).subnet_id:
            return [
                loaded.error(
                    ("azure", "subnet_id"),
                    AZURE_MANAGED_SUBNET,
                    "let llmcloud create the network, or use kind: load_balancer",
                )
            ]
        return []

    ci_login = CiLogin(
        "Authenticate to Azure (OIDC)",
        CI_LOGIN_ACTION[0],
        MappingProxyType(
            {
                "client-id": "${{ vars.AZURE_CLIENT_ID }}",
                "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
            }
        ),
        "AZURE_OIDC_TOKEN",
        "api://AzureADTokenExchange",
        (
            'echo "$AZURE_OIDC_TOKEN" > "$CI_BUILDS_DIR/.ci-oidc-token"',
            'export AZURE_FEDERATED_TOKEN_FILE="$CI_BUILDS_DIR/.ci-oidc-token" ARM_USE_OIDC=true '
            'ARM_CLIENT_ID="$AZURE_CLIENT_ID" ARM_TENANT_ID="$AZURE_TENANT_ID"',
        ),
        "azblob",
        CI_LOGIN_ACTION[1:],
    )
    ci_tools = CiTools(
        github_steps=(
            MappingProxyType(
                {
                    "name": "Install kubelogin (AKS sign-in)",
                    "uses": CI_TOOL_ACTION[0],
                    "with": {"kubelogin-version": KUBELOGIN_VERSION},
                }
            ),
        ),
        github_pins=MappingProxyType({CI_TOOL_ACTION[0]: CI_TOOL_ACTION[1:]}),
        gitlab_script=(
            f"python -m venv /opt/azure-cli && /opt/azure-cli/bin/pip install -q azure-cli=={AZURE_CLI_VERSION}",
            "ln -s /opt/azure-cli/bin/az /usr/local/bin/az",
            # kubectl and kubelogin into /usr/local/bin (the command's defaults on Linux)
            f"az aks install-cli --kubelogin-version {KUBELOGIN_VERSION} --only-show-errors",
        ),
        # kubelogin (azurecli mode) takes AKS tokens from the Azure CLI's session: sign it in with the login's token
        gitlab_after_login=(
            'az login --service-principal --username "$AZURE_CLIENT_ID" --tenant "$AZURE_TENANT_ID" '
            '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions --output none',
        ),
    )
    token_prefix = "azure-native"
    region_field = "location"
    default_system_machine = "Standard_D4s_v5"
    in_cluster_autoscaler = False  # AKS autoscales agent pools itself
    # The account holds the container; the container is kept with it (its account is protected and retained).
    data_resource_types = ("azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer")
    unsupported = MappingProxyType(
        {
            "tpu": "Azure offers no TPUs; use a GPU",
            "neuron": "Inferentia and Trainium exist only on AWS",
            "node_pools.provisioning": "flex-start and GCE reservations are GKE's; llmcloud builds no Azure "
            "capacity reservation groups",
            "node_pools.reservation": "a GCE reservation name; llmcloud builds no Azure capacity reservation groups",
            "node_pools.capacity_reservation": "an EC2 Capacity Block or reservation (aws); AKS cannot use it",
        }
    )
    credentials_help = (
        "Azure credentials: `az login`, or ARM_CLIENT_ID + ARM_TENANT_ID with ARM_USE_OIDC=true / "
        "AZURE_FEDERATED_TOKEN_FILE (OIDC in CI), or ARM_USE_MSI=true (managed identity)"
    )
    label_fields = ("tags",)
    max_labels = 50
    prices_url_env = "LLMCLOUD_AZURE_PRICES_URL"
    device_plugins = ("gpu",)  # AKS GPU pools without the GPU operator need the NVIDIA device plugin
    # AKS taints spot nodes itself: https://learn.microsoft.com/azure/aks/spot-node-pool
    spot_taint = ("kubernetes.azure.com/scalesetpriority", "spot")

    def resource_group(self, spec: StackSpec) -> str | None:
        return (spec.azure.resource_group if spec.azure else None) or f"llmcloud-{spec.environment}"

    def bucket_name(self, spec: StackSpec, stack_name: str, key: str) -> str:
        # Storage account names are global across Azure (3-24 lowercase letters and digits): a short hash of
        # the scope and stack keeps two users' "dev" stacks from colliding. The scope is the stack's GCP
        # project when it has a gcp: block (as it always was: a new scope would rename, so replace, the
        # storage account holding the weights), else the resource group.
        scope = (spec.gcp.project if spec.gcp else None) or self.resource_group(spec)
        digest = hashlib.sha256(f"{scope}/{stack_name}/{key}".encode()).hexdigest()[:6]
        return re.sub(r"[^a-z0-9]", "", f"llm{stack_name}{key}")[:18] + digest

    def label_key(self, key: str) -> str:
        """At most 512 characters, none of < > % & \\ ? /."""
        return _BAD.sub("-", key)[:512] or "-"

    def label_value(self, value: str) -> str:
        return str(value)[:256]

    def label_problem(self, key: str, value: str) -> str | None:
        if len(key) > 512 or len(value) > 256 or _BAD.search(key):
            return f"{key}={value}: not an Azure tag"
        return None

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if token.startswith("azure-native:containerservice:listManagedClusterUserCredentials"):
            # AKS returns base64 kubeconfigs; a placeholder that uses kubelogin, as format=exec gives.
            kubeconfig = "\n".join(
                [
                    "apiVersion: v1",
                    "kind: Config",
                    "clusters:",
                    "- name: offline",
                    "  cluster: {server: 'https://offline.hcp.eastus.azmk8s.io:443'}",
                    "contexts:",
                    "- name: offline",
                    "  context: {cluster: offline, user: clusterUser}",
                    "current-context: offline",
                    "users:",
                    "- name: clusterUser",
                    "  user:",
                    "    exec:",
                    "      apiVersion: client.authentication.k8s.io/v1beta1",
                    "      command: kubelogin",
                    "      args: [get-token, --login, devicecode, --server-id,",
                    "             6dae42f8-4368-4678-94ff-3960e28e3630]",
                    "",
                ]
            )
            return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(kubeconfig.encode()).decode()}]}
        if token.startswith("azure-native:authorization:getClientConfig"):
            return {"tenantId": _ZERO, "subscriptionId": _ZERO, "objectId": _ZERO, "clientId": _ZERO}
        return None

    def has_credentials(self, env: Mapping[str, str], home: Path) -> bool:
        return (
            any_env(
                env,
                "ARM_USE_OIDC",
                "AZURE_FEDERATED_TOKEN_FILE",
                "ARM_USE_MSI",
                "ARM_CLIENT_SECRET",
                "ARM_CLIENT_CERTIFICATE_PATH",
            )
            or (home / ".azure" / "azureProfile.json").is_file()
        )

    def cluster_tier(self, resolved: ResolvedStack) -> str:
        return azure_options(resolved).tier.lower()  # AKS pricing tier: Free, Standard (SLA), Premium (LTS)

    def weights_url(self, bucket: ResolvedBucket) -> str:
        return f"az://{bucket.name}"  # the container; the account: AZURE_STORAGE_ACCOUNT_NAME

    def rehearsal_facts(self) -> RehearsalFacts:
        from . import rehearsal  # pure Python; mypy checks the module against RehearsalFacts

        return rehearsal

    def ephemeral_local_ssd_gib(self, machine: Any) -> int:
        # GPU pools on sizes with a large temp disk use kubeletDiskType Temporary: components/azure/temp_disk.py
        from .temp_disk import kubelet_temp_disk_gib

        return kubelet_temp_disk_gib(machine)

    def local_volume(self, machine: Any, options: Any, pool: Any = None) -> tuple[str, int] | None:
        # GPU sizes with local NVMe data disks: Azure Container Storage volumes, by default on pools of a fixed
        # size (the autoscaler cannot grow a pool for them), all or none with azure.local_nvme (nvme.py)
        from .nvme import STORAGE_CLASS, local_volume_gib

        gib = local_volume_gib(getattr(options, "local_nvme", None), machine, pool)
        return (STORAGE_CLASS, gib) if gib else None


@dataclass(frozen=True)
class AzureFrontDoorInputs:
    """What components/azure/front_door.py builds on, from the platform (Platform.front_door)."""

    provider: pulumi.ProviderResource  # the azure-native provider of the stack's location
    resource_group_name: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str | None]  # as the cluster reports it
    deployer_object_id: pulumi.Output[str]
    tags: dict[str, str]
    prod: bool
    vnet_name: pulumi.Output[str] | None = None  # None: the stack's own subnet (azure.subnet_id)
    allowed_subnet_ids: tuple[str | None, ...] = ()
    allowed_ip_ranges: tuple[str, ...] = ()  # the operators' public ranges (cluster.authorized_networks)
    log_analytics_workspace_id: pulumi.Output[str] | None = None  # prod


def azure_options(r: ResolvedStack) -> AzureSpec:
    """The stack's `azure:` block of a stack resolved for azure (ResolvedStack.cloud_options), typed."""
    from ..spec.model import AzureSpec  # pydantic: imported when called (the policy pack's venv has none)

    return typed_options(r, AzureSpec)


CLOUD: Cloud = Azure()  # mypy checks Azure against the Cloud protocol (tests/unit/test_types.py)
