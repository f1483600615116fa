"""(cloud, capability) -> the component or function that provides it, imported only when asked for.

Cloud-neutral code reaches a cloud only through here, so `llmcloud --help`, `validate` and a user
with one cloud's SDK installed never import another cloud's SDK (each is 250-350 MB of modules).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

CLOUDS = ("gcp", "aws", "azure")

# capability -> "module:attribute" per cloud. A missing cell is listed in UNSUPPORTED with a reason.
_TABLE: dict[tuple[str, str], str] = {
    ("gcp", "platform"): "llmcloud.components.gcp.platform:build_platform",
    ("gcp", "network"): "llmcloud.components.gcp.network:GcpNetwork",
    ("gcp", "cluster"): "llmcloud.components.gcp.cluster:GkeCluster",
    ("gcp", "accelerator_pool"): "llmcloud.components.gcp.node_pool:GkeAcceleratorNodePool",
    ("gcp", "bucket"): "llmcloud.components.gcp.bucket:GcsWeightsBucket",
    ("gcp", "workload_identity"): "llmcloud.components.gcp.identity:GkeWorkloadIdentity",
    ("aws", "platform"): "llmcloud.components.aws.platform:build_platform",
    ("aws", "network"): "llmcloud.components.aws.network:AwsNetwork",
    ("aws", "cluster"): "llmcloud.components.aws.cluster:EksCluster",
    ("aws", "accelerator_pool"): "llmcloud.components.aws.node_group:EksAcceleratorNodeGroup",
    ("aws", "bucket"): "llmcloud.components.aws.bucket:S3WeightsBucket",
    ("aws", "workload_identity"): "llmcloud.components.aws.identity:EksPodIdentity",
    ("azure", "platform"): "llmcloud.components.azure.platform:build_platform",
    ("azure", "network"): "llmcloud.components.azure.network:AzureNetwork",
    ("azure", "cluster"): "llmcloud.components.azure.cluster:AksCluster",
    ("azure", "accelerator_pool"): "llmcloud.components.azure.agent_pool:AksGpuAgentPool",
    ("azure", "bucket"): "llmcloud.components.azure.storage:BlobWeightsStorage",
    ("azure", "workload_identity"): "llmcloud.components.azure.identity:AksWorkloadIdentity",
    ("gcp", "front_door"): "llmcloud.components.gcp.front_door:build_front_door",
    ("aws", "front_door"): "llmcloud.components.aws.front_door:build_front_door",
    ("azure", "front_door"): "llmcloud.components.azure.front_door:build_front_door",
}

CAPABILITIES = sorted({cap for _, cap in _TABLE})

# Cells that are deliberately absent, with the reason shown to the user.
UNSUPPORTED: dict[tuple[str, str], str] = {}

# cloud -> (SDK module, pip extra)
SDKS = {"gcp": ("pulumi_gcp", "gcp"), "aws": ("pulumi_aws", "aws"), "azure": ("pulumi_azure_native", "azure")}


class MissingPrerequisite(Exception):
    """Something outside llmcloud is needed first (an SDK extra, the pulumi CLI, credentials): exit 4."""


class NotImplementedForCloud(Exception):
    """The capability has no implementation on this cloud yet (or ever): the message says which and why."""


def require_sdk(cloud: str) -> None:
    if cloud not in SDKS:
        raise KeyError(f"unknown cloud {cloud!r}; known: {', '.join(CLOUDS)}")
    module, extra = SDKS[cloud]
    if importlib.util.find_spec(module) is None:
        raise MissingPrerequisite(
            f"the {cloud} SDK ({module.replace('_', '-')}) is not installed: pip install 'llmcloud[{extra}]'")


def checks(cloud: str) -> Any:
    """The cloud's extra stack checks, `check(loaded, resolved) -> list[StackError]`, if it has any.
    They live in llmcloud.components.<cloud>.checks and are pure Python: `validate` runs them without
    the cloud's SDK."""
    module_name = f"llmcloud.components.{cloud}.checks"
    try:
        spec = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        return None
    return getattr(importlib.import_module(module_name), "check", None) if spec else None


def implemented(cloud: str, capability: str) -> bool:
    return (cloud, capability) in _TABLE


def get(cloud: str, capability: str) -> Any:
    """The class or function for `capability` on `cloud`, imported now."""
    if cloud not in CLOUDS:
        raise KeyError(f"unknown cloud {cloud!r}; known: {', '.join(CLOUDS)}")
    target = _TABLE.get((cloud, capability))
    if target is None:
        reason = UNSUPPORTED.get((cloud, capability), "not implemented yet")
        known = ", ".join(sorted(c for (cl, c) in _TABLE if cl == cloud)) or "none"
        raise NotImplementedForCloud(f"{capability} on {cloud}: {reason} (implemented on {cloud}: {known})")
    require_sdk(cloud)
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)
