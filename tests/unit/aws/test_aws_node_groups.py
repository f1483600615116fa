"""Mock-runtime tests of EKS managed node groups: every serving row of the AWS catalog, asserted like
policies (AMI type, taints, labels, scaling, capacity type, subnets, autoscaler tags)."""

from __future__ import annotations

import pytest
from helpers import resolved
from llmcloud.components import catalog
from llmcloud.components.aws.node_group import ROOT_GB_WITH_LOCAL_NVME
from llmcloud.components.engine import offline

AWS = catalog.load("aws")

# Instance family and accelerators per instance, as the EC2 accelerated-computing docs give them,
# written out independently of the catalog so that a wrong catalog row fails here.
# https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html
FAMILIES = {
    "T4": ("g4dn",),
    "A10G": ("g5",),
    "L4": ("g6",),
    "L40S": ("g6e",),
    "A100-40GB": ("p4d",),
    "A100-80GB": ("p4de",),
    "H100": ("p5",),
    "H200": ("p5e", "p5en"),
    "Inferentia2": ("inf2",),
    "Trainium1": ("trn1",),
    "Trainium2": ("trn2",),
}
COUNTS = {
    "g4dn.xlarge": 1,
    "g4dn.2xlarge": 1,
    "g4dn.4xlarge": 1,
    "g4dn.8xlarge": 1,
    "g4dn.16xlarge": 1,
    "g4dn.12xlarge": 4,
    "g4dn.metal": 8,
    "g5.xlarge": 1,
    "g5.2xlarge": 1,
    "g5.4xlarge": 1,
    "g5.8xlarge": 1,
    "g5.16xlarge": 1,
    "g5.12xlarge": 4,
    "g5.24xlarge": 4,
    "g5.48xlarge": 8,
    "g6.xlarge": 1,
    "g6.2xlarge": 1,
    "g6.4xlarge": 1,
    "g6.8xlarge": 1,
    "g6.16xlarge": 1,
    "g6.12xlarge": 4,
    "g6.24xlarge": 4,
    "g6.48xlarge": 8,
    "g6e.xlarge": 1,
    "g6e.2xlarge": 1,
    "g6e.4xlarge": 1,
    "g6e.8xlarge": 1,
    "g6e.16xlarge": 1,
    "g6e.12xlarge": 4,
    "g6e.24xlarge": 4,
    "g6e.48xlarge": 8,
    "inf2.xlarge": 1,
    "inf2.8xlarge": 1,
    "inf2.24xlarge": 6,
    "inf2.48xlarge": 12,
    "trn1.2xlarge": 1,
    "trn1.32xlarge": 16,
    "trn2.48xlarge": 16,
    "p4d.24xlarge": 8,
    "p4de.24xlarge": 8,
    "p5.4xlarge": 1,
    "p5.48xlarge": 8,
    "p5e.48xlarge": 8,
    "p5en.48xlarge": 8,
}
NVIDIA_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
NEURON_TAINT = {"key": "aws.amazon.com/neuron", "value": "present", "effect": "NO_SCHEDULE"}
NG = "aws:eks/nodeGroup:NodeGroup"
SERVING_ROWS = [m for m in AWS.machines if m.serving]
CAPACITY_BLOCK_ONLY = set(AWS.service("capacity_block_only"))
RESERVATION = "cr-0123456789abcdef0"


def _region_for(machine: catalog.Machine) -> str:
    """The first region that offers the accelerator in some AZ and sells this instance type."""
    return next(
        r for r in sorted(AWS.regions) if AWS.zones_offering(r, machine.accelerator) and AWS.machine_price(r, machine)
    )


def _stack(
    write_stack,
    accelerator: str,
    count: int,
    *,
    machine_type: str | None = None,
    region: str = "us-east-1",
    spot: bool = False,
    min_nodes: int = 0,
    max_nodes: int = 1,
    disk_gb: int = 200,
    name: str = "dev",
    reservation: str | None = None,
):
    override = f"\n    machine_type: {{aws: {machine_type}}}" if machine_type else ""
    if reservation:
        override += f"\n    capacity_reservation: {reservation}"
    return write_stack(
        f"""
extends: base.yaml
cloud: aws
aws: {{region: {region}}}
node_pools:
  p:
    accelerator: {accelerator}
    accelerators_per_node: {count}
    min_nodes: {min_nodes}
    max_nodes: {max_nodes}
    disk_gb: {disk_gb}
    spot: {str(spot).lower()}{override}
""",
        name=name,
    )


def _group_steps(pool, cluster_name: str = "llm-dev", region: str = "us-east-1"):
    """Every registration of one EksAcceleratorNodeGroup (no cluster, no VPC: fast)."""
    from llmcloud.components.aws.node_group import EksAcceleratorNodeGroup, EksAcceleratorNodeGroupArgs

    args = EksAcceleratorNodeGroupArgs(
        cluster_name=cluster_name,
        node_role_arn="arn:aws:iam::123456789012:role/nodes",
        subnet_ids=[f"subnet-{z}" for z in pool.zones],
        pool=pool,
        region=region,
        tags={"team": "ml"},
    )
    steps, _ = offline.capture(lambda: EksAcceleratorNodeGroup(f"llm-{pool.name}", args) and None, "test")
    return steps


def _one(steps, type_):
    found = [s for s in steps if s.type == type_]
    assert len(found) == 1, [s.urn for s in found]
    return found[0]


def test_catalog_rows_are_what_ec2_documents():
    assert {m.machine_type for m in AWS.machines} == set(COUNTS)
    for m in AWS.machines:
        assert m.machine_type.split(".")[0] in FAMILIES[m.accelerator], m.machine_type
        assert m.count == COUNTS[m.machine_type], m.machine_type


@pytest.mark.parametrize("machine", SERVING_ROWS, ids=[m.machine_type for m in SERVING_ROWS])
def test_every_catalog_row_becomes_a_node_group_of_that_type(write_stack, machine):
    region = _region_for(machine)
    block = machine.machine_type in CAPACITY_BLOCK_ONLY
    r = resolved(
        _stack(
            write_stack,
            machine.accelerator,
            machine.count,
            machine_type=machine.machine_type,
            region=region,
            reservation=RESERVATION if block else None,
        )
    )
    pool = r.node_pools["p"]
    assert (pool.machine_type, pool.accelerators_per_node) == (machine.machine_type, machine.count)
    assert set(pool.zones) == set(AWS.zones_offering(region, machine.accelerator))
    steps = _group_steps(pool, region=region)
    i = _one(steps, NG).inputs
    assert i["instanceTypes"] == [machine.machine_type]
    lt = _one(steps, "aws:ec2/launchTemplate:LaunchTemplate").inputs
    if block:  # Capacity Blocks: the node group's capacity type and the launch template's market and target
        assert i["capacityType"] == "CAPACITY_BLOCK"
        assert lt["instanceMarketOptions"] == {"marketType": "capacity-block"}
        assert lt["capacityReservationSpecification"] == {
            "capacityReservationTarget": {"capacityReservationId": RESERVATION}
        }
    else:
        assert i["capacityType"] == "ON_DEMAND"
        assert "instanceMarketOptions" not in lt and "capacityReservationSpecification" not in lt
    # instance-store NVMe: RAID0 for containerd and the kubelet, a root volume for the image only
    assert ("userData" in lt) == (machine.local_ssd_gib > 0)
    root = lt["blockDeviceMappings"][0]["ebs"]["volumeSize"]
    assert root == (ROOT_GB_WITH_LOCAL_NVME if machine.local_ssd_gib else 200)
    neuron = machine.accelerator in ("Inferentia2", "Trainium1", "Trainium2")
    assert i["amiType"] == ("AL2023_x86_64_NEURON" if neuron else "AL2023_x86_64_NVIDIA")
    assert i["taints"] == [NEURON_TAINT if neuron else NVIDIA_TAINT]
    assert i["labels"]["llmcloud.dev/pool"] == "p"
    assert i["labels"]["llmcloud.dev/accelerator"] == machine.accelerator
    assert i["subnetIds"] == [f"subnet-{z}" for z in pool.zones]
    # scale from zero: the autoscaler learns the node's devices from the ASG tag
    resource = "aws.amazon.com/neuron" if neuron else "nvidia.com/gpu"
    tags = {s.inputs["tag"]["key"]: s.inputs["tag"]["value"] for s in steps if s.type == "aws:autoscaling/tag:Tag"}
    assert tags[f"k8s.io/cluster-autoscaler/node-template/resources/{resource}"] == str(machine.count)


@pytest.mark.parametrize(
    ("accelerator", "count", "region", "expected"),
    [
        ("L4", 1, "us-east-1", "g6.xlarge"),
        ("L4", 4, "us-east-1", "g6.12xlarge"),
        ("L4", 8, "us-east-1", "g6.48xlarge"),
        ("A10G", 1, "us-east-1", "g5.xlarge"),
        ("T4", 1, "us-east-1", "g4dn.xlarge"),
        ("L40S", 1, "us-east-1", "g6e.xlarge"),
        ("H100", 8, "us-east-1", "p5.48xlarge"),
        ("H100", 1, "us-east-1", "p5.4xlarge"),
        ("A100-80GB", 8, "us-east-1", "p4de.24xlarge"),
        ("Inferentia2", 1, "us-east-1", "inf2.xlarge"),
        ("Inferentia2", 12, "us-east-1", "inf2.48xlarge"),
        ("Trainium1", 16, "us-east-1", "trn1.32xlarge"),
        ("Trainium2", 16, "us-east-2", "trn2.48xlarge"),
    ],
)
def test_smallest_instance_type_is_chosen(write_stack, accelerator, count, region, expected):
    reservation = RESERVATION if expected in CAPACITY_BLOCK_ONLY else None
    r = resolved(_stack(write_stack, accelerator, count, region=region, reservation=reservation))
    assert r.node_pools["p"].machine_type == expected


def test_scaling_spot_disk_and_ownership_of_size(write_stack):
    r = resolved(_stack(write_stack, "Inferentia2", 1, spot=True, min_nodes=1, max_nodes=5, disk_gb=300))
    steps = _group_steps(r.node_pools["p"])
    i = _one(steps, NG).inputs
    # desired = min at creation; ignore_changes=[scalingConfig.desiredSize] leaves it to the autoscaler after
    assert i["scalingConfig"] == {"minSize": 1, "maxSize": 5, "desiredSize": 1}
    assert i["capacityType"] == "SPOT"
    assert i["updateConfig"] == {"maxUnavailable": 1}
    assert i["nodeRepairConfig"] == {"enabled": True}
    assert "diskSize" not in i  # the launch template sizes the disk
    lt = _one(steps, "aws:ec2/launchTemplate:LaunchTemplate").inputs
    ebs = lt["blockDeviceMappings"][0]["ebs"]
    assert lt["blockDeviceMappings"][0]["deviceName"] == "/dev/xvda"
    assert (ebs["volumeSize"], ebs["volumeType"], ebs["encrypted"]) == (300, "gp3", "true")
    assert lt["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    # inf2 has no instance store: no user data, disk_gb sizes the root volume; EKS picks the AMI from amiType
    assert "imageId" not in lt and "userData" not in lt
    assert {t["resourceType"] for t in lt["tagSpecifications"]} == {"instance", "volume", "network-interface"}
    assert all(t["tags"]["team"] == "ml" for t in lt["tagSpecifications"])
    assert set(i["launchTemplate"]) == {"id", "version"}  # every launch template change rolls the nodes


def test_scale_to_zero_starts_empty(write_stack):
    r = resolved(_stack(write_stack, "L4", 1, spot=True, min_nodes=0, max_nodes=3))
    i = _one(_group_steps(r.node_pools["p"]), NG).inputs
    assert i["scalingConfig"] == {"minSize": 0, "maxSize": 3, "desiredSize": 0}


def test_autoscaler_tags_make_scale_from_zero_work(write_stack):
    r = resolved(_stack(write_stack, "Inferentia2", 1))
    steps = _group_steps(r.node_pools["p"], cluster_name="llm-dev")
    tags = {s.inputs["tag"]["key"]: s.inputs for s in steps if s.type == "aws:autoscaling/tag:Tag"}
    prefix = "k8s.io/cluster-autoscaler"
    assert tags[f"{prefix}/enabled"]["tag"]["value"] == "true"
    assert tags[f"{prefix}/llm-dev"]["tag"]["value"] == "owned"
    assert tags[f"{prefix}/node-template/label/llmcloud.dev/pool"]["tag"]["value"] == "p"
    assert tags[f"{prefix}/node-template/taint/aws.amazon.com/neuron"]["tag"]["value"] == "present:NoSchedule"
    assert tags[f"{prefix}/node-template/resources/aws.amazon.com/neuron"]["tag"]["value"] == "1"
    for t in tags.values():
        assert t["tag"]["propagateAtLaunch"] is False
        assert t["autoscalingGroupName"] == "<computed>"  # the managed node group's ASG, known after deploy


def test_cpu_pool_has_standard_ami_and_no_taint(write_stack):
    r = resolved(
        write_stack("""
extends: base.yaml
cloud: aws
node_pools:
  cpu: {accelerator: none, max_nodes: 2, machine_type: {aws: m7i.2xlarge}}
""")
    )
    i = _one(_group_steps(r.node_pools["cpu"]), NG).inputs
    assert i["amiType"] == "AL2023_x86_64_STANDARD"
    assert i["instanceTypes"] == ["m7i.2xlarge"]
    assert "taints" not in i or i["taints"] == []


def test_zones_override_limits_subnets(write_stack):
    r = resolved(
        write_stack("""
extends: base.yaml
cloud: aws
aws: {region: us-east-1, zones: [use1-az1, use1-az2, use1-az5]}
node_pools:
  l4: {accelerator: L4, max_nodes: 1}
""")
    )
    assert r.node_pools["l4"].zones == ("use1-az1", "use1-az2")  # use1-az5 has no L4


# ---------------------------------------------------------------- issue 18: Spot lists, local NVMe, Capacity Blocks


def test_spot_pool_lists_interchangeable_types_of_the_same_accelerator_and_count(write_stack):
    r = resolved(_stack(write_stack, "L4", 1, spot=True, max_nodes=3))
    pool = r.node_pools["p"]
    types = _one(_group_steps(pool), NG).inputs["instanceTypes"]
    assert types[0] == pool.machine_type == "g6.xlarge"  # the resolved type first: the cost line prices it
    assert 2 <= len(types) <= 4 and len(set(types)) == len(types)
    prices = AWS.prices["us-east-1"]["machines"]
    for t in types:
        m = next(m for m in AWS.machines if m.machine_type == t)
        assert (m.accelerator, m.count) == ("L4", 1)
        assert m.vcpus >= pool.vcpus and m.memory_gib >= pool.memory_gib
        assert m.machine_type in prices and prices[m.machine_type].spot is not None
    spot = [prices[t].spot for t in types[1:]]
    assert spot == sorted(spot)  # cheapest siblings first


def test_on_demand_pool_keeps_one_type(write_stack):
    r = resolved(_stack(write_stack, "L4", 1, spot=False))
    assert _one(_group_steps(r.node_pools["p"]), NG).inputs["instanceTypes"] == ["g6.xlarge"]


def test_local_nvme_user_data_is_a_nodeadm_raid0_node_config(write_stack):
    import base64
    import email

    import yaml

    r = resolved(_stack(write_stack, "L4", 1, disk_gb=400))
    lt = _one(_group_steps(r.node_pools["p"]), "aws:ec2/launchTemplate:LaunchTemplate").inputs
    message = email.message_from_bytes(base64.b64decode(lt["userData"]))
    assert message.is_multipart()
    [part] = message.get_payload()
    assert part.get_content_type() == "application/node.eks.aws"
    config = yaml.safe_load(part.get_payload())
    assert config["apiVersion"] == "node.eks.aws/v1alpha1" and config["kind"] == "NodeConfig"
    assert config["spec"] == {"instance": {"localStorage": {"strategy": "RAID0"}}}
    # containerd and the kubelet live on the NVMe array: the root volume only holds the OS image
    assert lt["blockDeviceMappings"][0]["ebs"]["volumeSize"] == ROOT_GB_WITH_LOCAL_NVME < 400


def test_capacity_reservation_group_arn_targets_the_group(write_stack):
    arn = "arn:aws:resource-groups:us-east-1:123456789012:group/llm-blocks"
    r = resolved(_stack(write_stack, "H200", 8, machine_type="p5en.48xlarge", reservation=arn))
    steps = _group_steps(r.node_pools["p"])
    lt = _one(steps, "aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert lt["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationResourceGroupArn": arn}
    }
    assert _one(steps, NG).inputs["capacityType"] == "CAPACITY_BLOCK"


def test_reservation_on_an_ordinary_type_is_an_on_demand_reservation(write_stack):
    r = resolved(_stack(write_stack, "H100", 8, reservation=RESERVATION))
    steps = _group_steps(r.node_pools["p"])
    lt = _one(steps, "aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert _one(steps, NG).inputs["capacityType"] == "ON_DEMAND"
    assert "instanceMarketOptions" not in lt
    assert lt["capacityReservationSpecification"]["capacityReservationTarget"] == {"capacityReservationId": RESERVATION}


@pytest.mark.parametrize(
    ("accelerator", "count", "machine_type", "region"),
    [
        ("H200", 8, "p5en.48xlarge", "us-east-1"),
        ("H200", 8, "p5e.48xlarge", "us-east-2"),
        ("Trainium2", 16, "trn2.48xlarge", "us-east-2"),
    ],
)
def test_capacity_block_types_without_a_reservation_are_refused(
    cli, write_stack, accelerator, count, machine_type, region
):
    path = _stack(write_stack, accelerator, count, machine_type=machine_type, region=region)
    result = cli("validate", str(path), "--cloud", "aws")
    assert result.exit_code == 2, result.output
    assert f"node_pools.p.accelerator: {machine_type} is sold as EC2 Capacity Blocks for ML" in result.output
    assert "node_pools.p.capacity_reservation" in result.output


def test_capacity_reservation_must_look_like_one(cli, write_stack):
    path = _stack(write_stack, "H200", 8, machine_type="p5en.48xlarge", reservation="my-block")
    result = cli("validate", str(path), "--cloud", "aws")
    assert result.exit_code == 2 and "node_pools.p.capacity_reservation" in result.output
