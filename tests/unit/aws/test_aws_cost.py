"""AWS pricers, checked against numbers computed by hand from components/catalog/data/aws.yaml
(us-east-1, 730 hours a month)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import repo_plan, resolved
from llmcloud.components import catalog
from llmcloud.components.aws.cost import support_tier
from llmcloud.components.cost import PricingContext, Usage, _load_pricers, cost_for
from llmcloud.components.engine.plan import Step

PRICERS = _load_pricers("aws")


def _ctx(expected: dict[str, int] | None = None, region: str = "us-east-1") -> PricingContext:
    return PricingContext(catalog.load("aws"), region, expected or {}, Usage(), name_prefix="llm-dev-")


def _step(type_: str, name: str, inputs: dict) -> Step:
    return Step(op="create", urn=f"urn:pulumi:dev::llmcloud::{type_}::{name}", type=type_, inputs=inputs)


def _lines(step: Step, ctx: PricingContext | None = None):
    return [line.to_json() for line in PRICERS[step.type](step, ctx or _ctx())]


def _group(instance: str, capacity: str, lo: int, hi: int, pool: str = "l4") -> Step:
    return _step(
        "aws:eks/nodeGroup:NodeGroup",
        f"llm-dev-{pool}",
        {
            "instanceTypes": [instance],
            "capacityType": capacity,
            "labels": {"llmcloud.dev/pool": pool},
            "scalingConfig": {"minSize": lo, "maxSize": hi, "desiredSize": lo},
        },
    )


def test_spot_gpu_group_uses_the_spot_price():
    [line] = _lines(_group("g6.xlarge", "SPOT", 0, 3), _ctx({"l4": 1}))
    assert line["resource"] == "node_pools.l4"
    assert line["sku"] == "g6.xlarge (spot)"
    assert line["unit_price"] == 0.3058
    assert line["quantity"] == {"floor": 0, "expected": 1, "max": 3}
    # 0.3058 × 730 = 223.234 per node
    assert line["monthly"] == {"floor": 0.0, "expected": 223.23, "max": 669.70}
    assert line["note"] == "1 × L4 per node"


def test_on_demand_neuron_group():
    [line] = _lines(_group("inf2.8xlarge", "ON_DEMAND", 1, 2, pool="inf2"), _ctx({"inf2": 1}))
    assert (line["sku"], line["unit_price"]) == ("inf2.8xlarge", 1.9679)
    # 1.9679 × 730 = 1436.567
    assert line["monthly"] == {"floor": 1436.57, "expected": 1436.57, "max": 2873.13}


def test_system_group_is_the_cluster_system_pool():
    [line] = _lines(_group("m6i.xlarge", "ON_DEMAND", 1, 3, pool="system"))
    assert line["resource"] == "cluster.system_pool"
    # 0.192 × 730 = 140.16
    assert line["monthly"] == {"floor": 140.16, "expected": 140.16, "max": 420.48}


def test_other_region_prices():
    [line] = _lines(_group("g5.xlarge", "ON_DEMAND", 1, 1, pool="a10"), _ctx(region="eu-west-1"))
    assert line["unit_price"] == 1.123  # eu-west-1 row


def test_unknown_instance_type_is_not_priced():
    assert _lines(_group("x9.huge", "ON_DEMAND", 1, 1)) == []


@pytest.mark.parametrize(
    ("version", "support", "tier", "monthly"),
    [
        ("1.34", "STANDARD", "standard", 73.0),  # 0.10 × 730
        ("1.35", "EXTENDED", "standard", 73.0),
        ("1.33", "EXTENDED", "extended", 438.0),  # 0.60 × 730
        ("1.33", "STANDARD", "standard", 73.0),  # EKS upgrades it instead of charging extended support
        (None, None, "standard", 73.0),
    ],
)
def test_cluster_fee_standard_or_extended_support(version, support, tier, monthly):
    inputs = {"name": "llm-dev"}
    if version:
        inputs["version"] = version
    if support:
        inputs["upgradePolicy"] = {"supportType": support}
    [line] = _lines(_step("aws:eks/cluster:Cluster", "llm-dev", inputs))
    assert line["sku"] == f"EKS cluster ({tier} support)"
    assert line["monthly"] == {"floor": monthly, "expected": monthly, "max": monthly}


def test_support_tier_threshold_comes_from_the_catalog():
    versions = catalog.load("aws").service("eks_versions")
    assert (versions["standard_min"], versions["extended_min"], versions["newest"]) == ("1.34", "1.32", "1.36")
    assert support_tier("1.9", "EXTENDED", versions) == "extended"  # minor versions compare as numbers
    assert support_tier("1.100", "EXTENDED", versions) == "standard"


def test_nat_gateway_hourly_and_data_processing_once():
    ctx = _ctx()
    first = _lines(_step("aws:ec2/natGateway:NatGateway", "llm-dev-net-nat-a", {}), ctx)
    second = _lines(_step("aws:ec2/natGateway:NatGateway", "llm-dev-net-nat-b", {}), ctx)
    assert [ln["sku"] for ln in first] == ["NAT gateway", "NAT gateway data processing"]
    assert first[0]["monthly"]["floor"] == 32.85  # 0.045 × 730
    assert first[1]["monthly"]["floor"] == 2.25  # 50 GB × 0.045
    assert [ln["sku"] for ln in second] == ["NAT gateway"]


def test_public_ip_kms_key_and_bucket():
    [ip] = _lines(_step("aws:ec2/eip:Eip", "llm-dev-net-nat-a", {}))
    assert ip["monthly"]["floor"] == 3.65  # 0.005 × 730
    [key] = _lines(_step("aws:kms/key:Key", "llm-dev-secrets", {}))
    assert key["monthly"]["floor"] == 1.0
    [bucket] = _lines(_step("aws:s3/bucket:Bucket", "llm-dev-weights", {}))
    assert bucket["resource"] == "buckets.weights"
    assert bucket["monthly"]["floor"] == 2.3  # 100 GB × 0.023
    assert PRICERS["aws:s3/bucketV2:BucketV2"] is PRICERS["aws:s3/bucket:Bucket"]


def test_example_stack_cost_bands():
    p = repo_plan("aws-example")
    cost = cost_for(p, resolved(Path(__file__).resolve().parents[3] / "stacks" / "aws-example.yaml"))
    assert cost["cloud"] == "aws" and cost["unpriced"] == []
    lines = {(ln["resource"], ln["sku"]): ln["monthly"] for ln in cost["lines"]}
    assert lines[("node_pools.l4", "g6.xlarge (spot)")] == {"floor": 0.0, "expected": 0.0, "max": 669.70}
    assert lines[("node_pools.inf2", "inf2.8xlarge")]["expected"] == 1436.57
    assert lines[("cluster", "EKS cluster (standard support)")]["floor"] == 73.0
    # floor = inf2 1436.567 + system 140.16 + EKS 73 + NAT 32.85 + 2.25 + IPv4 3.65 + KMS 1 + S3 2.3
    #         + egress 10 GB × 0.09 + front door: ALB 16.425 + 10 GB × 0.008 + API key secret 0.40
    assert cost["monthly"]["floor"] == 1709.58
    # max = floor + 2nd inf2 node 1436.567 + 3 × L4 spot 669.702 + 2 more system nodes 280.32
    assert cost["monthly"]["max"] == 4096.17
