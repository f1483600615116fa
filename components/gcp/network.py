"""GcpNetwork: a VPC-native network for a private GKE cluster, with Cloud NAT for egress.

Private nodes have no public IP, so pulling images and weights from outside Google needs NAT.
https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters#docker_hub
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from .options import child as child_opts

# Cloud NAT ports per VM. Every pod on a node shares the node's NAT ports; with the static default (64)
# a vLLM pod pulling weights over many parallel connections runs out. Dynamic allocation starts each VM
# at MIN and grows to MAX as it needs (powers of two; MAX at most 65536). Checked 2026-12-01:
# https://cloud.google.com/nat/docs/ports-and-addresses#dynamic-port
NAT_MIN_PORTS_PER_VM = 1024
NAT_MAX_PORTS_PER_VM = 65536


@dataclass(frozen=True)
class GcpNetworkArgs:
    region: str
    nodes_cidr: str = "10.0.0.0/20"
    pods_cidr: str = "10.16.0.0/14"  # room for ~1000 nodes at 110 pods each
    services_cidr: str = "10.20.0.0/20"
    depends_on: Sequence[pulumi.Resource] = ()  # the enabled APIs


class GcpNetwork(pulumi.ComponentResource):
    """Outputs: network (self link), subnetwork (self link), pods_range, services_range (names)."""

    PODS_RANGE = "pods"
    SERVICES_RANGE = "services"

    def __init__(self, name: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GcpNetwork", name, None, opts)
        child = child_opts(self, args.depends_on)
        net = gcp.compute.Network(f"{name}-vpc", auto_create_subnetworks=False, routing_mode="REGIONAL", opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            network=net.id,
            region=args.region,
            ip_cidr_range=args.nodes_cidr,
            private_ip_google_access=True,  # reach Google APIs (GCS, Artifact Registry) without NAT
            # VPC flow logs: who talked to whom, for incident response (sampled, to keep the cost small).
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            ),
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=self.PODS_RANGE, ip_cidr_range=args.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.SERVICES_RANGE, ip_cidr_range=args.services_cidr
                ),
            ],
            opts=child,
        )
        router = gcp.compute.Router(f"{name}-router", network=net.id, region=args.region, opts=child)
        gcp.compute.RouterNat(
            f"{name}-nat",
            router=router.name,
            region=args.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            enable_dynamic_port_allocation=True,
            enable_endpoint_independent_mapping=False,
            min_ports_per_vm=NAT_MIN_PORTS_PER_VM,
            max_ports_per_vm=NAT_MAX_PORTS_PER_VM,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        self.network = net.self_link
        self.subnetwork = subnet.self_link
        self.register_outputs({"network": self.network, "subnetwork": self.subnetwork})
