"""AzureNetwork: a virtual network for a private AKS cluster, with a NAT gateway for egress.

AKS nodes get no public IP. With Azure CNI overlay only nodes take addresses from the subnet (pods
come from a private overlay range), so a /20 holds ~4,000 nodes. Outbound traffic (images, Hugging
Face weights) leaves through a NAT gateway we own instead of the cluster load balancer's SNAT ports,
which run out under many parallel multi-GB downloads.
https://learn.microsoft.com/azure/aks/nat-gateway#create-an-aks-cluster-with-a-user-assigned-nat-gateway

A Standard NAT gateway lives in one zone; a subnet takes one NAT gateway. Prod (`nat_sku: StandardV2`) uses
the zone-redundant StandardV2 SKU instead, with a StandardV2 public IP (it refuses Standard ones). The pinned
azure-native SDK's network module speaks API 2024-05-01, whose NatGatewaySkuName has only Standard, so prod
declares both through the generic ARM resource (resources.Resource) at API 2025-05-01, a stable network API
whose NAT gateway and public IP specs both list StandardV2 (2024-07-01's NAT gateway lists Standard only,
2025-01-01's lists StandardV2). Facts, read 2026-12-01:
- https://learn.microsoft.com/azure/nat-gateway/nat-sku: StandardV2 is zone redundant by default, costs what
  Standard costs, needs StandardV2 public IPs, cannot be upgraded from Standard, and is not offered in the
  locations of the catalog's services.nat_gateway_v2_unsupported (checks.py refuses prod there);
- https://learn.microsoft.com/azure/aks/nat-gateway: userAssignedNATGateway takes Standard and StandardV2;
- azure-rest-api-specs, specification/network/resource-manager/Microsoft.Network/stable/2025-05-01/
  natGateway.json and publicIpAddress.json.
Service endpoints (prod): Microsoft.Storage and Microsoft.KeyVault, so the weights account and the vault
can deny every network but this subnet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.network as network
import pulumi_azure_native.resources as resources

NAT_V2_API = "2025-05-01"  # Microsoft.Network API of the StandardV2 NAT gateway and public IP (generic resource)


@dataclass(frozen=True)
class AzureNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_cidr: str = "10.0.0.0/16"
    nodes_cidr: str = "10.0.0.0/20"
    create_nat: bool = True
    nat_sku: str = "Standard"  # Standard (zonal, network.NatGateway) | StandardV2 (zone-redundant, generic resource)
    service_endpoints: tuple[str, ...] = ()  # e.g. Microsoft.Storage, Microsoft.KeyVault
    tags: dict[str, str] = field(default_factory=dict)


class AzureNetwork(pulumi.ComponentResource):
    """Outputs: vnet_id, subnet_id (the nodes' subnet), nat_gateway_id, nat_ip_address (the egress address,
    "" without a NAT gateway: the API server's authorized ranges must list it)."""

    def __init__(self, name: str, args: AzureNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:AzureNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.nat_sku not in ("Standard", "StandardV2"):
            raise ValueError(f"NAT gateway SKU {args.nat_sku!r}: use Standard or StandardV2")
        nat: pulumi.CustomResource | None = None
        nat_ip: pulumi.Output[str] = pulumi.Output.from_input("")
        if args.create_nat:
            nat, nat_ip = (self._nat_v2 if args.nat_sku == "StandardV2" else self._nat)(name, args, child)
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
        self.nat_ip_address = nat_ip
        self.register_outputs(
            {
                "vnet_id": self.vnet_id,
                "subnet_id": self.subnet_id,
                "nat_gateway_id": self.nat_gateway_id,
                "nat_ip_address": self.nat_ip_address,
            }
        )

    @staticmethod
    def _nat(
        name: str, args: AzureNetworkArgs, child: pulumi.ResourceOptions
    ) -> tuple[network.NatGateway, pulumi.Output[str]]:
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
        return nat, ip.ip_address.apply(lambda a: a or "")

    @staticmethod
    def _nat_v2(
        name: str, args: AzureNetworkArgs, child: pulumi.ResourceOptions
    ) -> tuple[resources.Resource, pulumi.Output[str]]:
        """A zone-redundant StandardV2 NAT gateway and its StandardV2 public IP, as generic ARM resources.
        Neither takes `zones`: both SKUs are zone-redundant by default (nat-availability-zones)."""
        ip = resources.Resource(
            f"{name}-nat-ip",
            api_version=NAT_V2_API,
            resource_provider_namespace="Microsoft.Network",
            parent_resource_path="",  # a top-level resource of the group
            resource_type="publicIPAddresses",
            resource_name_=f"{name}-nat-ip",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=resources.SkuArgs(name="StandardV2", tier="Regional"),
            properties={"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"},
            tags=args.tags,
            opts=child,
        )
        nat = resources.Resource(
            f"{name}-nat",
            api_version=NAT_V2_API,
            resource_provider_namespace="Microsoft.Network",
            parent_resource_path="",
            resource_type="natGateways",
            resource_name_=f"{name}-nat",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=resources.SkuArgs(name="StandardV2"),
            properties={"idleTimeoutInMinutes": 10, "publicIpAddresses": [{"id": ip.id}]},
            tags=args.tags,
            opts=child,
        )
        # ARM assigns the address on create; azure_api_version (output only) keeps it unknown in a preview,
        # where `properties` echoes the inputs, which have no address.
        address = pulumi.Output.all(ip.azure_api_version, ip.properties).apply(
            lambda a: str((a[1] or {}).get("ipAddress") or "")
        )
        return nat, address
