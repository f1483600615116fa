"""AwsNetwork: a VPC for a private EKS cluster: private subnets for nodes, public ones for NAT and
internet-facing load balancers, NAT for egress, and a free S3 gateway endpoint.

- One private and one public subnet per availability zone, placed by AZ ID (`availability_zone_id`: names
  map to different physical zones in each account); EKS needs subnets in two AZs or more, llmcloud uses
  at most three (components/aws/zones.py).
- NAT: one gateway per AZ when `nat_per_az` (prod: an AZ outage never cuts the other AZs' egress),
  else a single gateway (dev: $33/month instead of $33 × AZs, at the price of one AZ dependency).
  https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html
- Subnet role tags let the AWS Load Balancer Controller / in-tree controller find them:
  https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html
- The VPC's default security group loses its rules (nothing uses it; a resource put in it by mistake
  gets no traffic), and prod records every flow in the audit-log bucket (VPC flow logs).
- The S3 gateway endpoint keeps multi-GB weight downloads off the NAT ($0.045/GB processed) and off
  the internet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

PRIVATE_ELB_TAG = "kubernetes.io/role/internal-elb"
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
MAX_AZS = 3  # components/aws/zones.py; up to six /19 private and six /24 public subnets would fit the /16


@dataclass(frozen=True)
class AwsNetworkArgs:
    region: str
    azs: tuple[str, ...]  # availability zone IDs (use1-az1), two or three (plain values: they decide structure)
    nat_per_az: bool = False
    cidr: str = "10.0.0.0/16"
    flow_log_bucket_arn: pulumi.Input[str] | None = None  # None: no flow logs (prod sets it: components/aws/logs.py)
    tags: dict[str, str] = field(default_factory=dict)


def subnet_cidrs(cidr: str, count: int) -> tuple[list[str], list[str]]:
    """(private, public) CIDRs: /19s from the bottom of the VPC (8k IPs each: the VPC CNI gives every
    pod a VPC address), /24s from its top quarter."""
    net = ipaddress.ip_network(cidr)
    private = [str(s) for s in list(net.subnets(new_prefix=19))[:count]]
    top = list(net.subnets(new_prefix=18))[-1]
    public = [str(s) for s in list(top.subnets(new_prefix=24))[:count]]
    return private, public


class AwsNetwork(pulumi.ComponentResource):
    """Outputs: vpc_id, private_subnet_ids (list), public_subnet_ids (list).
    `private_subnets` maps each AZ ID to its private subnet id (node groups pick theirs)."""

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:aws:AwsNetwork", name, None, opts)
        if not 2 <= len(args.azs) <= MAX_AZS:
            raise ValueError(f"AwsNetwork needs 2 to {MAX_AZS} availability zones, got {list(args.azs)}")
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags

        def tagged(role: str, **extra: str) -> dict[str, str]:
            return {**tags, "Name": f"{name}-{role}", **extra}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tagged("vpc"),
            opts=child,
        )
        # Adopting the default security group with no ingress or egress blocks removes all its rules.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags=tagged("default-unused"), opts=child)
        if args.flow_log_bucket_arn is not None:
            from .logs import PREFIXES

            aws.ec2.FlowLog(
                f"{name}-flow-logs",
                vpc_id=vpc.id,
                traffic_type="ALL",
                log_destination_type="s3",
                log_destination=pulumi.Output.from_input(args.flow_log_bucket_arn).apply(
                    lambda arn: f"{arn}/{PREFIXES['flow']}/"
                ),
                max_aggregation_interval=600,
                tags=tagged("flow-logs"),
                opts=child,
            )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tagged("igw"), opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=tagged("public"), opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        private_cidrs, public_cidrs = subnet_cidrs(args.cidr, len(args.azs))
        self.private_subnets: dict[str, pulumi.Output[str]] = {}
        public_ids: list[pulumi.Output[str]] = []
        private_tables: list[pulumi.Output[str]] = []
        nats: list[aws.ec2.NatGateway] = []
        for i, az in enumerate(args.azs):
            short = az.rsplit("-", 1)[-1]  # "az1", "az2", ...: short, stable resource names
            public = aws.ec2.Subnet(
                f"{name}-public-{short}",
                vpc_id=vpc.id,
                availability_zone_id=az,
                cidr_block=public_cidrs[i],
                map_public_ip_on_launch=False,  # only NAT gateways and load balancers live here
                tags=tagged(f"public-{short}", **{PUBLIC_ELB_TAG: "1"}),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{short}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            public_ids.append(public.id)
            if args.nat_per_az or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{short}", domain="vpc", tags=tagged(f"nat-{short}"), opts=child)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{short}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        connectivity_type="public",
                        tags=tagged(f"nat-{short}"),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )

            private = aws.ec2.Subnet(
                f"{name}-private-{short}",
                vpc_id=vpc.id,
                availability_zone_id=az,
                cidr_block=private_cidrs[i],
                map_public_ip_on_launch=False,
                tags=tagged(f"private-{short}", **{PRIVATE_ELB_TAG: "1"}),
                opts=child,
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-{short}", vpc_id=vpc.id, tags=tagged(f"private-{short}"), opts=child
            )
            aws.ec2.Route(
                f"{name}-private-{short}-default",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[-1].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{short}", subnet_id=private.id, route_table_id=rt.id, opts=child
            )
            self.private_subnets[az] = private.id
            private_tables.append(rt.id)

        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=private_tables,
            tags=tagged("s3"),
            opts=child,
        )

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*self.private_subnets.values())
        self.public_subnet_ids = pulumi.Output.all(*public_ids)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
            }
        )
