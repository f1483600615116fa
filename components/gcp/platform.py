"""build_platform(resolved) for Google Cloud: APIs, network, GKE, node pools, weights buckets, identity."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from ..platform import Platform
from ..resolve import ResolvedStack
from . import GcpFrontDoorInputs, gcp_options
from .bucket import GcsWeightsBucket, GcsWeightsBucketArgs
from .checks import account_id, maintenance_exclusions
from .cluster import GkeCluster, GkeClusterArgs
from .identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
from .network import GcpNetwork, GcpNetworkArgs
from .node_pool import GkeAcceleratorNodePool, GkeAcceleratorNodePoolArgs
from .services import enabled_by_llmcloud

IMAGE_CACHE_REPOSITORY = "llmcloud-docker-hub"


class GcpProjectServices(pulumi.ComponentResource):
    """The APIs the stack uses (components/gcp/services.py), enabled and never disabled on destroy.
    Outputs: services (the API names)."""

    def __init__(
        self, name: str, project: str, apis: tuple[str, ...], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmcloud:gcp:ProjectServices", name, None, opts)
        self.resources = [
            gcp.projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=project,
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in apis
        ]
        self.register_outputs({"services": list(apis)})


class GcpImageCache(pulumi.ComponentResource):
    """A pull-through cache of Docker Hub in the region (Artifact Registry remote repository): set a
    model's image to <url>/vllm/vllm-openai:<tag> and its nodes stream it instead of pulling it whole.
    Outputs: url."""

    def __init__(
        self, name: str, r: ResolvedStack, depends_on: list[pulumi.Resource], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmcloud:gcp:ImageCache", name, None, opts)
        repo = gcp.artifactregistry.Repository(
            f"{name}-docker-hub",
            repository_id=IMAGE_CACHE_REPOSITORY,
            location=r.region,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description="llmcloud: Docker Hub, cached next to the nodes",
            remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
                description="Docker Hub",
                docker_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(
                    public_repository="DOCKER_HUB"
                ),
            ),
            labels=r.labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.url = repo.repository_id.apply(lambda rid: f"{r.region}-docker.pkg.dev/{r.project}/{rid}")
        self.register_outputs({"url": self.url})


def build_platform(r: ResolvedStack) -> Platform:
    assert r.project is not None
    # Provider settings come from the stack file: nobody runs `pulumi config set`.
    provider = gcp.Provider(
        "gcp", project=r.project, region=r.region, default_labels=r.labels, add_pulumi_attribution_label=False
    )
    opts = pulumi.ResourceOptions(providers=[provider])
    name = f"llm-{r.environment}"
    services = GcpProjectServices(f"{name}-apis", r.project, enabled_by_llmcloud(r), opts).resources

    network = GcpNetwork(f"{name}-net", GcpNetworkArgs(region=r.region, depends_on=services), opts)
    location = r.region if r.regional_cluster else (r.cluster_zone or r.region)
    zones = sorted({z for p in r.node_pools.values() for z in p.zones})
    cluster = GkeCluster(
        name,
        GkeClusterArgs(
            project=r.project,
            location=location,
            node_locations=tuple(zones) if r.regional_cluster else (),
            network=network.network,
            subnetwork=network.subnetwork,
            pods_range=GcpNetwork.PODS_RANGE,
            services_range=GcpNetwork.SERVICES_RANGE,
            release_channel=r.release_channel,
            kubernetes_version=r.kubernetes_version,
            private_nodes=r.private_nodes,
            private_endpoint=r.private_endpoint,
            authorized_networks=r.authorized_networks,
            system_machine_type=r.system_machine_type,
            deletion_protection=r.protect_data,
            enable_gpu_metrics=any(p.kind == "gpu" for p in r.node_pools.values()),
            maintenance_exclusions=tuple(maintenance_exclusions(r)),
            labels=r.labels,
            depends_on=services,
        ),
        opts,
    )

    pools = [
        GkeAcceleratorNodePool(
            f"{name}-{pool.name}",
            GkeAcceleratorNodePoolArgs(
                cluster_id=cluster.cluster.id,
                location=location,
                pool=pool,
                service_account=cluster.node_service_account,
                labels=r.labels,
                depends_on=services,
            ),
            opts,
        )
        for pool in r.node_pools.values()
    ]

    buckets = {
        b.name: GcsWeightsBucket(
            f"{name}-{b.name}",
            GcsWeightsBucketArgs(
                bucket=b, location=r.region, labels=r.labels, depends_on=services, enable_access_logs=b.protect
            ),
            opts,
        )
        for b in r.buckets.values()
    }

    identity = GkeWorkloadIdentity(
        f"{name}-serving",
        GkeWorkloadIdentityArgs(
            project=r.project,
            account_id=account_id(f"llm-{r.environment}-serving"),
            namespace=r.namespace,
            service_account=r.service_account,
            buckets=tuple(b.name for b in buckets.values()),
            workload_pool=cluster.workload_pool,
            depends_on=[*services, cluster.cluster],
        ),
        opts,
    )

    outputs = {
        "cluster_endpoint": cluster.endpoint,
        "workload_pool": cluster.workload_pool,
        "serving_service_account": identity.email,
    }
    if gcp_options(r).image_cache:
        outputs["image_cache"] = GcpImageCache(f"{name}-image-cache", r, services, opts).url

    return Platform(
        cluster_name=cluster.name,
        kubeconfig=cluster.kubeconfig,
        bucket_urls={k: b.url for k, b in buckets.items()},
        service_account_annotations=identity.annotations,
        depends_on=[*pools, identity],
        front_door=GcpFrontDoorInputs(provider=provider, services=tuple(services)),
        outputs=outputs,
    )
