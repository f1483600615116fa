"""GKE accelerator pools put ephemeral storage on the machine's bundled Local SSD (components/gcp/local_ssd.py):
the node pool's ephemeral_storage_local_ssd_config, the pool's capacity that validate checks, and the
rehearsal's allocatable ephemeral storage all come from the same count."""

from __future__ import annotations

import pytest
from helpers import resolved
from llmcloud.components import catalog
from llmcloud.components.engine import offline
from llmcloud.components.gcp.checks import NO_ON_DEMAND

GCP = catalog.load("gcp")
# Local SSD disks (375 GiB each) that come with the machine, from the GCP machine-type docs (A2 Ultra, A3,
# A4 bundle them; N1, A2 Standard and G2 take them optionally, TPU hosts have none), written out
# independently of the catalog so a wrong row fails here.
BUNDLED = {
    "a2-ultragpu-1g": 1,
    "a2-ultragpu-2g": 2,
    "a2-ultragpu-4g": 4,
    "a2-ultragpu-8g": 8,
    "a3-highgpu-1g": 2,
    "a3-highgpu-2g": 4,
    "a3-highgpu-4g": 8,
    "a3-highgpu-8g": 16,
    "a3-megagpu-8g": 16,
    "a3-ultragpu-8g": 32,
    "a4-highgpu-8g": 32,
}
ROWS = [m for m in GCP.machines if m.serving]


def _pool_stack(write_stack, machine) -> object:
    region = next(r for r in sorted(GCP.regions) if GCP.zones_offering(r, machine.accelerator))
    return write_stack(f"""
extends: base.yaml
gcp: {{project: llmcloud-demo, region: {region}}}
node_pools:
  p:
    accelerator: {machine.accelerator}
    accelerators_per_node: {machine.count}
    max_nodes: 1
    spot: {str(machine.machine_type in NO_ON_DEMAND).lower()}
    machine_type: {{gcp: {machine.machine_type}}}
""")


def _node_config(r) -> dict:
    from llmcloud.components.gcp.node_pool import GkeAcceleratorNodePool, GkeAcceleratorNodePoolArgs

    args = GkeAcceleratorNodePoolArgs(cluster_id="c", location=r.region, pool=r.node_pools["p"], service_account="sa@x")
    steps, _ = offline.capture(lambda: GkeAcceleratorNodePool("llm-p", args) and None, "test")
    (step,) = [s for s in steps if s.type == "gcp:container/nodePool:NodePool"]
    return step.inputs["nodeConfig"]


@pytest.mark.parametrize("machine", ROWS, ids=[m.machine_type for m in ROWS])
def test_bundled_local_ssd_backs_ephemeral_storage(write_stack, machine):
    r = resolved(_pool_stack(write_stack, machine))
    pool = r.node_pools["p"]
    count = BUNDLED.get(machine.machine_type, 0)
    assert pool.local_ssd_gib == count * 375
    cfg = _node_config(r)
    if count:
        assert cfg["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": count}
    else:
        assert "ephemeralStorageLocalSsdConfig" not in cfg
    assert cfg["diskSizeGb"] == pool.disk_gb  # the boot disk is still there, for the OS


def test_the_rehearsal_counts_local_ssd_as_the_nodes_ephemeral_storage(write_stack):
    from llmcloud.components.gcp import rehearsal

    with_ssd = {"machineType": "a3-highgpu-8g", "ephemeralStorageLocalSsdConfig": {"localSsdCount": 16}}
    without = {"machineType": "g2-standard-8", "diskSizeGb": 200}
    assert rehearsal._local_ssd_gib(with_ssd) == 6000
    assert rehearsal._local_ssd_gib(without) == 0
    assert rehearsal._local_ssd_gib({"ephemeralStorageLocalSsdConfig": {"localSsdCount": "<computed>"}}) == 0


def test_a_planned_a3_pool_gives_the_rehearsal_its_local_ssd_and_unknown_models_a_share_of_it(write_stack):
    from dataclasses import replace

    from helpers import plan
    from llmcloud.components.gcp import rehearsal
    from llmcloud.components.k8s.weights import weights_volume_gib

    path = write_stack("""
extends: base.yaml
node_pools:
  h100: {accelerator: H100, accelerators_per_node: 8, max_nodes: 1, disk_gb: 200}
  l4: {accelerator: L4, max_nodes: 1, disk_gb: 200}
models:
  llama-8b: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: h100, max_model_len: 8192}
""")
    r = resolved(path)
    pools = {p["name"]: p for p in rehearsal.pools(plan(path), r)}
    assert pools["h100"]["disk_gb"] == 6000  # a3-highgpu-8g: 16 x 375 GiB
    assert pools["l4"]["disk_gb"] == 200  # g2: the boot disk
    unknown = replace(r.models["llama-8b"], source="hf://someone/unknown-model")
    assert weights_volume_gib(unknown, r.node_pools["h100"]) == 3600  # 60 % of the local SSD
    assert weights_volume_gib(unknown, r.node_pools["l4"]) == 120  # 60 % of the boot disk
