"""Refused front-door combinations: exit 2 with the limit named and the alternative given."""

from __future__ import annotations

import pytest
from llmcloud.components import gateway_checks as gc


def _validate(cli, write_stack, cloud: str, gateway: str):
    path = write_stack(f"""
        extends: base.yaml
        cloud: {cloud}
        gateway: {gateway}
        """)
    return cli("validate", str(path))


@pytest.mark.parametrize(
    ("cloud", "gateway", "expected"),
    [
        ("gcp", "{kind: managed}", f"gateway.kind: {gc.GCP_MANAGED[0]}; {gc.GCP_MANAGED[1]}"),
        (
            "gcp",
            "{kind: managed, streaming: false, request_timeout_seconds: 60}",
            f"gateway.kind: {gc.GCP_MANAGED[0]}; {gc.GCP_MANAGED[1]}",
        ),
        (
            "aws",
            "{kind: managed, request_timeout_seconds: 1200}",
            f"gateway.kind: {gc.AWS_MANAGED_TIMEOUT[0]}; {gc.AWS_MANAGED_TIMEOUT[1]}",
        ),
        (
            "aws",
            "{kind: managed, streaming: false, request_timeout_seconds: 120}",
            f"gateway.kind: {gc.AWS_MANAGED_BUFFERED[0]}; {gc.AWS_MANAGED_BUFFERED[1]}",
        ),
        (
            "aws",
            "{request_timeout_seconds: 3941}",
            f"gateway.request_timeout_seconds: {gc.AWS_ALB_TIMEOUT[0]}; {gc.AWS_ALB_TIMEOUT[1]}",
        ),
        ("azure", "{kind: managed}", f"gateway.kind: {gc.AZURE_MANAGED_TIMEOUT[0]}; {gc.AZURE_MANAGED_TIMEOUT[1]}"),
        (
            "azure",
            "{request_timeout_seconds: 6000}",
            f"gateway.request_timeout_seconds: {gc.AZURE_LB_TIMEOUT[0]}; {gc.AZURE_LB_TIMEOUT[1]}",
        ),
        ("gcp", "{domain: null}", f"gateway.domain: {gc.DOMAIN_REQUIRED[0]}; {gc.DOMAIN_REQUIRED[1]}"),
        ("aws", "{allowed_cidrs: [10.0.0.300/8]}", "gateway.allowed_cidrs[0]: '10.0.0.300/8' is not a CIDR"),
    ],
)
def test_refused(cli, write_stack, cloud, gateway, expected):
    result = _validate(cli, write_stack, cloud, gateway)
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_exact_gcp_message():
    assert gc.GCP_MANAGED[0] == (
        "GCP API Gateway: 15 s backend deadline by default, streaming not settable through pulumi-gcp"
    )
    assert gc.GCP_MANAGED[1].startswith("use kind: load_balancer (GKE Gateway API)")


def test_limits_as_data():
    from llmcloud.components.registry import CLOUDS

    assert gc.product_of("aws", "managed").max_timeout == 900
    assert gc.product_of("azure", "managed").max_timeout == 240
    assert gc.product_of("aws", "load_balancer").max_timeout + gc.LB_TIMEOUT_MARGIN == 4000
    for cloud in CLOUDS:  # each cloud's products are its Cloud object's data (components/<cloud>/__init__.py)
        product = gc.product_of(cloud, gc.DEFAULT_KIND)
        assert product.streams and product.max_timeout >= gc.MIN_DEFAULT_TIMEOUT


@pytest.mark.parametrize("cloud", ["gcp", "aws", "azure"])
def test_default_is_the_streaming_load_balancer(cli, write_stack, cloud):
    result = _validate(cli, write_stack, cloud, "{}")
    assert result.exit_code == 0, result.output


def test_auth_none_refused_by_policy_in_prod():
    from llmcloud.components.policy import RULES, Context

    rule = next(r for r in RULES if r.id == "LLM-API-001")
    assert list(rule.check([], Context(environment="prod", gateway_auth="none")))
    assert rule.severity_for(Context(environment="prod", gateway_auth="none")) == "mandatory"


def test_managed_kinds_within_their_limits_validate(cli, write_stack):
    assert _validate(cli, write_stack, "aws", "{kind: managed}").exit_code == 0  # REST API, 900 s, streams
    assert _validate(cli, write_stack, "azure", "{kind: managed, request_timeout_seconds: 240}").exit_code == 0


def test_azure_managed_needs_the_network_llmcloud_creates(cli, write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        azure: {location: eastus, subnet_id: /subscriptions/s/resourceGroups/g/providers/x/subnets/aks}
        gateway: {kind: managed, request_timeout_seconds: 240}
        """)
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert f"azure.subnet_id: {gc.AZURE_MANAGED_SUBNET}; let llmcloud create the network" in result.stderr


def test_aws_managed_needs_a_domain(cli, write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: aws
        gateway: {kind: managed, domain: null}
        """)
    result = cli("validate", str(path))
    assert result.exit_code == 2 and "gateway.domain" in result.stderr
