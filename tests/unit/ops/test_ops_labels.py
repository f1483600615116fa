"""Labels/tags on every resource that takes them, per cloud, from the offline plan (issue 10, part 1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import plan, repo_plan, resolved
from llmcloud.components import labels as L
from llmcloud.components import registry

STACKS = {"gcp": "dev", "aws": "aws-example", "azure": "azure-example"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _sdk_table(type_tokens: list[str]) -> dict[str, tuple[str, ...]]:
    """label_fields per type: the table the plans are compared against."""
    return {t: L.label_fields(t) for t in sorted(set(type_tokens))}


def _at(inputs: dict, field: str):
    value = inputs
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(_camel(part))
    return value


@pytest.mark.parametrize("cloud", ["gcp", "aws", "azure"])
def test_every_resource_that_accepts_labels_gets_them(cloud):
    p = repo_plan(STACKS[cloud])
    r = resolved(f"stacks/{STACKS[cloud]}.yaml")
    table = _sdk_table([s.type for s in p.resources()])
    labelled = [s for s in p.resources() if table.get(s.type)]
    assert labelled, f"no {cloud} resource accepts labels?"
    for step in labelled:
        for field in table[step.type]:
            value = _at(step.inputs, field)
            if "." in field and _at(step.inputs, field.split(".")[0]) is None:
                continue  # no node_config block at all: nothing to label
            assert isinstance(value, dict), f"{step.type} {step.name}: {field} missing"
            for key in (*L.REQUIRED_KEYS, "team", "cost-center"):
                assert key in value, f"{step.type} {step.name}: {field} lacks {key}"
            assert value[L.STACK_KEY] == r.labels[L.STACK_KEY]
            assert L.valid(value, cloud) == [], f"{step.type} {step.name}: {L.valid(value, cloud)}"


def test_the_table_comes_from_the_sdk():
    assert L.label_fields("gcp:storage/bucket:Bucket") == ("labels",)
    assert L.label_fields("gcp:container/cluster:Cluster") == ("resource_labels", "node_config.resource_labels")
    assert L.label_fields("gcp:container/nodePool:NodePool") == ("node_config.resource_labels",)
    assert L.label_fields("gcp:compute/network:Network") == ()  # VPC networks take no labels
    assert L.label_fields("aws:ec2/vpc:Vpc") == ("tags",)
    assert L.label_fields("aws:autoscaling/group:Group") == ()  # a list of tags, not a map: left alone
    assert L.label_fields("azure-native:containerservice:AgentPool") == ("tags",)
    assert L.label_fields("azure-native:authorization:RoleAssignment") == ()
    assert L.label_fields("kubernetes:core/v1:Namespace") == ()
    assert L.label_fields("pulumi:providers:gcp") == ()


def test_component_labels_are_kept_and_stack_labels_added():
    assert L.merge({"team": "mine", "Name": "x"}, {"team": "ml", "llmcloud-stack": "s"}) == {
        "team": "mine",
        "Name": "x",
        "llmcloud-stack": "s",
    }
    p = repo_plan("aws-example")
    vpc = next(s for s in p.resources() if s.type == "aws:ec2/vpc:Vpc")
    stack_name = resolved("stacks/aws-example.yaml").stack_name
    assert vpc.inputs["tags"]["Name"].endswith("vpc") and vpc.inputs["tags"][L.STACK_KEY] == stack_name


def test_gcp_sanitizer():
    assert registry.cloud("gcp").label_key("Team Name") == "team-name"
    assert registry.cloud("gcp").label_key("1st") == "l1st"
    assert registry.cloud("gcp").label_key("x" * 80) == "x" * 63
    assert registry.cloud("gcp").label_value("Alice.Smith@Example.com") == "alice-smith-example-com"
    assert registry.cloud("gcp").label_value("") == ""
    many = {f"k{i}": "v" for i in range(100)} | {"llmcloud-stack": "s"}
    out = L.sanitize(many, "gcp")
    assert len(out) == 64 and "llmcloud-stack" in out
    assert L.valid(out, "gcp") == []


def test_aws_and_azure_sanitizers():
    aws = registry.cloud("aws")
    assert len(aws.label_key("k" * 200)) == 128 and len(aws.label_value("v" * 300)) == 256
    assert registry.cloud("aws").label_key("aws:reserved").startswith("x-")
    assert registry.cloud("aws").label_value("alice@example.com") == "alice@example.com"  # @ . are allowed in AWS tags
    assert registry.cloud("azure").label_key("a<b>c%d&e\\f?g/h") == "a-b-c-d-e-f-g-h"
    assert L.valid({"a/b": "x"}, "azure") and not L.valid({"a-b": "x"}, "azure")
    assert L.sanitize({"Owner": "Alice Smith"}, "azure") == {"Owner": "Alice Smith"}


def test_owner_from_the_stack_or_the_user(write_stack, monkeypatch):
    monkeypatch.setenv("USER", "Bob.Builder")
    monkeypatch.setenv("LOGNAME", "Bob.Builder")
    file = write_stack("extends: base.yaml\n")
    assert resolved(file).labels[L.OWNER_KEY] == "bob-builder"
    file = write_stack("extends: base.yaml\nowner: Carol\n", name="other")
    assert resolved(file, "aws").labels[L.OWNER_KEY] == "Carol"


def test_expiry_label_and_output(write_stack):
    fixed = write_stack("extends: base.yaml\nexpires_at: 2026-12-01T18:00:00Z\n")
    r = resolved(fixed)
    assert r.labels[L.EXPIRES_KEY] == "2026-12-01t1800z" and r.expires_at == "2026-12-01T18:00:00Z"
    p = plan(fixed)
    assert p.outputs["expires_at"] == "2026-12-01T18:00:00Z"
    bucket = next(s for s in p.resources() if s.type == "gcp:storage/bucket:Bucket")
    assert bucket.inputs["labels"][L.EXPIRES_KEY] == "2026-12-01t1800z"
    assert L.parse_expiry_value("2026-12-01t1800z") == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
