"""The one door per cloud: every registered cloud implements every member of the Cloud protocol, an
unknown name lists the valid ones, the unsupported table has a reason per cell, and looking a cloud
up imports no cloud SDK."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from llmcloud.components import registry
from llmcloud.components.cloud import MEMBERS, Cloud


def test_the_protocol_lists_what_issue_13_asks_for():
    wanted = {
        "build_platform",
        "build_front_door",
        "check",
        "pricers",
        "preflight",
        "find_leftovers",
        "fetch_prices",
        "mock_call",
        "has_credentials",
        "label_key",
        "label_value",
        "label_problem",
        "data_resource_types",
        "unsupported",
        "region_field",
        "default_system_machine",
        "in_cluster_autoscaler",
        "rehearsal_facts",
    }
    assert wanted <= set(MEMBERS)


@pytest.mark.parametrize("name", registry.CLOUDS)
def test_every_cloud_implements_every_member(name):
    cloud = registry.cloud(name)
    assert cloud.name == name
    assert isinstance(cloud, Cloud)
    missing = [m for m in MEMBERS if not hasattr(cloud, m)]
    assert missing == []
    for member in MEMBERS:
        value = getattr(cloud, member)
        if callable(value):
            # Same parameters as the protocol's (names and order), so neutral callers never guess.
            want = [p for p in inspect.signature(getattr(Cloud, member)).parameters if p != "self"]
            assert list(inspect.signature(value).parameters) == want, member
    assert cloud.default_system_machine and cloud.sdk_module and cloud.token_prefix and cloud.credentials_help
    assert cloud.data_resource_types and all(t.startswith(cloud.token_prefix + ":") for t in cloud.data_resource_types)
    # The region field exists in the cloud's block of the stack schema.
    from llmcloud.components.spec.model import StackSpec

    block = StackSpec.model_fields[name].annotation
    assert any(cloud.region_field in getattr(t, "model_fields", {}) for t in getattr(block, "__args__", (block,)))


@pytest.mark.parametrize("name", registry.CLOUDS)
def test_front_door_products_and_pricers_exist(name):
    cloud = registry.cloud(name)
    assert "load_balancer" in cloud.front_door_products
    pricers = cloud.pricers()
    assert pricers and all(t.startswith((cloud.token_prefix + ":", "kubernetes:")) for t in pricers)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(registry.UnknownCloud, match="known: gcp, aws, azure"):
        registry.cloud("ibm")
    assert str(registry.UnknownCloud("x")) == "x"


def test_one_unsupported_table_with_reasons():
    table = registry.unsupported()
    assert table[("aws", "tpu")].startswith("AWS offers no TPUs")
    assert ("azure", "neuron") in table and ("gcp", "neuron") in table
    assert all(reason for reason in table.values())


def test_unsupported_reason_reaches_the_user(tmp_path):
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import StackErrors, load_stack

    path = tmp_path / "s.yaml"
    path.write_text(
        "environment: dev\ncloud: aws\naws: {region: us-east-1}\n"
        "node_pools: {tpu: {accelerator: TPU-v5e, accelerators_per_node: 4, max_nodes: 1}}\n"
    )
    with pytest.raises(StackErrors, match="AWS offers no TPUs"):
        resolve(load_stack(str(path)))


def test_looking_clouds_up_is_sdk_free():
    probe = (
        "import sys\nfrom llmcloud.components import registry\n"
        "[(c.check, c.has_credentials, c.unsupported, c.front_door_products) for c in registry.clouds()]\n"
        "sdks = ('pulumi', 'pulumi_aws', 'pulumi_azure_native', 'pulumi_gcp', 'boto3')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in sdks))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.parametrize(
    "cloud, accelerator, field, value",
    [
        ("aws", "L4", "provisioning", "flex_start"),
        ("aws", "L4", "reservation", "my-reservation"),
        ("azure", "A100-80GB", "provisioning", "flex_start"),
        ("azure", "A100-80GB", "capacity_reservation", "cr-0123456789abcdef0"),
    ],
)
def test_a_pool_field_another_cloud_owns_is_refused_not_ignored(cli, write_stack, cloud, accelerator, field, value):
    """GKE's flex-start/reservations and EC2 Capacity Blocks are read only by their cloud: on another, the
    unsupported table refuses them at the field (exit 2) instead of planning as if they were not there."""
    path = write_stack(
        f"""
        extends: base.yaml
        node_pools:
          gpu: {{accelerator: {accelerator}, accelerators_per_node: 1, max_nodes: 1, {field}: {value}}}
        models:
          m: {{source: hf://Qwen/Qwen2.5-7B-Instruct, node_pool: gpu, max_model_len: 4096}}
        """
    )
    result = cli("validate", path, "--cloud", cloud)
    assert result.exit_code == 2, result.output
    assert f"node_pools.gpu.{field}" in result.stderr and f"{field} has no meaning on {cloud}" in result.stderr
    assert (cloud, f"node_pools.{field}") in registry.unsupported()
