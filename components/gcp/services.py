"""The Google Cloud APIs a stack needs, as data (pure Python: no SDK, so `validate`, the rehearsal
and the README test read it without pulumi_gcp).

A fresh project has almost no API enabled: the first call to a disabled API fails with
SERVICE_DISABLED. `up` enables what the stack needs (gcp.projects.Service, components/gcp/platform.py)
and every Google Cloud resource waits for them. Enabling is never undone on destroy
(disable_on_destroy=False): another environment in the same project, or something outside llmcloud,
may still use the API. https://cloud.google.com/service-usage/docs/enable-disable
"""

from __future__ import annotations

from typing import Any

from . import gcp_options

# API -> what needs it. Checked 2026-12-01 against each product's "before you begin" page.
REQUIRED_SERVICES: dict[str, str] = {
    "serviceusage.googleapis.com": "enabling the other APIs (on by default in new projects; llmcloud cannot "
    "enable it for you)",
    "cloudresourcemanager.googleapis.com": "project IAM bindings and the project-number lookup",
    "compute.googleapis.com": "VPC, subnet, Cloud Router and NAT, firewall rules, node VMs, the load "
    "balancer's address, SSL policy and Cloud Armor",
    "container.googleapis.com": "the GKE cluster and its node pools",
    "iam.googleapis.com": "service accounts for the nodes and the model servers",
    "iamcredentials.googleapis.com": "Workload Identity: pods exchange their Kubernetes token for the "
    "Google service account's",
    "storage.googleapis.com": "the weights buckets",
    "logging.googleapis.com": "node, NAT and load-balancer logs",
    "monitoring.googleapis.com": "Managed Prometheus (vLLM metrics) and the KEDA queue query",
    "containerfilesystem.googleapis.com": "image streaming (gcfs_config) on the node pools",
    "secretmanager.googleapis.com": "the gateway's API keys",
    "certificatemanager.googleapis.com": "the managed TLS certificate of gateway.domain",
    "artifactregistry.googleapis.com": "the pull-through cache of serving images (gcp.image_cache)",
}

# Enabled out of band, never as a resource: Service Usage is what enables the others.
PREREQUISITE = "serviceusage.googleapis.com"


def required_services(r: Any) -> tuple[str, ...]:
    """The APIs a resolved stack uses, in REQUIRED_SERVICES order (serviceusage first)."""
    gateway = getattr(r, "gateway", None)
    wanted = set(REQUIRED_SERVICES) - {
        "secretmanager.googleapis.com",
        "certificatemanager.googleapis.com",
        "artifactregistry.googleapis.com",
    }
    if gateway is not None and gateway.key_names:
        wanted.add("secretmanager.googleapis.com")
    if gateway is not None and gateway.kind == "load_balancer":
        wanted.add("certificatemanager.googleapis.com")
    if gcp_options(r).image_cache:
        wanted.add("artifactregistry.googleapis.com")
    return tuple(api for api in REQUIRED_SERVICES if api in wanted)


def enabled_by_llmcloud(r: Any) -> tuple[str, ...]:
    """The APIs `up` enables as resources (all required ones but Service Usage itself)."""
    return tuple(api for api in required_services(r) if api != PREREQUISITE)
