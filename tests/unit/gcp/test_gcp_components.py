"""Mock-runtime tests of the Google Cloud components, asserted like policies."""

from __future__ import annotations

import json

import pytest
from helpers import get, one, plan, repo_plan, resolved
from llmcloud.components import catalog
from llmcloud.components.engine import offline

GCP = catalog.load("gcp")

# Expected machine family and GKE accelerator string per neutral accelerator (from the GCP GPU and
# TPU docs), written out independently of the catalog so a wrong catalog row fails here.
FAMILIES = {
    "T4": ("n1-standard-", "nvidia-tesla-t4"),
    "L4": ("g2-standard-", "nvidia-l4"),
    "A100-40GB": ("a2-", "nvidia-tesla-a100"),
    "A100-80GB": ("a2-ultragpu-", "nvidia-a100-80gb"),
    "H100": ("a3-", "nvidia-h100-80gb"),
    "H200": ("a3-ultragpu-", "nvidia-h200-141gb"),
    "B200": ("a4-highgpu-", "nvidia-b200"),
    "TPU-v5e": ("ct5lp-hightpu-", "tpu-v5-lite-podslice"),
    "TPU-v6e": ("ct6e-standard-", "tpu-v6e-slice"),
}
GPU_COUNTS = {  # accelerators per machine as GCP documents them, for shapes whose name carries the count
    "a2-highgpu-1g": 1,
    "a2-highgpu-2g": 2,
    "a2-highgpu-4g": 4,
    "a2-highgpu-8g": 8,
    "a2-megagpu-16g": 16,
    "a2-ultragpu-1g": 1,
    "a2-ultragpu-2g": 2,
    "a2-ultragpu-4g": 4,
    "a2-ultragpu-8g": 8,
    "a3-highgpu-1g": 1,
    "a3-highgpu-2g": 2,
    "a3-highgpu-4g": 4,
    "a3-highgpu-8g": 8,
    "a3-megagpu-8g": 8,
    "a3-ultragpu-8g": 8,
    "a4-highgpu-8g": 8,
    "g2-standard-24": 2,
    "g2-standard-48": 4,
    "g2-standard-96": 8,
    "ct5lp-hightpu-1t": 1,
    "ct5lp-hightpu-4t": 4,
    "ct5lp-hightpu-8t": 8,
    "ct6e-standard-1t": 1,
    "ct6e-standard-4t": 4,
    "ct6e-standard-8t": 8,
}


def _region_for(accelerator: str) -> str:
    return next(r for r in sorted(GCP.regions) if GCP.zones_offering(r, accelerator))


def _pool_stack(
    write_stack, accelerator: str, count: int, machine_type: str | None = None, spot: bool = False, env: str = "dev"
):
    override = f"\n    machine_type: {{gcp: {machine_type}}}" if machine_type else ""
    return write_stack(f"""
extends: base.yaml
environment: {env}
gcp: {{project: llmcloud-demo, region: {_region_for(accelerator)}}}
node_pools:
  p:
    accelerator: {accelerator}
    accelerators_per_node: {count}
    max_nodes: 1
    spot: {str(spot).lower()}{override}
""")


def _pool_steps(r, pool_name: str = "p"):
    from llmcloud.components.gcp.node_pool import GkeAcceleratorNodePool, GkeAcceleratorNodePoolArgs

    pool = r.node_pools[pool_name]
    steps, _ = offline.capture(
        lambda: (
            GkeAcceleratorNodePool(
                f"llm-{pool_name}",
                GkeAcceleratorNodePoolArgs(
                    cluster_id="c", location=r.region, pool=pool, service_account="sa@x", labels=r.labels
                ),
            )
            and None
        ),
        "test",
    )
    return one_step(steps, "gcp:container/nodePool:NodePool")


def one_step(steps, type_):
    found = [s for s in steps if s.type == type_]
    assert len(found) == 1
    return found[0]


SERVING_ROWS = [m for m in GCP.machines if m.serving]


@pytest.mark.parametrize("machine", SERVING_ROWS, ids=[f"{m.machine_type}-{m.count}" for m in SERVING_ROWS])
def test_every_catalog_machine_gets_its_family_accelerator_and_count(write_stack, machine):
    family, accelerator_id = FAMILIES[machine.accelerator]
    assert machine.machine_type.startswith(family)
    if machine.machine_type in GPU_COUNTS:
        assert machine.count == GPU_COUNTS[machine.machine_type]
    # Shapes sold without on-demand (A3 High 1/2/4g, A3 Ultra, A4) are planned as spot (issue 17 item 4).
    from llmcloud.components.gcp.checks import NO_ON_DEMAND

    r = resolved(
        _pool_stack(
            write_stack,
            machine.accelerator,
            machine.count,
            machine.machine_type,
            spot=machine.machine_type in NO_ON_DEMAND,
        )
    )
    pool = r.node_pools["p"]
    assert (pool.machine_type, pool.accelerators_per_node) == (machine.machine_type, machine.count)
    step = _pool_steps(r)
    cfg = step.inputs["nodeConfig"]
    assert cfg["machineType"] == machine.machine_type
    if machine.accelerator.startswith("TPU"):
        assert "guestAccelerators" not in cfg
        assert cfg["taints"] == [{"key": "google.com/tpu", "value": "present", "effect": "NO_SCHEDULE"}]
    else:
        expected_id = "nvidia-h100-mega-80gb" if machine.machine_type == "a3-megagpu-8g" else accelerator_id
        acc = cfg["guestAccelerators"][0]
        assert acc["type"] == expected_id
        assert acc["count"] == machine.count
        assert acc["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}
        assert cfg["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        # GKE sets cloud.google.com/gke-accelerator itself; a user value is refused (issue 17 item 17)
        assert "cloud.google.com/gke-accelerator" not in cfg["labels"]
    assert cfg["labels"]["llmcloud.dev/pool"] == "p"
    assert cfg["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


@pytest.mark.parametrize(
    ("accelerator", "count", "expected"),
    [
        ("L4", 1, "g2-standard-4"),
        ("L4", 2, "g2-standard-24"),
        ("L4", 8, "g2-standard-96"),
        ("T4", 1, "n1-standard-4"),
        ("A100-40GB", 1, "a2-highgpu-1g"),
        ("A100-80GB", 4, "a2-ultragpu-4g"),
        ("H100", 8, "a3-highgpu-8g"),
        ("TPU-v5e", 8, "ct5lp-hightpu-8t"),
        ("TPU-v6e", 4, "ct6e-standard-4t"),
    ],
)
def test_smallest_machine_is_chosen(write_stack, accelerator, count, expected):
    r = resolved(_pool_stack(write_stack, accelerator, count))
    assert r.node_pools["p"].machine_type == expected


def test_autoscaling_spot_and_ownership_of_size(write_stack):
    r = resolved(
        write_stack("""
extends: base.yaml
node_pools:
  l4: {accelerator: L4, min_nodes: 1, max_nodes: 5, spot: true}
""")
    )
    step = _pool_steps(r, "l4")
    assert step.inputs["autoscaling"] == {"totalMinNodeCount": 1, "totalMaxNodeCount": 5, "locationPolicy": "ANY"}
    assert step.inputs["nodeConfig"]["spot"] is True
    # one node per zone at creation would be 3 for min 1: the initial count is per zone, rounded up
    assert step.inputs["initialNodeCount"] == 1
    assert step.inputs["nodeLocations"] == list(r.node_pools["l4"].zones)


def test_multihost_tpu_slice_has_compact_placement_and_one_zone():
    p = repo_plan("gcp-tpu")
    multi = one(p, "gcp:container/nodePool:NodePool", "llm-tpu-lab-v5e-multihost")
    assert multi.inputs["placementPolicy"] == {"type": "COMPACT", "tpuTopology": "4x4"}
    assert len(multi.inputs["nodeLocations"]) == 1
    assert multi.inputs["autoscaling"]["totalMaxNodeCount"] == 4
    single = one(p, "gcp:container/nodePool:NodePool", "llm-tpu-lab-v5e")
    assert "placementPolicy" not in single.inputs


def test_cluster_is_private_with_workload_identity_and_no_default_pool():
    cluster = one(repo_plan("dev"), "gcp:container/cluster:Cluster")
    i = cluster.inputs
    assert i["removeDefaultNodePool"] is True
    assert i["workloadIdentityConfig"] == {"workloadPool": "llmcloud-demo.svc.id.goog"}
    assert i["privateClusterConfig"]["enablePrivateNodes"] is True
    assert i["releaseChannel"] == {"channel": "REGULAR"}
    assert i["location"] == "us-central1-a"  # dev: zonal control plane
    prod = one(repo_plan("prod"), "gcp:container/cluster:Cluster").inputs
    assert prod["location"] == "us-central1"  # prod: regional
    assert prod["masterAuthorizedNetworksConfig"]["cidrBlocks"][0]["cidrBlock"] == "203.0.113.0/24"
    # protect_data (prod) also protects the cluster; dev can be torn down at once (issue 17 item 10)
    assert prod["deletionProtection"] is True
    assert i["deletionProtection"] is False


def test_system_pool_is_small_and_uses_gke_metadata():
    system = one(repo_plan("dev"), "gcp:container/nodePool:NodePool", "llm-dev-system")
    assert system.inputs["nodeConfig"]["machineType"] == "e2-standard-4"
    assert system.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert "taints" not in system.inputs["nodeConfig"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_bucket_is_private_versioned_and_protected_only_in_prod(env):
    bucket = one(repo_plan(env), "gcp:storage/bucket:Bucket", f"llm-{env}-weights")
    i = bucket.inputs
    assert i["publicAccessPrevention"] == "enforced"
    assert i["uniformBucketLevelAccess"] is True
    assert i["versioning"] == {"enabled": True}
    assert i["forceDestroy"] is False
    assert i["location"] == "US-CENTRAL1"
    assert bucket.protect is (env == "prod")
    assert bucket.retain_on_delete is (env == "prod")
    # besides the buckets, only the project-wide KEDA metrics binding that every environment shares
    others = [s for s in repo_plan(env).resources() if s.type != "gcp:storage/bucket:Bucket"]
    assert [s.name for s in others if s.retain_on_delete] == [f"llm-{env}-serving-metrics-keda"]


def test_cmek_is_used_when_given(write_stack):
    key = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
    p = plan(
        write_stack(f"""
extends: base.yaml
buckets:
  weights: {{kms_key: {key}}}
""")
    )
    assert one(p, "gcp:storage/bucket:Bucket").inputs["encryption"] == {"defaultKmsKeyName": key}


def test_workload_identity_binding_reads_bucket_without_keys():
    p = repo_plan("dev")
    wi = one(p, "gcp:serviceaccount/iAMMember:IAMMember")
    assert wi.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert wi.inputs["member"] == "serviceAccount:llmcloud-demo.svc.id.goog[llmcloud/model-server-dev]"
    read = one(p, "gcp:storage/bucketIAMMember:BucketIAMMember", "llm-dev-serving-read-0")
    assert read.inputs["role"] == "roles/storage.objectViewer"
    assert read.inputs["bucket"] == "llmcloud-demo-dev-gcp-weights"
    sa = one(p, "kubernetes:core/v1:ServiceAccount")
    assert get(sa.inputs, "metadata.name") == "model-server-dev"
    assert get(sa.inputs, "metadata.namespace") == "llmcloud"
    assert not p.by_type("gcp:serviceaccount/key:Key"), "no service account keys, ever"
    text = json.dumps(p.to_json())
    assert "private_key" not in text and "privateKey" not in text


def test_labels_on_every_gcp_resource_that_takes_them():
    p = repo_plan("prod")
    for step in p.resources("gcp:"):
        labels = (
            step.inputs.get("labels")
            or step.inputs.get("resourceLabels")
            or step.inputs.get("nodeConfig", {}).get("resourceLabels")
        )
        if step.type in (
            "gcp:storage/bucket:Bucket",
            "gcp:container/cluster:Cluster",
            "gcp:container/nodePool:NodePool",
        ):
            assert labels and labels["llmcloud-stack"] == "prod-gcp", step.urn
            assert labels["llmcloud-environment"] == "prod"
            assert labels["team"] == "ml-platform"
    provider = one(p, "pulumi:providers:gcp")
    assert "llmcloud-stack" in str(provider.inputs["defaultLabels"])


def test_every_child_has_a_parent_component():
    p = repo_plan("dev")
    components = {s.urn for s in p.steps if not s.custom}
    for step in p.resources("gcp:"):
        assert step.parent in components, f"{step.urn} is not inside a component"


def test_kubeconfig_uses_the_gke_auth_plugin():
    import yaml
    from llmcloud.components.gcp.cluster import kubeconfig

    config = yaml.safe_load(kubeconfig("llm-dev", "34.1.2.3", "Q0E="))
    assert config["clusters"][0]["cluster"]["server"] == "https://34.1.2.3"
    user = config["users"][0]["user"]
    assert set(user) == {"exec"} and user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["exec"]["provideClusterInfo"] is True
    assert repo_plan("dev").outputs["kubeconfig"] == "[secret]"
