"""build_platform(resolved) for Google Cloud: network, GKE, node pools, weights buckets, identity."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from ..platform import Platform
from ..resolve import ResolvedStack
from .bucket import GcsWeightsBucket, GcsWeightsBucketArgs
from .cluster import GkeCluster, GkeClusterArgs, _account_id
from .identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
from .network import GcpNetwork, GcpNetworkArgs
from .node_pool import GkeAcceleratorNodePool, GkeAcceleratorNodePoolArgs


def build_platform(r: ResolvedStack) -> Platform:
    assert r.project is not None
    # Provider settings come from the stack file: nobody runs `pulumi config set`.
    provider = gcp.Provider("gcp", project=r.project, region=r.region, default_labels=r.labels,
                            add_pulumi_attribution_label=False)
    opts = pulumi.ResourceOptions(providers=[provider])
    name = f"llm-{r.environment}"

    network = GcpNetwork(f"{name}-net", GcpNetworkArgs(region=r.region), opts)
    location = r.region if r.regional_cluster else (r.cluster_zone or r.region)
    zones = sorted({z for p in r.node_pools.values() for z in p.zones})
    cluster = GkeCluster(name, GkeClusterArgs(
        project=r.project, location=location, node_locations=tuple(zones) if r.regional_cluster else (),
        network=network.network, subnetwork=network.subnetwork, pods_range=GcpNetwork.PODS_RANGE,
        services_range=GcpNetwork.SERVICES_RANGE, release_channel=r.release_channel,
        kubernetes_version=r.kubernetes_version, private_nodes=r.private_nodes, private_endpoint=r.private_endpoint,
        authorized_networks=r.authorized_networks, system_machine_type=r.system_machine_type,
        labels=r.labels), opts)

    pools = [GkeAcceleratorNodePool(f"{name}-{pool.name}", GkeAcceleratorNodePoolArgs(
        cluster_id=cluster.cluster.id, location=location, pool=pool,
        service_account=cluster.node_service_account, labels=r.labels), opts)
        for pool in r.node_pools.values()]

    buckets = {b.name: GcsWeightsBucket(f"{name}-{b.name}", GcsWeightsBucketArgs(
        bucket=b, location=r.region, labels=r.labels), opts) for b in r.buckets.values()}

    identity = GkeWorkloadIdentity(f"{name}-serving", GkeWorkloadIdentityArgs(
        project=r.project, account_id=_account_id(f"llm-{r.environment}-serving"), namespace=r.namespace,
        service_account=r.service_account, buckets=tuple(b.name for b in buckets.values())), opts)

    return Platform(
        cluster_name=cluster.name,
        kubeconfig=cluster.kubeconfig,
        bucket_urls={k: b.url for k, b in buckets.items()},
        service_account_annotations=identity.annotations,
        depends_on=[*pools, identity],
        front_door={"provider": provider},
        outputs={"cluster_endpoint": cluster.endpoint, "workload_pool": cluster.workload_pool,
                 "serving_service_account": identity.email},
    )
