"""AKS GPU pools on sizes with a large temporary disk put ephemeral storage there (kubeletDiskType Temporary,
components/azure/temp_disk.py): the agent pool's input, the pool's capacity that validate checks, the share
an unknown Hub model gets and the rehearsal's allocatable ephemeral storage all come from the same number."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import plan, repo_plan, resolved
from llmcloud.components import catalog
from llmcloud.components.azure import rehearsal
from llmcloud.components.azure.temp_disk import DEFAULT_OS_DISK_GB, kubelet_temp_disk_gib
from llmcloud.components.catalog import Machine
from llmcloud.components.spec.model import NodePoolSpec

AZURE = catalog.load("azure")
AGENT_POOL = "azure-native:containerservice:AgentPool"
# "Temp Disk Size (GiB)" of each size, from its page (learn.microsoft.com/azure/virtual-machines/sizes/
# gpu-accelerated/..., read 2026-12-01), written out independently of the catalog so a wrong row fails here.
TEMP_DISK_GIB = {
    "Standard_NC4as_T4_v3": 176,
    "Standard_NC8as_T4_v3": 352,
    "Standard_NC16as_T4_v3": 352,
    "Standard_NC64as_T4_v3": 2816,
    "Standard_NC24ads_A100_v4": 64,
    "Standard_NC48ads_A100_v4": 128,
    "Standard_NC96ads_A100_v4": 256,
    "Standard_NC40ads_H100_v5": 3576,
    "Standard_NC80adis_H100_v5": 7152,
    "Standard_ND96asr_v4": 6000,
    "Standard_ND96amsr_A100_v4": 6400,
    "Standard_ND96isr_H100_v5": 1024,  # + 8 NVMe data disks (28 TiB), not the temp disk
    "Standard_ND96isr_H200_v5": 1024,
    "Standard_NV6ads_A10_v5": 180,
    "Standard_NV12ads_A10_v5": 360,
    "Standard_NV18ads_A10_v5": 720,
    "Standard_NV36ads_A10_v5": 1440,
}
# The sizes whose temp disk is not larger than the default 200 GB (186 GiB) OS disk keep kubeletDiskType OS.
OS_DISK_SIZES = {
    "Standard_NC4as_T4_v3",
    "Standard_NC24ads_A100_v4",
    "Standard_NC48ads_A100_v4",
    "Standard_NV6ads_A10_v5",
}


def _pools(p) -> dict[str, dict]:
    return {s.inputs["agentPoolName"]: s.inputs for s in p.by_type(AGENT_POOL)}


def test_every_gpu_row_has_the_temp_disk_of_its_size_page() -> None:
    assert {m.machine_type: m.temp_disk_gib for m in AZURE.machines} == TEMP_DISK_GIB


def test_the_rule_uses_the_spec_default_os_disk() -> None:
    assert NodePoolSpec.model_fields["disk_gb"].default == DEFAULT_OS_DISK_GB


@pytest.mark.parametrize("machine", AZURE.machines, ids=[m.machine_type for m in AZURE.machines])
def test_temporary_only_where_the_temp_disk_beats_the_default_os_disk(machine) -> None:
    from llmcloud.components.registry import cloud

    expected = 0 if machine.machine_type in OS_DISK_SIZES else TEMP_DISK_GIB[machine.machine_type]
    assert kubelet_temp_disk_gib(machine) == expected
    assert cloud("azure").ephemeral_local_ssd_gib(machine) == expected


def test_no_temp_disk_and_cpu_sizes_keep_the_os_disk() -> None:
    no_temp = Machine("Standard_X8_v9", "A10", 1, 8, 64)  # a size without a temp disk
    assert kubelet_temp_disk_gib(no_temp) == 0
    cpu = Machine("Standard_D8ds_v5", None, 0, 8, 32, temp_disk_gib=300)  # add-on pools are not GPU pools
    assert kubelet_temp_disk_gib(cpu) == 0


def test_the_example_plan_keeps_the_os_disk_on_both_gpu_pools() -> None:
    # NC4as_T4_v3 (176 GiB temp) and NC24ads_A100_v4 (64 GiB) do not beat the default OS disk
    pools = _pools(repo_plan("azure-example"))
    assert set(pools) == {"t4", "a100", "addons"}
    for name, inputs in pools.items():
        assert "kubeletDiskType" not in inputs, name  # AKS's default: OS
        assert inputs["osDiskType"] == "Managed"
    assert (pools["t4"]["osDiskSizeGB"], pools["a100"]["osDiskSizeGB"]) == (128, 256)


def test_the_prod_plan_puts_the_a10_pool_on_its_temp_disk() -> None:
    pools = _pools(repo_plan("azure-prod"))
    assert pools["a10"]["vmSize"] == "Standard_NV36ads_A10_v5"
    assert pools["a10"]["kubeletDiskType"] == "Temporary"
    assert (pools["a10"]["osDiskType"], pools["a10"]["osDiskSizeGB"]) == ("Managed", 200)  # the OS stays
    assert pools["a100"]["vmSize"] == "Standard_NC48ads_A100_v4"  # 128 GiB temp disk < its 500 GB OS disk
    assert "kubeletDiskType" not in pools["a100"]
    assert "kubeletDiskType" not in pools["addons"]


FITS_TEMP_NOT_OS = """
extends: base.yaml
cloud: azure
azure: {location: eastus, resource_group: llm-dev}
node_pools:
  a10: {accelerator: A10, max_nodes: 1, disk_gb: 50}
models:
  llama-8b: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: a10, max_model_len: 4096}
"""
# Four 8B replicas on NC96ads_A100_v4 (4 GPUs): 4 x 50 GiB of pods, more than its 256 GiB temp disk holds
FITS_NEITHER = """
extends: base.yaml
cloud: azure
azure: {location: eastus, resource_group: llm-dev}
node_pools:
  a100: {accelerator: A100-80GB, accelerators_per_node: 4, max_nodes: 1}
models:
  llama-8b:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: a100
    max_model_len: 8192
    tensor_parallel: 1
    replicas: {min: 4, max: 4}
"""


def test_a_model_that_fits_the_temp_disk_but_not_the_os_disk_passes(cli, write_stack) -> None:
    from llmcloud.components.serving_checks import disk_capacity_gib

    path = write_stack(FITS_TEMP_NOT_OS)
    pool = resolved(path).node_pools["a10"]
    assert (pool.machine_type, pool.disk_gb, pool.local_ssd_gib) == ("Standard_NV36ads_A10_v5", 50, 1440)
    assert disk_capacity_gib(pool)[0] == 1440.0
    result = cli("validate", path)
    assert result.exit_code == 0, result.stderr
    # The same model on the OS disk alone (a size that keeps kubeletDiskType OS) is refused with disk_gb's numbers
    on_os = write_stack(FITS_TEMP_NOT_OS.replace("accelerator: A10,", "accelerator: A100-80GB,"), "os")
    result = cli("validate", on_os)
    assert result.exit_code == 2
    assert "node_pools.a10.disk_gb: disk_gb 50 (47 GiB) cannot hold" in result.stderr


def test_a_model_that_fits_neither_is_refused_with_the_temp_disk_numbers(cli, write_stack) -> None:
    path = write_stack(FITS_NEITHER)
    result = cli("validate", path)
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "node_pools.a100.accelerator: Standard_NC96ads_A100_v4's 256 GiB of local SSD cannot hold" in err
    assert "200 GiB for model pods" in err and "= 259 GiB" in err
    assert "disk_gb to at least" not in err  # disk_gb is the OS disk only on this size


def test_the_rehearsal_and_unknown_models_use_the_temp_disk(write_stack) -> None:
    from llmcloud.components.k8s.weights import weights_volume_gib

    path = write_stack(FITS_TEMP_NOT_OS)
    r = resolved(path)
    pools = {p["name"]: p for p in rehearsal.pools(plan(path), r)}
    assert pools["a10"]["disk_gb"] == 1440  # NV36ads_A10_v5's temp disk, not the 50 GB OS disk
    assert pools["addons"]["disk_gb"] == 128  # the add-on pool's OS disk
    unknown = replace(r.models["llama-8b"], source="hf://someone/unknown-model")
    assert weights_volume_gib(unknown, r.node_pools["a10"]) == 864  # 60 % of the temp disk
    assert rehearsal._temp_disk_gib({"vmSize": "Standard_NV36ads_A10_v5", "kubeletDiskType": "OS"}) == 0
    assert rehearsal._temp_disk_gib({"vmSize": "Standard_Unknown", "kubeletDiskType": "Temporary"}) == 0
