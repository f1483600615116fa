"""Azure validation: errors pinned to file:line and the dotted path, exit code 2, nothing created."""

from __future__ import annotations

import pytest
from helpers import resolved
from llmcloud.components.azure import checks
from llmcloud.components.spec import StackErrors, load_stack


def _line(path, needle: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text)


def test_accelerator_not_offered_in_the_location(write_stack, cli):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        azure: {location: eastus}
        node_pools:
          big:
            accelerator: H200
            accelerators_per_node: 8
            max_nodes: 1
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    line = _line(path, "accelerator: H200")
    assert (
        f"{path}:{line}:18: node_pools.big.accelerator: H200 is not offered in eastus; eastus offers: "
        "A10, A100-40GB, A100-80GB, H100, T4; H200 is in: eastus2"
    ) in result.stderr
    assert "nothing was created" in result.stderr


def test_spot_where_the_catalog_has_no_spot(write_stack, cli):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          h100:
            accelerator: H100
            max_nodes: 1
            spot: true
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    line = _line(path, "spot: true")
    assert (
        f"{path}:{line}:11: node_pools.h100.spot: Standard_NC40ads_H100_v5 cannot run as spot on azure; "
        "set spot: false, or pick a machine that spot capacity exists for"
    ) in result.stderr


def test_fractional_a10_is_refused_with_the_reason(write_stack, cli):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          a10:
            accelerator: A10
            max_nodes: 1
            machine_type: {azure: Standard_NV6ads_A10_v5}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    line = _line(path, "Standard_NV6ads_A10_v5")
    assert f"{path}:{line}:" in result.stderr
    assert (
        "node_pools.a10.machine_type.azure: Standard_NV6ads_A10_v5 is not offered for serving: "
        "exposes 1/6 of one A10 (4 GiB) through NVIDIA GRID vGPU partitioning; not a whole GPU"
    ) in result.stderr
    assert "pick a whole-GPU machine type" in result.stderr


@pytest.mark.parametrize("size,share", [("Standard_NV12ads_A10_v5", "1/3"), ("Standard_NV18ads_A10_v5", "1/2")])
def test_every_fractional_a10_names_its_share(write_stack, cli, size, share):
    path = write_stack(f"""
        extends: base.yaml
        cloud: azure
        node_pools:
          a10: {{accelerator: A10, max_nodes: 1, machine_type: {{azure: {size}}}}}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert f"{size} is not offered for serving: exposes {share} of one A10" in result.stderr


def test_a10_without_override_gets_the_whole_gpu(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          a10: {accelerator: A10, max_nodes: 1}
    """)
    assert resolved(path).node_pools["a10"].machine_type == "Standard_NV36ads_A10_v5"


def test_tpu_on_azure_says_why(write_stack, cli):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          tpu: {accelerator: TPU-v5e, accelerators_per_node: 8, max_nodes: 1}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert (
        "node_pools.tpu.accelerator: TPU-v5e is not offered on azure (Azure offers no TPUs; use a GPU)" in result.stderr
    )


# ---- components/azure/checks.py: what the catalog rows alone cannot say


def _check(path):
    """The Azure-only problems resolve reports (it runs components/azure/checks.check itself)."""
    with pytest.raises(StackErrors) as info:
        resolved(path)
    return [e.render() for e in info.value.errors]


def test_vm_size_not_offered_in_the_location(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        azure: {location: westus2}
        node_pools:
          a100x8:
            accelerator: A100-80GB
            accelerators_per_node: 8
            max_nodes: 1
    """)
    line = _line(path, "accelerators_per_node: 8")
    assert _check(path) == [
        f"{path}:{line}:28: node_pools.a100x8.accelerators_per_node: Standard_ND96amsr_A100_v4 is not "
        "offered in westus2; Standard_ND96amsr_A100_v4 is in: eastus, eastus2, southcentralus; "
        "A100-80GB sizes in westus2: Standard_NC24ads_A100_v4, Standard_NC48ads_A100_v4, "
        "Standard_NC96ads_A100_v4"
    ]


def test_vm_size_override_not_offered_in_the_location(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        azure: {location: westus2}
        node_pools:
          a100x8:
            accelerator: A100-80GB
            accelerators_per_node: 8
            max_nodes: 1
            machine_type: {azure: Standard_ND96amsr_A100_v4}
    """)
    (problem,) = _check(path)
    assert problem.startswith(f"{path}:{_line(path, 'machine_type:')}:")
    assert ": node_pools.a100x8.machine_type.azure: Standard_ND96amsr_A100_v4 is not offered in westus2;" in problem


def test_clean_stack_has_no_azure_problems():
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "stacks" / "azure-example.yaml"
    assert checks.check(load_stack(str(path)), resolved(path)) == []


def test_pool_names_that_collide_on_aks(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          a100-one: {accelerator: A100-80GB, max_nodes: 1}
          a100one: {accelerator: A100-80GB, max_nodes: 1}
          system: {accelerator: T4, max_nodes: 1}
    """)
    problems = _check(path)
    assert len(problems) == 2
    assert (
        f"{path}:{_line(path, 'a100one:')}:12: node_pools.a100one: the AKS pool name of 'a100one' is "
        "'a100one', the same as node_pools.a100-one; AKS pool names are the first 12 letters and digits: "
        "rename the pool"
    ) in problems
    assert (
        f"{path}:{_line(path, 'system:')}:11: node_pools.system: the AKS pool name of 'system' is "
        "'system', the same as the AKS system pool llmcloud creates"
    ) in problems[1]


def test_private_cluster_with_authorized_ranges(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        cluster:
          private_endpoint: true
          authorized_networks: ["203.0.113.0/24"]
    """)
    (problem,) = _check(path)
    assert problem.startswith(f"{path}:{_line(path, 'authorized_networks')}:")
    assert "cluster.authorized_networks: AKS authorized IP ranges apply to a public API server only" in problem


def test_kms_key_must_be_a_key_vault_key_url(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        buckets:
          weights: {kms_key: projects/p/locations/l/keyRings/r/cryptoKeys/k}
    """)
    (problem,) = _check(path)
    assert (
        "buckets.weights.kms_key: kms_key 'projects/p/locations/l/keyRings/r/cryptoKeys/k' is not a Key Vault key URL"
    ) in problem


def test_parse_key_url():
    vault = "https://vault1.vault.azure.net/"
    assert checks.parse_key_url(f"{vault}keys/k") == (vault, "k", None)
    version = "0123456789abcdef0123456789abcdef"
    assert checks.parse_key_url(f"https://vault1.vault.azure.net/keys/k/{version}")[2] == version
    with pytest.raises(ValueError):
        checks.parse_key_url("https://example.com/keys/k")


def test_vm_size_not_in_location_exits_2(write_stack, cli):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        azure: {location: westus2}
        node_pools:
          a100x8: {accelerator: A100-80GB, accelerators_per_node: 8, max_nodes: 1}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert "Standard_ND96amsr_A100_v4 is not offered in westus2" in result.stderr


def test_checks_import_no_sdk():
    import subprocess
    import sys

    code = (
        "import sys, llmcloud.components.azure.checks; "
        "sys.exit(any(m.startswith(('pulumi_azure_native', 'pulumi')) for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
