"""AksCluster: a private-by-default AKS cluster with Entra ID RBAC, workload identity and a small
system pool that runs only critical add-ons.

- Azure CNI overlay: pods take addresses from a private overlay range, not from the subnet, so a
  small node subnet scales to thousands of nodes.
  https://learn.microsoft.com/azure/aks/azure-cni-overlay
- No local accounts: every kubectl and Pulumi call authenticates with Entra ID (kubelogin) and is
  authorised by Azure RBAC. The identity that deploys gets "Azure Kubernetes Service RBAC Cluster
  Admin" on the cluster, or it could not create the serving namespace.
  https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad
- A user-assigned control-plane identity holds Network Contributor on the node subnet before the
  cluster exists: with a system-assigned identity and our own subnet, AKS cannot attach the subnet
  on first creation from ARM (the CLI grants the role itself; ARM does not).
- Accelerator pools are separate AksGpuAgentPool resources: the inline agentPoolProfiles hold only
  the system pool, so adding a GPU pool never updates the cluster.
- Role assignments take time to reach Azure's authorizers: the cluster waits a bounded time after the
  subnet grant, and `access_ready` (a RbacPropagationWait) polls the API server until the deployer's
  cluster-admin grant is live; the Kubernetes phase depends on it (rbac_wait.py).
- Maintenance windows: node-image (OS) upgrades and cluster patch upgrades run only in a weekly window
  (`aksManagedNodeOSUpgradeSchedule`, `aksManagedAutoUpgradeSchedule`), so a GPU node is not reimaged at a
  random hour while it serves. https://learn.microsoft.com/azure/aks/planned-maintenance
- Prod: host encryption on the system pool, Container Insights (the monitoring add-on, to a Log Analytics
  workspace, Entra auth), and egress through the cluster's zone-redundant Standard Load Balancer.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerservice as containerservice
import pulumi_azure_native.managedidentity as managedidentity
import yaml

from ..labels import POOL_LABEL
from .identity import AKS_RBAC_CLUSTER_ADMIN, NETWORK_CONTRIBUTOR, role_definition_id
from .rbac_wait import SUBNET_ROLE_WAIT, RbacPropagationWait

SYSTEM_POOL = "system"
CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly=true:NoSchedule"
POD_CIDR = "10.16.0.0/14"  # overlay range for pods: ~1,000 nodes at 250 pods each; never routed in the VNet
SERVICE_CIDR = "10.20.0.0/20"
DNS_SERVICE_IP = "10.20.0.10"
# Premium is the Long Term Support tier: AKS refuses it without the LTS support plan.
SUPPORT_PLAN = {"Premium": "AKSLongTermSupport"}
# Weekly maintenance window (UTC) for node-image and cluster patch upgrades.
MAINTENANCE_DAY = "Sunday"
MAINTENANCE_START = "02:00"
MAINTENANCE_HOURS = 4
MAINTENANCE_CONFIGS = ("aksManagedNodeOSUpgradeSchedule", "aksManagedAutoUpgradeSchedule")
OUTBOUND_IPS = 2  # prod, loadBalancer egress: 2 x 64,000 SNAT ports shared by the nodes


def authorized_ranges(ranges: tuple[str, ...], egress_ip: pulumi.Input[str] | None) -> list[Any] | None:
    """The API server's authorized ranges: the stack's, plus the nodes' NAT egress address (/32) when ranges
    are set at all. AKS allows its load balancer's outbound IPs by itself, not a user-assigned NAT gateway's:
    https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges (read 2026-12-01)."""
    if not ranges:
        return None
    out: list[Any] = list(ranges)
    if egress_ip is not None:
        out.append(pulumi.Output.from_input(egress_ip).apply(lambda a: f"{a}/32"))
    return out


@dataclass(frozen=True)
class AksClusterArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    subnet_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    deployer_object_id: pulumi.Input[str]  # who runs Pulumi: gets cluster-admin through Azure RBAC
    tier: str = "Standard"  # Free | Standard | Premium
    kubernetes_version: str | None = None
    outbound_type: str = "userAssignedNATGateway"  # loadBalancer when the subnet is not ours
    private_cluster: bool = False
    enable_node_public_ip: bool = False
    authorized_ip_ranges: tuple[str, ...] = ()
    system_vm_size: str = "Standard_D4s_v5"
    system_min_count: int = 1
    system_max_count: int = 3
    system_zones: tuple[str, ...] = ()
    node_resource_group: str | None = None
    enable_encryption_at_host: bool = False
    log_analytics_workspace_id: pulumi.Input[str] | None = None  # set: the monitoring add-on sends there
    outbound_ip_count: int | None = None  # loadBalancer egress: AKS-managed outbound IPs
    egress_ip: pulumi.Input[str] | None = None  # the NAT gateway's address: authorized with the ranges
    tags: dict[str, str] = field(default_factory=dict)


class AksCluster(pulumi.ComponentResource):
    """Outputs: name, id, fqdn, oidc_issuer_url, kubeconfig (secret), control_plane_principal_id."""

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:AksCluster", name, None, opts)
        if args.tier not in ("Free", "Standard", "Premium"):
            raise ValueError(f"AKS tier {args.tier!r}: use Free, Standard or Premium")
        if args.private_cluster and args.authorized_ip_ranges:
            raise ValueError(
                "AKS authorized IP ranges apply to a public API server only: "
                "drop authorized_networks or private_endpoint"
            )
        child = pulumi.ResourceOptions(parent=self)

        control_plane = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        subnet_role = authorization.RoleAssignment(
            f"{name}-subnet-network-contributor",
            principal_id=control_plane.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_definition_id(args.subscription_id, NETWORK_CONTRIBUTOR),
            scope=args.subnet_id,
            description="AKS control plane manages the node subnet",
            opts=child,
        )
        # ARM cannot tell whether another identity's grant is live yet: wait a bounded time once.
        subnet_ready = RbacPropagationWait(
            f"{name}-subnet-role-propagation",
            trigger=subnet_role.id,
            mode="sleep",
            timeout=SUBNET_ROLE_WAIT,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[subnet_role]),
        )

        system_pool = containerservice.ManagedClusterAgentPoolProfileArgs(
            name=SYSTEM_POOL,
            mode="System",
            type="VirtualMachineScaleSets",
            vm_size=args.system_vm_size,
            os_type="Linux",
            os_sku="Ubuntu",
            os_disk_size_gb=128,
            enable_auto_scaling=True,
            count=args.system_min_count,
            min_count=args.system_min_count,
            max_count=args.system_max_count,
            availability_zones=list(args.system_zones) or None,
            vnet_subnet_id=args.subnet_id,
            enable_node_public_ip=args.enable_node_public_ip,
            enable_encryption_at_host=args.enable_encryption_at_host or None,
            # Only kube-system add-ons (CoreDNS, metrics-server, konnectivity) run on system nodes.
            node_taints=[CRITICAL_ADDONS_TAINT],
            node_labels={POOL_LABEL: SYSTEM_POOL},
            upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
            tags=args.tags,
        )
        access = containerservice.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=args.private_cluster,
            private_dns_zone="system" if args.private_cluster else None,
            authorized_ip_ranges=authorized_ranges(args.authorized_ip_ranges, args.egress_ip),
        )
        lb_profile = None
        if args.outbound_type == "loadBalancer" and args.outbound_ip_count:
            lb_profile = containerservice.ManagedClusterLoadBalancerProfileArgs(
                managed_outbound_ips=containerservice.ManagedClusterLoadBalancerProfileManagedOutboundIPsArgs(
                    count=args.outbound_ip_count
                )
            )
        addons = None
        if args.log_analytics_workspace_id is not None:
            # Container Insights ("omsagent"): node, pod and container logs and metrics, with Entra auth.
            addons = {
                "omsagent": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True,
                    config={"logAnalyticsWorkspaceResourceID": args.log_analytics_workspace_id, "useAADAuth": "true"},
                )
            }
        self.cluster = containerservice.ManagedCluster(
            name,
            resource_name_=name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=name,
            kubernetes_version=args.kubernetes_version,
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier=args.tier),
            support_plan=SUPPORT_PLAN.get(args.tier, "KubernetesOfficial"),
            identity=containerservice.ManagedClusterIdentityArgs(
                type="UserAssigned", user_assigned_identities=control_plane.id.apply(lambda i: {i: {}})
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, tenant_id=args.tenant_id
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                # Old multi-GB serving images fill GPU nodes' disks: AKS removes unused ones weekly.
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=168
                ),
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_dataplane="cilium",
                network_policy="cilium",
                pod_cidr=POD_CIDR,
                service_cidr=SERVICE_CIDR,
                dns_service_ip=DNS_SERVICE_IP,
                load_balancer_sku="standard",
                outbound_type=args.outbound_type,
                load_balancer_profile=lb_profile,
            ),
            api_server_access_profile=access,
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel="patch", node_os_upgrade_channel="NodeImage"
            ),
            node_resource_group=args.node_resource_group,
            # Nobody edits the AKS-managed node resource group by hand (the source of most AKS drift).
            node_resource_group_profile=containerservice.ManagedClusterNodeResourceGroupProfileArgs(
                restriction_level="ReadOnly"
            ),
            agent_pool_profiles=[system_pool],
            addon_profiles=addons,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[subnet_role, subnet_ready],
                # The cluster autoscaler owns the system pool's current size.
                ignore_changes=["agentPoolProfiles[0].count"],
            ),
        )
        # Local accounts are off: the deployer needs a data-plane role to create Kubernetes objects.
        self.admin_role = authorization.RoleAssignment(
            f"{name}-deployer-cluster-admin",
            principal_id=args.deployer_object_id,
            role_definition_id=role_definition_id(args.subscription_id, AKS_RBAC_CLUSTER_ADMIN),
            scope=self.cluster.id,
            description="llmcloud deployer manages Kubernetes objects",
            opts=child,
        )
        window = containerservice.MaintenanceWindowArgs(
            schedule=containerservice.ScheduleArgs(
                weekly=containerservice.WeeklyScheduleArgs(day_of_week=MAINTENANCE_DAY, interval_weeks=1)
            ),
            duration_hours=MAINTENANCE_HOURS,
            start_time=MAINTENANCE_START,
            utc_offset="+00:00",
        )
        self.maintenance = [
            containerservice.MaintenanceConfiguration(
                f"{name}-{config}",
                config_name=config,
                resource_group_name=args.resource_group_name,
                resource_name_=self.cluster.name,
                maintenance_window=window,
                opts=child,
            )
            for config in MAINTENANCE_CONFIGS
        ]

        self.name = self.cluster.name
        self.id = self.cluster.id
        self.fqdn = self.cluster.private_fqdn if args.private_cluster else self.cluster.fqdn
        # Known once the cluster exists (its name is a provider output), unknown in a first preview.
        self.oidc_issuer_url = pulumi.Output.all(self.cluster.name, self.cluster.oidc_issuer_profile).apply(
            lambda a: _issuer_url(a[1])
        )
        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name, resource_name=self.cluster.name, format="exec"
        )
        self.kubeconfig = pulumi.Output.secret(creds.kubeconfigs.apply(lambda ks: decode_kubeconfig(ks[0].value)))
        # The Kubernetes phase starts once the deployer's grant answers (bounded poll, rbac_wait.py).
        self.access_ready = RbacPropagationWait(
            f"{name}-admin-role-propagation",
            trigger=self.admin_role.id,
            mode="kubernetes",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.admin_role]),
        )
        self.control_plane_principal_id = control_plane.principal_id
        self.register_outputs(
            {
                "name": self.name,
                "id": self.id,
                "fqdn": self.fqdn,
                "oidc_issuer_url": self.oidc_issuer_url,
                "kubeconfig": self.kubeconfig,
                "control_plane_principal_id": self.control_plane_principal_id,
            }
        )


def _issuer_url(profile: object) -> str | None:
    """oidcIssuerProfile.issuerUrl, whether the SDK hands back its output type or a plain dict."""
    if isinstance(profile, dict):
        return profile.get("issuer_url") or profile.get("issuerUrl")
    return getattr(profile, "issuer_url", None)


def decode_kubeconfig(value: str, login: str = "azurecli") -> str:
    """The base64 kubeconfig AKS returns, with kubelogin switched to a non-interactive login.

    AKS's exec kubeconfig runs `kubelogin get-token --login devicecode`, which would stop `pulumi up`
    at a browser prompt. `azurecli` reuses the `az login` session (laptop) or the CI's federated
    login (azure/login), so the deploy runs unattended.
    https://azure.github.io/kubelogin/concepts/login-modes.html
    """
    text = base64.b64decode(value).decode("utf-8")
    config = yaml.safe_load(text)
    if not isinstance(config, dict):
        return text
    for user in config.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec") or {}
        args = exec_.get("args")
        if exec_.get("command") != "kubelogin" or not isinstance(args, list):
            continue
        if "--login" in args and args.index("--login") + 1 < len(args):
            args[args.index("--login") + 1] = login
        elif "-l" in args and args.index("-l") + 1 < len(args):
            args[args.index("-l") + 1] = login
        else:
            args.extend(["--login", login])
    return yaml.safe_dump(config, sort_keys=False)
