"""AzureNetwork: a virtual network for a private AKS cluster, with a NAT gateway for egress.

AKS nodes get no public IP. With Azure CNI overlay only nodes take addresses from the subnet (pods
come from a private overlay range), so a /20 holds ~4,000 nodes. Outbound traffic (images, Hugging
Face weights) leaves through a NAT gateway we own instead of the cluster load balancer's SNAT ports,
which run out under many parallel multi-GB downloads.
https://learn.microsoft.com/azure/aks/nat-gateway#create-an-aks-cluster-with-a-user-assigned-nat-gateway
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.network as network


@dataclass(frozen=True)
class AzureNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_cidr: str = "10.0.0.0/16"
    nodes_cidr: str = "10.0.0.0/20"
    tags: dict[str, str] = field(default_factory=dict)


class AzureNetwork(pulumi.ComponentResource):
    """Outputs: vnet_id, subnet_id (the nodes' subnet), nat_gateway_id."""

    def __init__(self, name: str, args: AzureNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:AzureNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ip = network.PublicIPAddress(
            f"{name}-nat-ip", resource_group_name=args.resource_group_name, location=args.location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static", public_ip_address_version="IPv4", tags=args.tags,
            opts=child)
        nat = network.NatGateway(
            f"{name}-nat", resource_group_name=args.resource_group_name, location=args.location,
            sku=network.NatGatewaySkuArgs(name="Standard"), idle_timeout_in_minutes=10,
            public_ip_addresses=[network.SubResourceArgs(id=ip.id)], tags=args.tags, opts=child)
        vnet = network.VirtualNetwork(
            f"{name}-vnet", resource_group_name=args.resource_group_name, location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.vnet_cidr]), tags=args.tags,
            # Subnets are their own resources below; an inline list would fight them on every update.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]))
        subnet = network.Subnet(
            f"{name}-nodes", resource_group_name=args.resource_group_name, virtual_network_name=vnet.name,
            address_prefix=args.nodes_cidr,
            nat_gateway=network.SubResourceArgs(id=nat.id),
            # No implicit internet access: egress only through the NAT gateway above.
            default_outbound_access=False,
            opts=child)
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.subnet_id = subnet.id
        self.nat_gateway_id = nat.id
        self.register_outputs({"vnet_id": self.vnet_id, "subnet_id": self.subnet_id,
                               "nat_gateway_id": self.nat_gateway_id})
