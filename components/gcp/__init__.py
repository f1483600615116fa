"""Google Cloud (pulumi-gcp): the `CLOUD` object, llmcloud's one door to GCP (components/cloud.py).

This module imports nothing heavy: facts and small pure functions only. The submodules that build
resources (platform, front_door, cluster, ...) import pulumi_gcp and are loaded only when the target
cloud is gcp; `cost`, `preflight`, `leftovers` and `prices` need no SDK.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..cloud import BaseCloud, CiLogin, CiTools, Cloud, RehearsalFacts, any_env, typed_options

if TYPE_CHECKING:
    import pulumi

    from ..catalog.refresh.base import Fetched, Targets
    from ..gateway_checks import Product
    from ..http import Http
    from ..resolve import ResolvedBucket, ResolvedNodePool, ResolvedStack
    from ..spec.model import GcpSpec, StackSpec

# Labels: https://cloud.google.com/compute/docs/labeling-resources#requirements
_BAD = re.compile(r"[^a-z0-9_-]")


# The CI login action, pinned to the commit its release tag points at (git rev-parse TAG^{commit} in the
# action's repository, checked 2026-12-01); renovate.json proposes updates.
CI_LOGIN_ACTION = ("google-github-actions/auth", "7c6bc770dae815cd3e89ee6cdf493a5fab2cc093", "v3.0.0")
# gcloud with the GKE sign-in plugin for CI jobs (GitHub's Ubuntu image has gcloud from Google's apt
# repository, but not the google-cloud-cli-gke-gcloud-auth-plugin package: actions/runner-images
# images/ubuntu/scripts/build/install-google-cloud-cli.sh). Pinned as the login action is (2026-12-01).
CI_TOOL_ACTION = ("google-github-actions/setup-gcloud", "aa5489c8933f4cc7a4f7d45035b3b1440c9c10db", "v3.0.1")


class Gcp(BaseCloud):
    name = "gcp"
    title = "Google Cloud"
    sdk_module = "pulumi_gcp"
    pip_extra = "gcp"
    object_store_scheme = "gs"

    # gateway kind -> the product llmcloud builds (limits checked by components/gateway_checks.py)
    @property
    def front_door_products(self) -> Mapping[str, Product]:
        from ..gateway_checks import GCP_MANAGED, Product

        return MappingProxyType(
            {
                # GCPBackendPolicy timeoutSec: up to 86,400 s on the global external Application Load Balancer.
                # XFF: "<client>, <forwarding rule IP>" appended by the load balancer (Cloud Load Balancing,
                # "HTTP headers").
                "load_balancer": Product(
                    "GKE Gateway API (global external Application Load Balancer)", 86_400, True, trusted_hops=2
                ),
                "managed": Product(
                    "GCP API Gateway",
                    15,
                    False,
                    limit=GCP_MANAGED,
                    not_built="not built: it would only ever carry short, non-streamed requests",
                ),
            }
        )

    ci_login = CiLogin(
        "Authenticate to Google Cloud (OIDC)",
        CI_LOGIN_ACTION[0],
        MappingProxyType(
            {
                "workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
                "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}",
            }
        ),
        "GCP_OIDC_TOKEN",
        "https://iam.googleapis.com/$GCP_WORKLOAD_IDENTITY_PROVIDER",
        (
            'echo "$GCP_OIDC_TOKEN" > "$CI_BUILDS_DIR/.ci-oidc-token"',
            'gcloud iam workload-identity-pools create-cred-config "$GCP_WORKLOAD_IDENTITY_PROVIDER" '
            '--service-account="$GCP_SERVICE_ACCOUNT" --credential-source-file="$CI_BUILDS_DIR/.ci-oidc-token" '
            '--output-file="$CI_BUILDS_DIR/.ci-gcp-creds.json"',
            # the SDKs read GOOGLE_APPLICATION_CREDENTIALS; gcloud, which the GKE plugin asks for a token, reads
            # its auth/credential_file_override property (what google-github-actions/auth exports too)
            'export GOOGLE_APPLICATION_CREDENTIALS="$CI_BUILDS_DIR/.ci-gcp-creds.json" '
            'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE="$CI_BUILDS_DIR/.ci-gcp-creds.json"',
        ),
        "gs",
        CI_LOGIN_ACTION[1:],
    )
    ci_tools = CiTools(
        github_steps=(
            MappingProxyType(
                {
                    "name": "Install gcloud and the GKE sign-in plugin",
                    "uses": CI_TOOL_ACTION[0],
                    "with": {"install_components": "gke-gcloud-auth-plugin"},
                }
            ),
        ),
        github_pins=MappingProxyType({CI_TOOL_ACTION[0]: CI_TOOL_ACTION[1:]}),
        # Google's apt repository, as its install guide for Debian gives it (the job runs as root)
        # https://cloud.google.com/sdk/docs/install#deb and .../cluster-access-for-kubectl#install_plugin
        gitlab_script=(
            "curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg "
            "| gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg",
            'echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt '
            'cloud-sdk main" > /etc/apt/sources.list.d/google-cloud-sdk.list',
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends google-cloud-cli "
            "google-cloud-cli-gke-gcloud-auth-plugin",
        ),
    )
    token_prefix = "gcp"
    region_field = "region"
    default_system_machine = "e2-standard-4"
    in_cluster_autoscaler = False  # GKE autoscales node pools itself
    data_resource_types = ("gcp:storage/bucket:Bucket",)
    unsupported = MappingProxyType(
        {
            "neuron": "Inferentia and Trainium exist only on AWS",
            "node_pools.capacity_reservation": "it names an EC2 Capacity Block or reservation (aws); on gcp use "
            "provisioning: reservation with reservation: <name>",
        }
    )
    credentials_help = (
        "Google application-default credentials: `gcloud auth application-default login`, "
        "GOOGLE_APPLICATION_CREDENTIALS (a workload identity federation config in CI), or "
        "GOOGLE_OAUTH_ACCESS_TOKEN"
    )
    # `labels` on most resources; `resource_labels` on GKE clusters (whose `labels` do not exist) and inside
    # node configs (where `labels` are Kubernetes node labels, not GCP labels).
    label_fields = ("labels", "resource_labels")
    nested_label_fields = (("node_config", "resource_labels"),)
    max_labels = 64
    prices_url_env = "LLMCLOUD_GCP_BILLING_URL"
    device_plugins = ()  # GKE installs the NVIDIA and TPU device plugins itself
    managed_prometheus = True  # Managed Service for Prometheus: PodMonitoring and Rules
    keda_identity_provider = "gcp"  # KEDA's operator reads Managed Prometheus with workload identity

    def managed_prometheus_url(self, project: str | None) -> str | None:
        # Managed Service for Prometheus: PodMonitoring/Rules in the cluster, queried at this URL.
        if not project:
            raise ValueError("the GKE Managed Prometheus endpoint needs the project id")
        return f"https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus"

    def ephemeral_local_ssd_gib(self, machine: Any) -> int:
        # Bundled Local SSD (A2 Ultra, A3, A4) backs ephemeral storage: components/gcp/local_ssd.py
        from .local_ssd import bundled_local_ssd_count, ephemeral_gib

        return ephemeral_gib(bundled_local_ssd_count(machine.local_ssd_gib))

    def node_selector(self, pool: ResolvedNodePool) -> dict[str, str]:
        if pool.kind != "tpu":
            return {}
        # GKE schedules TPU pods by these two labels (https://cloud.google.com/kubernetes-engine/docs/how-to/tpus)
        sel = {"cloud.google.com/gke-tpu-accelerator": pool.accelerator_id or ""}
        if pool.tpu_topology:
            sel["cloud.google.com/gke-tpu-topology"] = pool.tpu_topology
        return sel

    def block_missing(self, spec: StackSpec) -> str | None:
        return None if spec.gcp is not None else "add gcp: {project: <project-id>, region: <region>}"

    def project(self, spec: StackSpec) -> str | None:
        return spec.gcp.project if spec.gcp else None

    def bucket_name(self, spec: StackSpec, stack_name: str, key: str) -> str:
        # Bucket names are global: prefixed with the project and the stack; at most 63 characters.
        return f"{self.project(spec) or 'llm'}-{stack_name}-{key}"[: self.bucket_name_max].rstrip("-")

    def label_key(self, key: str) -> str:
        """Lowercase letters, digits, _ and -; starts with a letter; at most 63 characters."""
        key = _BAD.sub("-", key.lower())
        if not key or not key[0].isalpha():
            key = "l" + key
        return key[:63]

    def label_value(self, value: str) -> str:
        """Lowercase letters, digits, _ and -; may be empty; at most 63 characters."""
        return _BAD.sub("-", str(value).lower())[:63]

    def label_problem(self, key: str, value: str) -> str | None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key) or not re.fullmatch(r"[a-z0-9_-]{0,63}", value):
            return f"{key}={value}: not a GCP label"
        return None

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if token.startswith(("gcp:organizations/getProject", "gcp:organizations/getClientConfig")):
            return {"number": "000000000000", "project": args.get("projectId", "offline")}
        return None

    def fetch_prices(self, raw: dict[str, Any], wanted: Targets, http: Http, base_url: str | None) -> Fetched:
        from ..catalog.refresh import MissingApiKey
        from . import prices

        key = prices.api_key()
        if not key:
            raise MissingApiKey(
                "the GCP Cloud Billing Catalog API needs an API key: set GOOGLE_API_KEY "
                "(or LLMCLOUD_GCP_API_KEY); https://cloud.google.com/docs/authentication/api-keys"
            )
        return prices.fetch(raw, wanted, http, key, base_url or os.environ.get(self.prices_url_env) or prices.BASE_URL)

    def refresh_prerequisite(self) -> str | None:
        from . import prices

        if prices.api_key():
            return None
        return "the GCP Cloud Billing Catalog API needs an API key: set GOOGLE_API_KEY or LLMCLOUD_GCP_API_KEY"

    def has_credentials(self, env: Mapping[str, str], home: Path) -> bool:
        adc = Path(env.get("CLOUDSDK_CONFIG", home / ".config" / "gcloud")) / "application_default_credentials.json"
        return (
            any_env(
                env,
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GOOGLE_CREDENTIALS",
                "GOOGLE_OAUTH_ACCESS_TOKEN",
                "CLOUDSDK_AUTH_ACCESS_TOKEN",
                "GCE_METADATA_HOST",
            )
            or adc.is_file()
        )

    def leftover_scope(self, resolved: ResolvedStack) -> dict[str, str | None]:
        return {"region": resolved.region, "project": resolved.project}

    def serving_service_account(self, environment: str) -> str:
        from .checks import serving_service_account

        return serving_service_account(environment)

    def weights_url(self, bucket: ResolvedBucket) -> str:
        return f"gs://{bucket.physical_name}"

    def rehearsal_facts(self) -> RehearsalFacts:
        from . import rehearsal  # pure Python; mypy checks the module against RehearsalFacts

        return rehearsal


@dataclass(frozen=True)
class GcpFrontDoorInputs:
    """What components/gcp/front_door.py builds on, from the platform (Platform.front_door)."""

    provider: pulumi.ProviderResource  # the gcp provider of the stack's project
    services: tuple[pulumi.Resource, ...] = ()  # the enabled APIs (Secret Manager, Certificate Manager, Compute)


def gcp_options(r: ResolvedStack) -> GcpSpec:
    """The stack's `gcp:` block of a stack resolved for gcp (ResolvedStack.cloud_options), typed."""
    from ..spec.model import GcpSpec  # pydantic: imported when called (the policy pack's venv has none)

    return typed_options(r, GcpSpec)


CLOUD: Cloud = Gcp()  # mypy checks Gcp against the Cloud protocol (tests/unit/test_types.py)
