"""AzureNetwork: a virtual network for a private AKS cluster, with a NAT gateway for egress.

AKS nodes get no public IP. With Azure CNI overlay only nodes take addresses from the subnet (pods
come from a private overlay range), so a /20 holds ~4,000 nodes. Outbound traffic (images, Hugging
Face weights) leaves through a NAT gateway we own instead of the cluster load balancer's SNAT ports,
which run out under many parallel multi-GB downloads.
https://learn.microsoft.com/azure/aks/nat-gateway#create-an-aks-cluster-with-a-user-assigned-nat-gateway

A Standard NAT gateway lives in one zone (StandardV2, the zone-redundant SKU, is not in the network API
2024-05-01 that this azure-native SDK uses), and a subnet takes one NAT gateway. So prod creates none
(`create_nat: false`): the cluster egresses through its Standard Load Balancer, whose AKS-managed outbound
IPs are zone-redundant in zonal locations (cluster.py sets their count). https://learn.microsoft.com/azure/aks/egress
Service endpoints (prod): Microsoft.Storage and Microsoft.KeyVault, so the weights account and the vault
can deny every network but this subnet.
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
    create_nat: bool = True
    service_endpoints: tuple[str, ...] = ()  # e.g. Microsoft.Storage, Microsoft.KeyVault
    tags: dict[str, str] = field(default_factory=dict)


class AzureNetwork(pulumi.ComponentResource):
    """Outputs: vnet_id, subnet_id (the nodes' subnet), nat_gateway_id."""

    def __init__(self, name: str, args: AzureNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:AzureNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        nat = self._nat(name, args, child) if args.create_nat else None
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.vnet_cidr]),
            tags=args.tags,
            # Subnets are their own resources below; an inline list would fight them on every update.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=args.resource_group_name,
            virtual_network_name=vnet.name,
            address_prefix=args.nodes_cidr,
            nat_gateway=network.SubResourceArgs(id=nat.id) if nat else None,
            service_endpoints=[network.ServiceEndpointPropertiesFormatArgs(service=s) for s in args.service_endpoints]
            or None,
            # No implicit internet access: egress only through the NAT gateway (or the cluster's load balancer).
            default_outbound_access=False,
            opts=child,
        )
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.subnet_id = subnet.id
        self.nat_gateway_id = nat.id if nat else pulumi.Output.from_input("")
        self.register_outputs(
            {"vnet_id": self.vnet_id, "subnet_id": self.subnet_id, "nat_gateway_id": self.nat_gateway_id}
        )

    @staticmethod
    def _nat(name: str, args: AzureNetworkArgs, child: pulumi.ResourceOptions) -> network.NatGateway:
        ip = network.PublicIPAddress(
            f"{name}-nat-ip",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            tags=args.tags,
            opts=child,
        )
        nat = network.NatGateway(
            f"{name}-nat",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            idle_timeout_in_minutes=10,
            public_ip_addresses=[network.SubResourceArgs(id=ip.id)],
            tags=args.tags,
            opts=child,
        )
        return nat
