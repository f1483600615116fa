"""GcpNetwork: a VPC-native network for a private GKE cluster, with Cloud NAT for egress.

Private nodes have no public IP, so pulling images and weights from outside Google needs NAT.
https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters#docker_hub
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class GcpNetworkArgs:
    region: str
    nodes_cidr: str = "10.0.0.0/20"
    pods_cidr: str = "10.16.0.0/14"  # room for ~1000 nodes at 110 pods each
    services_cidr: str = "10.20.0.0/20"


class GcpNetwork(pulumi.ComponentResource):
    """Outputs: network (self link), subnetwork (self link), pods_range, services_range (names)."""

    PODS_RANGE = "pods"
    SERVICES_RANGE = "services"

    def __init__(self, name: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GcpNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        net = gcp.compute.Network(f"{name}-vpc", auto_create_subnetworks=False,
                                  routing_mode="REGIONAL", opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes", network=net.id, region=args.region, ip_cidr_range=args.nodes_cidr,
            private_ip_google_access=True,  # reach Google APIs (GCS, Artifact Registry) without NAT
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=self.PODS_RANGE, ip_cidr_range=args.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=self.SERVICES_RANGE,
                                                           ip_cidr_range=args.services_cidr),
            ],
            opts=child)
        router = gcp.compute.Router(f"{name}-router", network=net.id, region=args.region, opts=child)
        gcp.compute.RouterNat(
            f"{name}-nat", router=router.name, region=args.region, nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"), opts=child)
        self.network = net.self_link
        self.subnetwork = subnet.self_link
        self.register_outputs({"network": self.network, "subnetwork": self.subnetwork})
