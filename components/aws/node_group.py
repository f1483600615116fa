"""EksAcceleratorNodeGroup: one GPU, Neuron or CPU managed node group of an EKS cluster.

- AMI: the EKS-optimized AL2023 NVIDIA (driver + container toolkit) or Neuron (driver) image; the
  device plugins that advertise nvidia.com/gpu and aws.amazon.com/neuron run as DaemonSets.
  https://docs.aws.amazon.com/eks/latest/userguide/ml-eks-optimized-ami.html
- Taints keep everything but accelerator workloads off expensive nodes; labels name the pool (the
  model servers select it and the cost engine finds it by llmcloud.dev/pool).
- Subnets only in the AZs that offer the instance type (ResolvedNodePool.zones): a group spanning
  an AZ without capacity makes every launch there fail.
- The code owns min and max; Cluster Autoscaler owns the current size (ignore_changes on
  scalingConfig.desiredSize). The ASG node-template tags tell it the labels, taints and devices of
  a node before any exists, so a group can scale up from zero.
  https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md
- A launch template gives every node an encrypted gp3 root volume, IMDSv2 with a hop limit of 1
  (pods cannot borrow the node role; they get their own through Pod Identity) and the stack's tags
  on instances and volumes (managed node groups do not tag them otherwise).
- Local NVMe: where the instance type has instance-store disks (catalog `local_ssd_gib`), nodeadm puts
  them in a RAID0 array for containerd and the kubelet (`localStorage: RAID0`), and the root volume only
  holds the OS image (ROOT_GB_WITH_LOCAL_NVME); `disk_gb` sizes the root volume of types without them.
  https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/ (LocalStorageOptions)
- Spot: the group lists up to SPOT_TYPES interchangeable instance types (same accelerator and count, no
  fewer vCPUs or GiB), so EC2 can find Spot capacity in more pools.
- Capacity Blocks (p5e.48xlarge, ...): capacity_type CAPACITY_BLOCK and a launch template with market
  type capacity-block and the reservation as its target; other reservations (On-Demand Capacity
  Reservations) are targeted the same way with capacity_type ON_DEMAND.
  https://docs.aws.amazon.com/eks/latest/userguide/capacity-blocks-mng.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .. import catalog
from ..labels import POOL_LABEL
from ..resolve import ResolvedNodePool
from .checks import capacity_block_only

ACCELERATOR_LABEL = "llmcloud.dev/accelerator"
# Exact EKS AMI type names (AL2 GPU AMIs are end-of-life: never AL2_x86_64_GPU).
AMI_TYPES = {"gpu": "AL2023_x86_64_NVIDIA", "neuron": "AL2023_x86_64_NEURON", "cpu": "AL2023_x86_64_STANDARD"}
CA_TAG = "k8s.io/cluster-autoscaler"
# Cluster Autoscaler writes taint effects the Kubernetes way.
_K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def node_labels(pool: ResolvedNodePool) -> dict[str, str]:
    labels = {POOL_LABEL: pool.name, ACCELERATOR_LABEL: pool.accelerator}
    if pool.kind == "gpu":
        labels["nvidia.com/gpu.present"] = "true"  # the NVIDIA device plugin chart's node affinity matches it
    elif pool.kind == "neuron":
        labels["aws.amazon.com/neuron.present"] = "true"
    return labels


def taints(pool: ResolvedNodePool) -> list[tuple[str, str, str]]:
    # The accelerator's taint from its catalog row, in the EKS API's spelling.
    return [(pool.taint.key, pool.taint.value, pool.taint.provider_effect)] if pool.taint else []


def autoscaler_tags(cluster_name: str, pool: ResolvedNodePool) -> dict[str, str]:
    """ASG tags for Cluster Autoscaler auto-discovery and scale-from-zero node templates."""
    tags = {f"{CA_TAG}/enabled": "true", f"{CA_TAG}/{cluster_name}": "owned"}
    for key, value in node_labels(pool).items():
        tags[f"{CA_TAG}/node-template/label/{key}"] = value
    for key, value, effect in taints(pool):
        tags[f"{CA_TAG}/node-template/taint/{key}"] = f"{value}:{_K8S_EFFECT[effect]}"
    if pool.k8s_resource:
        tags[f"{CA_TAG}/node-template/resources/{pool.k8s_resource}"] = str(pool.accelerators_per_node)
    return tags


SPOT_TYPES = 4
ROOT_GB_WITH_LOCAL_NVME = 50  # the AL2023 accelerated AMIs' root file system, with room for logs and updates
MIME_BOUNDARY = "LLMCLOUD"


def local_nvme_gib(instance_type: str) -> int:
    machine = next((m for m in catalog.load("aws").machines if m.machine_type == instance_type), None)
    machine = machine or catalog.load("aws").cpu_machine(instance_type)
    return machine.local_ssd_gib if machine else 0


def instance_types(pool: ResolvedNodePool, region: str) -> list[str]:
    """The node group's instance types: the resolved one, and for Spot its interchangeable siblings that are
    sold as Spot in the region (cheapest first), all with or all without local NVMe."""
    if not pool.spot or pool.accelerator == "none":
        return [pool.machine_type]
    cat = catalog.load("aws")
    nvme = local_nvme_gib(pool.machine_type) > 0
    siblings = []
    for m in cat.machines_for(pool.accelerator, pool.accelerators_per_node):
        price = cat.machine_price(region, m)
        if (
            m.machine_type == pool.machine_type
            or not m.serving
            or not m.spot
            or price is None
            or price.spot is None
            or m.vcpus < pool.vcpus
            or m.memory_gib < pool.memory_gib
            or (m.local_ssd_gib > 0) != nvme
            or capacity_block_only(m.machine_type, region)
        ):
            continue
        siblings.append((price.spot, m.machine_type))
    return [pool.machine_type, *[t for _, t in sorted(siblings)][: SPOT_TYPES - 1]]


def local_storage_user_data() -> str:
    """MIME multi-part user data with one nodeadm NodeConfig: instance-store disks as RAID0 for containerd
    and the kubelet. EKS adds the cluster part and merges both (AL2023, no custom AMI)."""
    import base64

    config = (
        "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n"
        "  instance:\n    localStorage:\n      strategy: RAID0\n"
    )
    text = (
        f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n'
        f"--{MIME_BOUNDARY}\nContent-Type: application/node.eks.aws\n\n{config}\n--{MIME_BOUNDARY}--\n"
    )
    return base64.b64encode(text.encode()).decode()


def _tag_slug(key: str, cluster_name: str) -> str:
    """A stable resource-name part per tag key (adding a label never renames another tag)."""
    rest = key.removeprefix(f"{CA_TAG}/")
    return "cluster" if rest == cluster_name else re.sub(r"[^A-Za-z0-9.-]+", "-", rest)


def launch_template(
    name: str,
    *,
    disk_gb: int,
    tags: dict[str, str],
    parent: pulumi.Resource,
    throughput_mbps: int = 125,
    local_nvme: bool = False,
    capacity_reservation: str | None = None,
    capacity_block: bool = False,
) -> aws.ec2.LaunchTemplate:
    """The node launch template: root volume, instance metadata options, tags on what gets launched;
    local NVMe as RAID0 for containerd and the kubelet; the capacity reservation to launch into."""
    launched = {**tags, "Name": name}
    reservation = None
    if capacity_reservation:
        target = (
            aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                capacity_reservation_id=capacity_reservation
            )
            if capacity_reservation.startswith("cr-")
            else aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                capacity_reservation_resource_group_arn=capacity_reservation
            )
        )
        reservation = aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(capacity_reservation_target=target)
    return aws.ec2.LaunchTemplate(
        name,
        description=f"EKS nodes of {name}",
        update_default_version=True,
        user_data=local_storage_user_data() if local_nvme else None,
        capacity_reservation_specification=reservation,
        instance_market_options=aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block")
        if capacity_block
        else None,
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",  # the AL2023 root device
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=ROOT_GB_WITH_LOCAL_NVME if local_nvme else disk_gb,
                    volume_type="gp3",
                    iops=3000,
                    throughput=throughput_mbps,
                    encrypted="true",
                    delete_on_termination="true",
                ),
            )
        ],
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=t, tags=launched)
            for t in ("instance", "volume", "network-interface")
        ],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def template_ref(lt: aws.ec2.LaunchTemplate) -> aws.eks.NodeGroupLaunchTemplateArgs:
    return aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, version=lt.latest_version.apply(str))


@dataclass(frozen=True)
class EksAcceleratorNodeGroupArgs:
    cluster_name: str  # plain: it is part of the autoscaler's tag keys
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]  # private subnets in pool.zones only
    pool: ResolvedNodePool
    region: str = "us-east-1"
    tags: dict[str, str] = field(default_factory=dict)


class EksAcceleratorNodeGroup(pulumi.ComponentResource):
    """Outputs: name (the node group), instance_type, ami_type, autoscaling_group (ASG name)."""

    def __init__(
        self, name: str, args: EksAcceleratorNodeGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmcloud:aws:EksAcceleratorNodeGroup", name, None, opts)
        # Children do not inherit the component's depends_on (pulumi/pulumi#8721): the node group must wait
        # for the vpc-cni add-on and the node role's policies itself.
        after = list((opts.depends_on if opts else None) or [])
        pool = args.pool
        ami_type = AMI_TYPES[pool.kind]  # a KeyError here means resolve let a TPU through: a bug
        # Multi-GB serving images: a faster root volume shortens cold starts of accelerator nodes.
        capacity_block = bool(pool.capacity_reservation) and capacity_block_only(pool.machine_type, args.region)
        lt = launch_template(
            f"{name}-nodes",
            disk_gb=pool.disk_gb,
            tags=args.tags,
            parent=self,
            throughput_mbps=125 if pool.kind == "cpu" else 500,
            local_nvme=local_nvme_gib(pool.machine_type) > 0,
            capacity_reservation=pool.capacity_reservation,
            capacity_block=capacity_block,
        )
        capacity_type = "CAPACITY_BLOCK" if capacity_block else "SPOT" if pool.spot else "ON_DEMAND"
        self.node_group = aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            instance_types=instance_types(pool, args.region),
            ami_type=ami_type,
            capacity_type=capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_nodes, max_size=pool.max_nodes, desired_size=pool.min_nodes
            ),
            # One node at a time: accelerator capacity is scarce, a surge may not be granted.
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            launch_template=template_ref(lt),
            labels=node_labels(pool),
            taints=[aws.eks.NodeGroupTaintArgs(key=k, value=v, effect=e) for k, v, e in taints(pool)],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after, ignore_changes=["scalingConfig.desiredSize"]),
        )
        asg = self.node_group.resources.apply(lambda rs: rs[0].autoscaling_groups[0].name)
        # Managed node group tags stay on the node group; the autoscaler reads the ASG's own tags.
        for key, value in autoscaler_tags(args.cluster_name, pool).items():
            aws.autoscaling.Tag(
                f"{name}-ca-{_tag_slug(key, args.cluster_name)}",
                autoscaling_group_name=asg,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.name = self.node_group.node_group_name
        self.instance_type = pulumi.Output.from_input(pool.machine_type)
        self.ami_type = pulumi.Output.from_input(ami_type)
        self.autoscaling_group = asg
        self.register_outputs(
            {
                "name": self.name,
                "instance_type": self.instance_type,
                "ami_type": self.ami_type,
                "autoscaling_group": self.autoscaling_group,
            }
        )
