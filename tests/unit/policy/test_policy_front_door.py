"""LLM-NET-001 exempts the front door by its role (a child of a llmcloud:<cloud>:FrontDoor component, read
from the URN), never by a substring of a resource's name."""

from __future__ import annotations

from helpers import repo_plan
from llmcloud.components.engine.plan import Step
from llmcloud.components.policy import Context, no_open_ingress, parent_types

STACK = "urn:pulumi:dev-gcp::llmcloud::"


def _firewall(urn_types: str, name: str) -> Step:
    return Step(
        op="create",
        urn=f"{STACK}{urn_types}::{name}",
        type="gcp:compute/firewall:Firewall",
        inputs={"direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp"}]},
    )


def test_an_open_firewall_named_like_the_gateway_is_flagged():
    step = _firewall("llmcloud:gcp:GcpNetwork$gcp:compute/firewall:Firewall", "llm-dev-net-gateway-debug-ssh")
    assert [r for r, _ in no_open_ingress([step], Context("dev"))] == ["llm-dev-net-gateway-debug-ssh"]
    top = _firewall("gcp:compute/firewall:Firewall", "llmcloud-front-door-ssh")  # no parent at all
    assert [r for r, _ in no_open_ingress([top], Context("dev"))] == ["llmcloud-front-door-ssh"]


def test_a_child_of_the_front_door_component_may_accept_the_internet():
    step = _firewall("llmcloud:gcp:FrontDoor$gcp:compute/firewall:Firewall", "llm-dev-lb-health")
    assert list(no_open_ingress([step], Context("dev"))) == []
    nested = _firewall("llmcloud:gcp:FrontDoor$llmcloud:k8s:Part$gcp:compute/firewall:Firewall", "x")
    assert parent_types(nested.urn) == ["llmcloud:gcp:FrontDoor", "llmcloud:k8s:Part"]
    assert list(no_open_ingress([nested], Context("dev"))) == []


def test_the_aws_front_door_in_a_real_plan_passes_and_an_imitation_does_not():
    plan = repo_plan("dev", "aws")
    open_rules = [
        s
        for s in plan.steps
        if s.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        and s.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert open_rules and all("llmcloud:aws:FrontDoor" in parent_types(s.urn) for s in open_rules)
    assert list(no_open_ingress(plan.steps, Context("dev"))) == []
    # The same rule moved out of the front door component (name unchanged) is flagged.
    moved = [
        Step(
            op=s.op,
            urn=s.urn.replace("llmcloud:aws:FrontDoor$", "llmcloud:aws:AwsNetwork$"),
            type=s.type,
            inputs=s.inputs,
        )
        for s in open_rules
    ]
    assert {r for r, _ in no_open_ingress(moved, Context("dev"))} == {s.name for s in open_rules}
