"""GkeCluster: a private, Workload Identity enabled GKE Standard cluster with a small system pool.

The default node pool is removed: every pool is its own NodePool resource, so changing one never
recreates the cluster. Accelerator pools are GkeAcceleratorNodePool components.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from ..labels import POOL_LABEL, SYSTEM_POOL

# Node service account roles: the minimum GKE documents for nodes, instead of the default compute SA
# (Editor on the project). https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster
NODE_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
              "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader")
MASTER_CIDR = "172.16.0.0/28"


@dataclass(frozen=True)
class GkeClusterArgs:
    project: str
    location: str  # region (regional cluster) or zone (zonal)
    node_locations: tuple[str, ...]
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    pods_range: str
    services_range: str
    release_channel: str = "REGULAR"
    kubernetes_version: str | None = None
    private_nodes: bool = True
    private_endpoint: bool = False
    authorized_networks: tuple[str, ...] = ()
    system_machine_type: str = "e2-standard-4"
    deletion_protection: bool = False
    labels: dict[str, str] = field(default_factory=dict)


class GkeCluster(pulumi.ComponentResource):
    """Outputs: name, endpoint, kubeconfig (secret), workload_pool, node_service_account."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        workload_pool = f"{args.project}.svc.id.goog"

        node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes", account_id=_account_id(f"{name}-nodes"), display_name=f"GKE nodes of {name}",
            opts=child)
        for role in NODE_ROLES:
            gcp.projects.IAMMember(f"{name}-nodes-{role.split('/')[1].replace('.', '-')}", project=args.project,
                                   role=role, member=node_sa.email.apply(lambda e: f"serviceAccount:{e}"), opts=child)

        authorized = None
        if args.authorized_networks:
            authorized = gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(cidr_blocks=[
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=c)
                for c in args.authorized_networks])
        self.cluster = gcp.container.Cluster(
            name,
            location=args.location,
            node_locations=list(args.node_locations) or None,
            network=args.network,
            subnetwork=args.subnetwork,
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=args.deletion_protection,
            min_master_version=args.kubernetes_version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=workload_pool),
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=args.pods_range, services_secondary_range_name=args.services_range),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=args.private_nodes, enable_private_endpoint=args.private_endpoint,
                master_ipv4_cidr_block=MASTER_CIDR),
            master_authorized_networks_config=authorized,
            # The Gateway API controller gives the front door an L7 load balancer with long backend timeouts.
            gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
            # Managed Prometheus collects vLLM's /metrics through PodMonitoring resources.
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=["SYSTEM_COMPONENTS"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True)),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(enabled=True)),
            enable_shielded_nodes=True,
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2: network policy enforcement built in
            resource_labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount", "nodeConfig"]),
        )

        self.system_pool = gcp.container.NodePool(
            f"{name}-system",
            cluster=self.cluster.id,
            location=args.location,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(total_min_node_count=1, total_max_node_count=3,
                                                              location_policy="BALANCED"),
            initial_node_count=1,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.system_machine_type,
                disk_size_gb=100,
                disk_type="pd-balanced",
                service_account=node_sa.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True),
                resource_labels=args.labels,
                labels={POOL_LABEL: SYSTEM_POOL},
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount", "nodeCount"]),
        )

        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.workload_pool = pulumi.Output.from_input(workload_pool)
        self.node_service_account = node_sa.email
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate,
        ).apply(lambda a: kubeconfig(*a)))
        self.register_outputs({"name": self.name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig,
                               "workload_pool": self.workload_pool,
                               "node_service_account": self.node_service_account})


def _account_id(text: str) -> str:
    """Service account ids: 6-30 characters, lowercase letters, digits, hyphens."""
    return text.lower()[:30].rstrip("-")


def kubeconfig(name: str, endpoint: str, ca_cert: str) -> str:
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin (no static credentials)."""
    from ..k8s.kubeconfig import exec_kubeconfig

    return exec_kubeconfig(
        name, f"https://{endpoint}", ca_cert, "gke-gcloud-auth-plugin",
        install_hint="Install gke-gcloud-auth-plugin, see "
                     "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl",
        provideClusterInfo=True)
