"""The one Pulumi program of llmcloud: ResolvedStack -> components -> stack outputs.

Both engines run it: the real one (Automation API + pulumi CLI) and the offline one (mock runtime).
The cloud's parts come from its Cloud object (components/cloud.py, found through the registry), so only
the chosen cloud's SDK is imported.
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

    # Labels (components/labels.py): one stack transformation labels every resource that takes labels
    from .labels import register as register_labels

    register_labels(r.labels)
    cloud = registry.cloud(r.cloud)
    platform = cloud.build_platform(r)
    provider = k8s.Provider(
        "k8s",
        kubeconfig=platform.kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=platform.provider_depends_on),
    )
    k8s_labels = {"app.kubernetes.io/managed-by": "llmcloud", "llmcloud.dev/stack": r.stack_name}
    serving = ServingNamespace(
        "serving",
        ServingNamespaceArgs(
            namespace=r.namespace,
            service_account=r.service_account,
            annotations=platform.service_account_annotations,
            labels=k8s_labels,
        ),
        pulumi.ResourceOptions(provider=provider, depends_on=platform.depends_on),
    )

    models, monitoring = _serving_layer(r, platform, provider, serving, k8s_labels)
    # Front door: one HTTPS endpoint, API keys, routing by model
    front_door = cloud.build_front_door(
        r, platform, provider, k8s_labels, pulumi.ResourceOptions(depends_on=[serving, monitoring, *models.values()])
    )

    outputs: dict[str, Any] = {
        "cloud": r.cloud,
        "region": r.region,
        "environment": r.environment,
        "cluster_name": platform.cluster_name,
        "kubeconfig": platform.kubeconfig,
        "buckets": platform.bucket_urls,
        "namespace": serving.namespace,
        "models": {name: server.endpoint for name, server in models.items()},
        **platform.outputs,
    }
    # Front door outputs: `llmcloud outputs` prints the endpoint and a curl example
    outputs.update(
        {
            "endpoint": front_door.endpoint,
            "api_keys": front_door.api_keys,
            "gateway": {
                "kind": r.gateway.kind,
                "product": r.gateway.product,
                "auth": r.gateway.auth,
                "models": sorted(r.models),
            },
            "dns_records": front_door.dns_records,
        }
    )
    # Operations: what `llmcloud reap` / `status` read from the state alone
    outputs["stack_file"] = r.file
    outputs["owner"] = r.labels.get("llmcloud-owner", "")
    if r.expires_at or r.ttl:
        outputs["expires_at"] = r.expires_at or f"ttl {r.ttl}"  # unstamped previews show the ttl
    if r.monthly_cost_expected is not None:
        outputs["monthly_cost_expected"] = r.monthly_cost_expected
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs


def _serving_layer(
    r: ResolvedStack, platform: Any, provider: Any, namespace: Any, labels: dict[str, str]
) -> tuple[dict[str, Any], Any]:
    """Device plugins, controllers (KEDA, LeaderWorkerSet), one ModelServer per model, monitoring: the
    servers by model name, and the monitoring component (the front door's monitors wait for its CRDs)."""
    import pulumi_kubernetes as k8s

    from .k8s.autoscaling import KedaOperator
    from .k8s.device_plugins import DevicePlugins, DevicePluginsArgs
    from .k8s.monitoring import ServingMonitoring, ServingMonitoringArgs
    from .k8s.serving import LeaderWorkerSetController, ModelServer, ModelServerArgs, needs_leader_worker_set

    on_cluster = pulumi.ResourceOptions(provider=provider, depends_on=platform.depends_on)
    plugins = DevicePlugins(
        "device-plugins",
        DevicePluginsArgs(cloud=r.cloud, pools=tuple(r.node_pools.values()), labels=labels, image_overrides=r.images),
        on_cluster,
    )
    keda = KedaOperator(
        "keda", on_cluster, cloud=r.cloud, namespace=r.namespace, namespace_resource=namespace, labels=labels
    )
    controllers: list[pulumi.Resource] = [namespace, plugins, keda]
    for sc in platform.storage_classes:  # e.g. AKS local NVMe (Platform.storage_classes)
        controllers.append(
            k8s.storage.v1.StorageClass(
                f"storage-class-{sc['metadata']['name']}",
                metadata=sc["metadata"],
                provisioner=sc["provisioner"],
                reclaim_policy=sc.get("reclaimPolicy"),
                volume_binding_mode=sc.get("volumeBindingMode"),
                allow_volume_expansion=sc.get("allowVolumeExpansion"),
                opts=on_cluster,
            )
        )
    if registry.cloud(r.cloud).in_cluster_autoscaler:  # e.g. EKS; GKE and AKS autoscale node pools themselves
        from .k8s.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs

        ClusterAutoscaler(
            "cluster-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=platform.cluster_name,
                region=r.region,
                kubernetes_version=platform.outputs.get("kubernetes_version"),
            ),
            on_cluster,
        )
    if any(needs_leader_worker_set(m) for m in r.models.values()):
        controllers.append(LeaderWorkerSetController("lws", on_cluster))
    servers = {
        name: ModelServer(
            name,
            ModelServerArgs(
                model=m,
                pool=r.node_pools[m.node_pool],
                cloud=r.cloud,
                namespace=r.namespace,
                service_account=r.service_account,
                bucket_urls=platform.bucket_urls,
                labels=labels,
                pod_labels=platform.pod_labels,
                project=r.project,
                region=r.region,
                image_overrides=r.images,
                storage_accounts=platform.outputs.get("storage_accounts", {}),
            ),
            pulumi.ResourceOptions(provider=provider, depends_on=controllers),
        )
        for name, m in r.models.items()
    }
    monitoring = ServingMonitoring(
        "monitoring",
        ServingMonitoringArgs(cloud=r.cloud, namespace=r.namespace, labels=labels),
        pulumi.ResourceOptions(provider=provider, depends_on=[namespace, *platform.depends_on]),
    )
    return servers, monitoring


def main() -> None:
    """Entry point when the pulumi CLI runs this project directly (Pulumi.yaml, __main__.py)."""
    from .resolve import resolve
    from .spec import load_stack

    config = pulumi.Config("llmcloud")
    loaded = load_stack(config.require("stackFile"))
    build(resolve(loaded, config.get("cloud")))
