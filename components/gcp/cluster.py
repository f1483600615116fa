"""GkeCluster: a private, Workload Identity enabled GKE Standard cluster with a small system pool.

The default node pool is removed: every pool is its own NodePool resource, so changing one never
recreates the cluster. Accelerator pools are GkeAcceleratorNodePool components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from ..labels import POOL_LABEL, SYSTEM_POOL
from .checks import account_id
from .options import child as child_opts

# Node service account roles, instead of the Compute Engine default SA (Editor on the project):
# - container.defaultNodeServiceAccount: what GKE documents for a custom node SA (logging, monitoring,
#   resource metadata, autoscaling metrics); https://cloud.google.com/kubernetes-engine/docs/how-to/service-accounts
# - artifactregistry.reader: pull images from Artifact Registry (the image cache);
# - serviceusage.serviceUsageConsumer: image streaming calls the Container File System API as the node;
#   https://cloud.google.com/kubernetes-engine/docs/how-to/image-streaming#requirements
# Checked 2026-12-01.
NODE_ROLES = (
    "roles/container.defaultNodeServiceAccount",
    "roles/artifactregistry.reader",
    "roles/serviceusage.serviceUsageConsumer",
)
MASTER_CIDR = "172.16.0.0/28"
OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]

# The control plane of a private cluster reaches nodes only on 443 and 10250 through the rule GKE
# creates (gke-<cluster>-<id>-master); every webhook or aggregated API server that listens elsewhere
# needs its own rule. Per chart llmcloud installs on GKE: the version pinned in components/k8s/images.py
# when the ports were read, where they were read, and port -> who listens there (checked 2026-12-01).
# cert-manager and kube-prometheus-stack are not installed on GKE (Azure front door; AWS/Azure
# monitoring); their webhooks listen on 10250 anyway (cert-manager v1.21.1, tag 2026-07-29:
# webhook.securePort 10250; kube-prometheus-stack 88.5.3, tag 2026-08-21:
# prometheusOperator.tls.internalPort 10250), which GKE's own rule opens.
GKE_OPEN_PORTS = (443, 10250)


@dataclass(frozen=True)
class ChartPorts:
    pinned: str  # the pin these ports were read for; a bump must re-read them (tests/unit/gcp)
    read_at: str
    ports: dict[int, str]


CHART_CONTROL_PLANE_PORTS: dict[str, ChartPorts] = {
    "keda": ChartPorts(
        "2.20.2",
        "kedacore/charts tag v2.20.2 (2026-07-31) and main at 1444d00 (2026-08-13); v2.17.2 agrees",
        {
            6443: "KEDA metrics API server (values service.portHttpsTarget 6443: the container port "
            "behind the v1beta1.external.metrics.k8s.io APIService)",
            9443: "KEDA admission webhooks (templates/webhooks: containerPort webhooks.port | default 9443)",
        },
    ),
    "lws": ChartPorts(
        "0.10.0",
        "kubernetes-sigs/lws tag v0.10.0 (2026-08-11), charts/lws",
        {
            9443: "LeaderWorkerSet webhook (values service.port 9443; lws-webhook-service targetPort 9443)",
        },
    ),
}
CONTROL_PLANE_PORTS: tuple[int, ...] = tuple(
    sorted({p for chart in CHART_CONTROL_PLANE_PORTS.values() for p in chart.ports if p not in GKE_OPEN_PORTS})
)

# Weekend nights (UTC): upgrades and repairs wait for them. GKE needs at least 48 hours of windows in
# any 32 days, each window at least 4 hours; this gives two 8-hour windows a week.
# https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions
MAINTENANCE_WINDOW = ("2026-01-03T02:00:00Z", "2026-01-03T10:00:00Z", "FREQ=WEEKLY;BYDAY=SA,SU")
# GKE's default observability packages (system metrics, kube state metrics since 1.27, cAdvisor/Kubelet
# since 1.29.3): setting enable_components replaces the defaults, so they are all listed here. The
# vLLM restart alert reads kube_pod_container_status_restarts_total from kube state metrics (POD).
# https://cloud.google.com/kubernetes-engine/docs/how-to/configure-metrics (checked 2026-12-01)
MONITORING_COMPONENTS = (
    "SYSTEM_COMPONENTS",
    "STORAGE",
    "HPA",
    "POD",
    "DAEMONSET",
    "DEPLOYMENT",
    "STATEFULSET",
    "CADVISOR",
    "KUBELET",
)


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
    deletion_protection: bool = False  # protect_data: the cluster cannot be deleted until it is lifted
    enable_gpu_metrics: bool = False  # DCGM metrics, when a pool has GPUs
    enable_gcs_fuse: bool = False  # the Cloud Storage FUSE CSI driver, only when a workload mounts a bucket
    # gcp.maintenance_exclusions, checked and in UTC (components/gcp/checks.py: maintenance_exclusions)
    maintenance_exclusions: tuple[dict[str, str | None], ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()  # the enabled APIs


class GkeCluster(pulumi.ComponentResource):
    """Outputs: name, endpoint, kubeconfig (secret), workload_pool, node_service_account."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GkeCluster", name, None, opts)
        child = child_opts(self, args.depends_on)
        workload_pool = f"{args.project}.svc.id.goog"

        node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes", account_id=account_id(f"{name}-nodes"), display_name=f"GKE nodes of {name}", opts=child
        )
        node_roles = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[1].replace('.', '-')}",
                project=args.project,
                role=role,
                member=node_sa.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=child,
            )
            for role in NODE_ROLES
        ]

        authorized = None
        if args.authorized_networks:
            authorized = gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=c)
                    for c in args.authorized_networks
                ]
            )
        self.cluster = gcp.container.Cluster(
            name,
            location=args.location,
            node_locations=list(args.node_locations) or None,
            network=args.network,
            subnetwork=args.subnetwork,
            remove_default_node_pool=True,
            initial_node_count=1,
            # The temporary default pool runs for a minute before it is removed: as the node SA too, not
            # as the Compute Engine default SA.
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=node_sa.email,
                oauth_scopes=OAUTH_SCOPES,
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
            ),
            deletion_protection=args.deletion_protection,
            min_master_version=args.kubernetes_version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=workload_pool),
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=args.pods_range, services_secondary_range_name=args.services_range
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=args.private_nodes,
                enable_private_endpoint=args.private_endpoint,
                master_ipv4_cidr_block=MASTER_CIDR,
            ),
            master_authorized_networks_config=authorized,
            # The Gateway API controller gives the front door an L7 load balancer with long backend timeouts.
            gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
            # Managed Prometheus collects vLLM's /metrics through PodMonitoring resources.
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=[*MONITORING_COMPONENTS, *(["DCGM"] if args.enable_gpu_metrics else [])],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
            ),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(
                    enabled=args.enable_gcs_fuse
                )
            )
            if args.enable_gcs_fuse
            else None,
            maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
                recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
                    start_time=MAINTENANCE_WINDOW[0], end_time=MAINTENANCE_WINDOW[1], recurrence=MAINTENANCE_WINDOW[2]
                ),
                maintenance_exclusions=[
                    gcp.container.ClusterMaintenancePolicyMaintenanceExclusionArgs(
                        exclusion_name=e["name"],
                        start_time=e["start"],
                        end_time=e["end"],
                        exclusion_options=gcp.container.ClusterMaintenancePolicyMaintenanceExclusionExclusionOptionsArgs(
                            scope=e["scope"], end_time_behavior=e["end_time_behavior"]
                        ),
                    )
                    for e in args.maintenance_exclusions
                ]
                or None,
            ),
            # No client certificate: people and llmcloud sign in with Google identities (gke-gcloud-auth-plugin).
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False
                )
            ),
            enable_shielded_nodes=True,
            # Pod-to-pod traffic on one node goes through the VPC, so flow logs and firewall rules see it.
            enable_intranode_visibility=True,
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2: network policy enforcement built in
            resource_labels=args.labels,
            opts=child_opts(self, [*args.depends_on, *node_roles], ignore_changes=["initialNodeCount", "nodeConfig"]),
        )

        # Webhooks and aggregated APIs of what llmcloud installs: from the control plane to the nodes.
        gcp.compute.Firewall(
            f"{name}-control-plane-webhooks",
            network=args.network,
            direction="INGRESS",
            priority=1000,
            description="llmcloud: GKE control plane to webhook and aggregated API ports on the nodes",
            source_ranges=[MASTER_CIDR],
            target_service_accounts=[node_sa.email],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in CONTROL_PLANE_PORTS])],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            opts=child,
        )

        # initial_node_count is per zone: a regional cluster starts one system node in each of its zones.
        zones = max(len(args.node_locations), 1)
        self.system_pool = gcp.container.NodePool(
            f"{name}-system",
            cluster=self.cluster.id,
            location=args.location,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=1, total_max_node_count=max(3, zones), location_policy="BALANCED"
            ),
            initial_node_count=1,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.system_machine_type,
                disk_size_gb=100,
                disk_type="pd-balanced",
                service_account=node_sa.email,
                oauth_scopes=OAUTH_SCOPES,
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                resource_labels=args.labels,
                labels={POOL_LABEL: SYSTEM_POOL},
            ),
            opts=child_opts(self, args.depends_on, ignore_changes=["initialNodeCount", "nodeCount"]),
        )

        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        # From the cluster itself: the pool exists only once a Workload Identity cluster does, and IAM
        # members naming it fail before ("Identity Pool does not exist").
        self.workload_pool = self.cluster.workload_identity_config.apply(
            lambda c: (c.workload_pool if c else None) or workload_pool
        )
        self.node_service_account = node_sa.email
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name,
                self.cluster.endpoint,
                self.cluster.master_auth.cluster_ca_certificate,
            ).apply(lambda a: kubeconfig(*a))
        )
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "workload_pool": self.workload_pool,
                "node_service_account": self.node_service_account,
            }
        )


def kubeconfig(name: str, endpoint: str, ca_cert: str) -> str:
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin (no static credentials)."""
    from ..k8s.kubeconfig import exec_kubeconfig

    return exec_kubeconfig(
        name,
        f"https://{endpoint}",
        ca_cert,
        "gke-gcloud-auth-plugin",
        install_hint="Install gke-gcloud-auth-plugin, see "
        "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl",
        provideClusterInfo=True,
    )
