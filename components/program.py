"""The one Pulumi program of llmcloud: ResolvedStack -> components -> stack outputs.

Both engines run it: the real one (Automation API + pulumi CLI) and the offline one (mock runtime).
The cloud's parts are found through the registry, so only the chosen cloud's SDK is imported.
"""

from __future__ import annotations

from typing import Any

import pulumi

from . import registry
from .resolve import ResolvedStack


def build(r: ResolvedStack) -> dict[str, Any]:
    """Declare every resource of the stack; return (and export) the stack outputs."""
    import pulumi_kubernetes as k8s

    from .k8s.base import ServingNamespace, ServingNamespaceArgs

    platform = registry.get(r.cloud, "platform")(r)
    provider = k8s.Provider("k8s", kubeconfig=platform.kubeconfig, enable_server_side_apply=True)
    k8s_labels = {"app.kubernetes.io/managed-by": "llmcloud", "llmcloud.dev/stack": r.stack_name}
    serving = ServingNamespace("serving", ServingNamespaceArgs(
        namespace=r.namespace, service_account=r.service_account,
        annotations=platform.service_account_annotations, labels=k8s_labels),
        pulumi.ResourceOptions(provider=provider, depends_on=platform.depends_on))

    outputs: dict[str, Any] = {
        "cloud": r.cloud, "region": r.region, "environment": r.environment,
        "cluster_name": platform.cluster_name, "kubeconfig": platform.kubeconfig,
        "buckets": platform.bucket_urls, "namespace": serving.namespace, **platform.outputs,
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs


def main() -> None:
    """Entry point when the pulumi CLI runs this project directly (Pulumi.yaml, __main__.py)."""
    from .resolve import resolve
    from .spec import load_stack

    config = pulumi.Config("llmcloud")
    loaded = load_stack(config.require("stackFile"))
    build(resolve(loaded, config.get("cloud")))
