"""build_platform(resolved) for Azure: resource group, network, AKS, GPU agent pools, weights
storage, workload identity."""

from __future__ import annotations

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.resources as resources
from pulumi_azure_native.provider import Provider

from .. import catalog
from ..platform import Platform
from ..resolve import ResolvedStack
from .agent_pool import AksGpuAgentPool, AksGpuAgentPoolArgs
from .cluster import AksCluster, AksClusterArgs
from .identity import USE_LABEL, AksWorkloadIdentity, AksWorkloadIdentityArgs
from .network import AzureNetwork, AzureNetworkArgs
from .storage import BlobWeightsStorage, BlobWeightsStorageArgs


def build_platform(r: ResolvedStack) -> Platform:
    assert r.resource_group is not None
    # Provider settings come from the stack file: nobody runs `pulumi config set`. Credentials come
    # from the environment (az login, or OIDC in CI): never from the stack.
    provider = Provider("azure-native", location=r.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    name = f"llm-{r.environment}"
    tags = dict(r.labels)  # azure-native has no default tags: every taggable resource gets them explicitly
    options = r.cloud_options
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=provider))

    # With protected data the resource group must outlive `destroy` too: deleting a resource group
    # deletes everything in it, the retained storage account included.
    group = resources.ResourceGroup(
        f"{name}-rg", resource_group_name=r.resource_group, location=r.region, tags=tags,
        opts=pulumi.ResourceOptions(providers=[provider], protect=r.protect_data,
                                    retain_on_delete=r.protect_data))
    rg_name = group.name

    subnet_id = options.get("subnet_id")
    vnet_name = None
    if subnet_id:
        # The subnet is someone else's: egress is their NAT/UDR or the cluster's load balancer.
        outbound = "loadBalancer"
    else:
        network = AzureNetwork(f"{name}-net", AzureNetworkArgs(
            resource_group_name=rg_name, location=r.region, tags=tags), opts)
        subnet_id = network.subnet_id
        outbound = "userAssignedNATGateway"
        vnet_name = network.vnet_name

    region_zones = sorted(catalog.load("azure").regions.get(r.region, {}))
    system_zones = tuple(options.get("zones") or region_zones)
    cluster = AksCluster(name, AksClusterArgs(
        resource_group_name=rg_name, location=r.region, subnet_id=subnet_id, tenant_id=client.tenant_id,
        subscription_id=client.subscription_id, deployer_object_id=client.object_id,
        tier=str(options.get("tier") or "Standard"), kubernetes_version=r.kubernetes_version,
        outbound_type=outbound, private_cluster=r.private_endpoint, enable_node_public_ip=not r.private_nodes,
        authorized_ip_ranges=r.authorized_networks, system_vm_size=r.system_machine_type,
        system_min_count=2 if r.environment == "prod" else 1, system_zones=system_zones,
        node_resource_group=f"{r.resource_group}-{name}-nodes"[:80], tags=tags), opts)

    pools = [AksGpuAgentPool(f"{name}-{pool.name}", AksGpuAgentPoolArgs(
        resource_group_name=rg_name, cluster_name=cluster.name, pool=pool, subnet_id=subnet_id,
        kubernetes_version=r.kubernetes_version, enable_node_public_ip=not r.private_nodes, tags=tags), opts)
        for pool in r.node_pools.values()]

    sku = "Standard_ZRS" if r.environment == "prod" else "Standard_LRS"
    stores = {b.name: BlobWeightsStorage(f"{name}-{b.name}", BlobWeightsStorageArgs(
        bucket=b, resource_group_name=rg_name, location=r.region, sku=sku, tags=tags), opts)
        for b in r.buckets.values()}

    identity = AksWorkloadIdentity(f"{name}-serving", AksWorkloadIdentityArgs(
        resource_group_name=rg_name, location=r.region, oidc_issuer_url=cluster.oidc_issuer_url,
        subscription_id=client.subscription_id, namespace=r.namespace, service_account=r.service_account,
        storage_account_ids=tuple(s.account_id for s in stores.values()), tags=tags), opts)

    return Platform(
        cluster_name=cluster.name,
        kubeconfig=cluster.kubeconfig,
        bucket_urls={k: s.url for k, s in stores.items()},
        service_account_annotations=identity.annotations,
        pod_labels={USE_LABEL: "true"},
        depends_on=[*pools, identity, cluster.admin_role],
        front_door={"provider": provider, "resource_group_name": rg_name, "tenant_id": client.tenant_id,
                    "subscription_id": client.subscription_id, "oidc_issuer_url": cluster.oidc_issuer_url,
                    "deployer_object_id": client.object_id, "tags": tags, "vnet_name": vnet_name},
        outputs={"cluster_fqdn": cluster.fqdn, "oidc_issuer_url": cluster.oidc_issuer_url,
                 "resource_group": rg_name, "serving_client_id": identity.client_id,
                 # The loader reads az://<container>/<path> from the account in AZURE_STORAGE_ACCOUNT_NAME.
                 "storage_accounts": {k: s.account_name for k, s in stores.items()}},
    )
