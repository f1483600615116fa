"""build_platform(resolved) for Azure: resource group, network, AKS, GPU agent pools, the add-on CPU
pool, weights storage, workload identity; in prod a Log Analytics workspace for the monitoring add-on and
the diagnostic settings.

Prod (environment prod) turns on what azure-native's resources are not scanned for by checkov (tests assert
it on the plan instead): host encryption on every pool, storage and Key Vault firewalls (Deny, cluster subnet
and the operators' public CIDRs allowed), blob and vault audit logs, Container Insights, zone-redundant egress
(a StandardV2 NAT gateway).
"""

from __future__ import annotations

import dataclasses
import ipaddress

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.operationalinsights as operationalinsights
import pulumi_azure_native.resources as resources
from pulumi_azure_native.provider import Provider

from .. import catalog
from ..platform import Platform
from ..resolve import ResolvedNodePool, ResolvedStack
from . import AzureFrontDoorInputs, azure_options
from .agent_pool import AksGpuAgentPool, AksGpuAgentPoolArgs, agent_pool_name
from .checks import ADDON_POOL, ADDON_VM_SIZE
from .cluster import OUTBOUND_IPS, AksCluster, AksClusterArgs
from .identity import USE_LABEL, AksWorkloadIdentity, AksWorkloadIdentityArgs
from .network import AzureNetwork, AzureNetworkArgs
from .nvme import container_storage_extension, storage_class
from .storage import BlobWeightsStorage, BlobWeightsStorageArgs
from .zones import pool_zones

LOG_RETENTION_DAYS = 30
SERVICE_ENDPOINTS = ("Microsoft.Storage", "Microsoft.KeyVault")


def addon_pool(r: ResolvedStack) -> ResolvedNodePool:
    """The untainted CPU pool for Envoy, KEDA, cert-manager and monitoring (sizing: checks.ADDON_REQUESTS)."""
    machine = catalog.load("azure").cpu_machine(ADDON_VM_SIZE)
    assert machine is not None
    prod = r.environment == "prod"
    return ResolvedNodePool(
        name=ADDON_POOL,
        accelerator="none",
        accelerator_id=None,
        kind="cpu",
        k8s_resource=None,
        accelerators_per_node=0,
        accelerator_memory_gib=0.0,
        machine_type=ADDON_VM_SIZE,
        vcpus=machine.vcpus,
        memory_gib=machine.memory_gib,
        # Two nodes in prod: Envoy's two replicas spread over zones and survive a node's upgrade.
        min_nodes=2 if prod else 1,
        max_nodes=3,
        spot=False,
        disk_gb=128,
        zones=(),
    )


RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def public_ranges(cidrs: tuple[str, ...]) -> tuple[str, ...]:
    """The IPv4 ranges of `cidrs` outside RFC 1918: storage and Key Vault IP rules refuse private ranges
    (those networks reach the account through the VNet instead)."""
    out = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version == 4 and not any(net.subnet_of(private) for private in RFC1918):
            out.append(str(net))
    return tuple(out)


def build_platform(r: ResolvedStack) -> Platform:
    assert r.resource_group is not None
    # Provider settings come from the stack file: nobody runs `pulumi config set`. Credentials come
    # from the environment (az login, or OIDC in CI): never from the stack.
    provider = Provider("azure-native", location=r.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    name = f"llm-{r.environment}"
    tags = dict(r.labels)  # azure-native has no default tags: every taggable resource gets them explicitly
    block = azure_options(r)  # the stack's azure: block
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=provider))

    # With protected data the resource group must outlive `destroy` too: deleting a resource group
    # deletes everything in it, the retained storage account included.
    group = resources.ResourceGroup(
        f"{name}-rg",
        resource_group_name=r.resource_group,
        location=r.region,
        tags=tags,
        opts=pulumi.ResourceOptions(providers=[provider], protect=r.protect_data, retain_on_delete=r.protect_data),
    )
    rg_name = group.name

    prod = r.environment == "prod"
    workspace_id = None
    if prod:
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=rg_name,
            location=r.region,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=LOG_RETENTION_DAYS,
            tags=tags,
            opts=opts,
        )
        workspace_id = workspace.id

    subnet_id = block.subnet_id
    vnet_name = None
    egress_ip: pulumi.Input[str] | None = None
    if subnet_id:
        # The subnet is someone else's: egress is their NAT/UDR or the cluster's load balancer; in prod it needs
        # the Microsoft.Storage and Microsoft.KeyVault service endpoints for the firewalls below (README).
        outbound = "loadBalancer"
    else:
        network = AzureNetwork(
            f"{name}-net",
            AzureNetworkArgs(
                resource_group_name=rg_name,
                location=r.region,
                # prod: the zone-redundant StandardV2 NAT gateway; elsewhere the (zonal, same-priced) Standard one.
                nat_sku="StandardV2" if prod else "Standard",
                service_endpoints=SERVICE_ENDPOINTS if prod else (),
                tags=tags,
            ),
            opts,
        )
        subnet_id = network.subnet_id
        outbound = "userAssignedNATGateway"
        vnet_name = network.vnet_name
        # Nodes reach a public API server from the NAT gateway's address: AKS adds only its own load-balancer
        # outbound IPs to the authorized ranges, so the NAT's must be listed (api-server-authorized-ip-ranges).
        egress_ip = network.nat_ip_address

    wanted_zones = block.zones or None
    cluster = AksCluster(
        name,
        AksClusterArgs(
            resource_group_name=rg_name,
            location=r.region,
            subnet_id=subnet_id,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            deployer_object_id=client.object_id,
            tier=block.tier,
            kubernetes_version=r.kubernetes_version,
            outbound_type=outbound,
            private_cluster=r.private_endpoint,
            enable_node_public_ip=not r.private_nodes,
            authorized_ip_ranges=r.authorized_networks,
            system_vm_size=r.system_machine_type,
            system_min_count=2 if prod else 1,
            system_zones=pool_zones(r.region, r.system_machine_type, wanted_zones),
            node_resource_group=f"{r.resource_group}-{name}-nodes"[:80],
            enable_encryption_at_host=prod,
            log_analytics_workspace_id=workspace_id,
            outbound_ip_count=OUTBOUND_IPS if prod and outbound == "loadBalancer" else None,
            egress_ip=egress_ip,
            tags=tags,
        ),
        opts,
    )

    def agent_pool(pool: ResolvedNodePool, zones: tuple[str, ...]) -> AksGpuAgentPool:
        return AksGpuAgentPool(
            f"{name}-{pool.name}",
            AksGpuAgentPoolArgs(
                resource_group_name=rg_name,
                cluster_name=cluster.name,
                pool=pool,
                subnet_id=subnet_id,
                kubernetes_version=r.kubernetes_version,
                enable_node_public_ip=not r.private_nodes,
                enable_encryption_at_host=prod,
                zones=zones,
                tags=tags,
            ),
            opts,
        )

    pools = [agent_pool(pool, pool_zones(r.region, pool.machine_type, wanted_zones)) for pool in r.node_pools.values()]
    addons = addon_pool(r)
    addons = dataclasses.replace(addons, zones=pool_zones(r.region, addons.machine_type, wanted_zones))
    pools.append(agent_pool(addons, addons.zones))

    # Pools on VM sizes with local NVMe data disks: Azure Container Storage carves the weights volumes from them.
    nvme_pools = [agent_pool_name(p.name) for p in r.node_pools.values() if p.local_volume_gib]
    storage_extras: list[pulumi.Resource] = []
    if nvme_pools:
        storage_extras.append(
            container_storage_extension(
                f"{name}-container-storage",
                rg_name,
                cluster.name,
                pulumi.ResourceOptions(providers=[provider], depends_on=pools),
            )
        )

    operators = public_ranges(r.authorized_networks)
    sku = "Standard_ZRS" if prod else "Standard_LRS"
    stores = {
        b.name: BlobWeightsStorage(
            f"{name}-{b.name}",
            BlobWeightsStorageArgs(
                bucket=b,
                resource_group_name=rg_name,
                location=r.region,
                sku=sku,
                subscription_id=client.subscription_id,
                uploader_object_id=client.object_id,
                deny_public_network=prod,
                allowed_subnet_ids=(subnet_id,),
                allowed_ip_ranges=operators,
                log_analytics_workspace_id=workspace_id,
                tags=tags,
            ),
            opts,
        )
        for b in r.buckets.values()
    }

    identity = AksWorkloadIdentity(
        f"{name}-serving",
        AksWorkloadIdentityArgs(
            resource_group_name=rg_name,
            location=r.region,
            oidc_issuer_url=cluster.oidc_issuer_url,
            subscription_id=client.subscription_id,
            namespace=r.namespace,
            service_account=r.service_account,
            storage_account_ids=tuple(s.account_id for s in stores.values()),
            tags=tags,
        ),
        opts,
    )

    return Platform(
        cluster_name=cluster.name,
        kubeconfig=cluster.kubeconfig,
        bucket_urls={k: s.url for k, s in stores.items()},
        service_account_annotations=identity.annotations,
        pod_labels={USE_LABEL: "true"},
        # The Kubernetes phase waits for the pools (the add-on pool: Envoy, KEDA, cert-manager schedule) and
        # for the deployer's cluster-admin grant to be live (a bounded poll, rbac_wait.py).
        depends_on=[*pools, *storage_extras, identity, cluster.admin_role, cluster.access_ready],
        storage_classes=[storage_class(nvme_pools)] if nvme_pools else [],
        front_door=AzureFrontDoorInputs(
            provider=provider,
            resource_group_name=rg_name,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            oidc_issuer_url=cluster.oidc_issuer_url,
            deployer_object_id=client.object_id,
            tags=tags,
            prod=prod,
            vnet_name=vnet_name,
            allowed_subnet_ids=(subnet_id,),
            allowed_ip_ranges=operators,
            log_analytics_workspace_id=workspace_id,
        ),
        outputs={
            "cluster_fqdn": cluster.fqdn,
            "oidc_issuer_url": cluster.oidc_issuer_url,
            "resource_group": rg_name,
            "serving_client_id": identity.client_id,
            # The loader reads az://<container>/<path> from the account in AZURE_STORAGE_ACCOUNT_NAME.
            "storage_accounts": {k: s.account_name for k, s in stores.items()},
        },
    )
