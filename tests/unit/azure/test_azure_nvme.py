"""AKS GPU pools on sizes with local NVMe data disks (NC A100 v4, ND H100/H200 v5): Azure Container Storage v2 is
installed as a cluster extension, its local NVMe StorageClass is created, and the model pods' Hub-download volume
is a generic ephemeral volume there instead of an emptyDir (components/azure/nvme.py). By default on pools of a
fixed size only (the cluster autoscaler cannot add a node for a pod waiting on such a volume); `azure.local_nvme:
true` puts every NVMe pool there, `false` none. The bundled stacks' NVMe pools autoscale: they keep the emptyDir."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from helpers import one, plan, repo_plan, resolved
from llmcloud.components import catalog
from llmcloud.components.azure.nvme import PROVISIONER, STORAGE_CLASS, nvme_gib
from llmcloud.components.k8s import serving
from llmcloud.components.k8s.weights import ephemeral_storage_gib, weights_volume_gib

REPO = Path(__file__).resolve().parents[3]
AZURE = catalog.load("azure")
EXTENSION = "azure-native:kubernetesconfiguration:Extension"
STORAGE_CLASS_TYPE = "kubernetes:storage.k8s.io/v1:StorageClass"
# NVMe data disks per size as the catalog header gives them (NC A100 v4: 960 GiB per GPU; ND H100/H200 v5:
# 8 x 3.5 TB), written out so that a changed row or rule fails here; every other GPU size has none.
NVME_GIB = {
    "Standard_NC24ads_A100_v4": 960,
    "Standard_NC48ads_A100_v4": 1920,
    "Standard_NC96ads_A100_v4": 3840,
    "Standard_ND96isr_H100_v5": 28000,
    "Standard_ND96isr_H200_v5": 28000,
}


# what the stack's typed `azure:` block answers, and two node pool specs
ON, OFF, UNSET = (SimpleNamespace(local_nvme=v) for v in (True, False, None))
FIXED = SimpleNamespace(min_nodes=2, max_nodes=2)
AUTOSCALED = SimpleNamespace(min_nodes=1, max_nodes=3)
# azure-example's A100 pool, and the same pool at a fixed size
A100_AUTOSCALED = (
    "  a100:\n    accelerator: A100-80GB\n    accelerators_per_node: 1\n    min_nodes: 0\n    max_nodes: 2\n"
)
A100_FIXED = A100_AUTOSCALED.replace("min_nodes: 0", "min_nodes: 2")
A100_ONE_NODE_UP = A100_AUTOSCALED.replace("min_nodes: 0", "min_nodes: 1")  # 1..2: holds llama-8b's 1 replica


def _variant(name: str, tmp_path_factory, option: bool | None = None, a100: str | None = None) -> Path:
    """A bundled Azure stack with `azure.local_nvme` set (None: left unset) and, with `a100`, azure-example's
    A100 pool replaced by that text."""
    stacks = tmp_path_factory.mktemp(name) / "stacks"
    stacks.mkdir()
    (stacks / "base.yaml").write_text((REPO / "stacks" / "base.yaml").read_text())
    text = (REPO / "stacks" / f"{name}.yaml").read_text()
    assert text.count("\nazure:\n") == 1
    if option is not None:
        text = text.replace("\nazure:\n", f"\nazure:\n  local_nvme: {str(option).lower()}\n")
    if a100:
        assert text.count(A100_AUTOSCALED) == 1
        text = text.replace(A100_AUTOSCALED, a100)
    path = stacks / f"{name}.yaml"
    path.write_text(text)
    return path


def _opt_in(name: str, tmp_path_factory) -> Path:
    """`azure.local_nvme: true`; azure-example's A100 pool then starts with the node its llama-8b replica
    needs (1..2: still autoscaled), since the autoscaler adds none for it (test_true_on_..._is_refused)."""
    return _variant(name, tmp_path_factory, option=True, a100=A100_ONE_NODE_UP if name == "azure-example" else None)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return _opt_in("azure-example", tmp_path_factory)


@pytest.fixture(scope="module")
def example_plan(example):
    return plan(example)


@pytest.mark.parametrize("machine", AZURE.machines, ids=[m.machine_type for m in AZURE.machines])
def test_only_the_nvme_sizes_get_a_local_volume(machine) -> None:
    from llmcloud.components.registry import cloud

    azure = cloud("azure")
    gib = NVME_GIB.get(machine.machine_type, 0)
    nvme = (STORAGE_CLASS, gib) if gib else None
    assert nvme_gib(machine) == gib
    # default: pools of a fixed size only (no block, or the option unset)
    assert azure.local_volume(machine, None, FIXED) == nvme
    assert azure.local_volume(machine, UNSET, FIXED) == nvme
    assert azure.local_volume(machine, UNSET, AUTOSCALED) is None
    assert azure.local_volume(machine, UNSET) is None  # no pool spec: treated as one that autoscales
    # true: every pool on an NVMe size; false: none; a size without NVMe never
    assert azure.local_volume(machine, ON, AUTOSCALED) == nvme
    assert azure.local_volume(machine, OFF, FIXED) is None


def test_the_bundled_stacks_keep_the_empty_dir() -> None:
    """Both bundled Azure stacks have an A100 pool the autoscaler grows (0..2, 1..3): no NVMe by default."""
    for name in ("azure-example", "azure-prod"):
        p = repo_plan(name)
        assert p.by_type(EXTENSION) == [] and p.by_type(STORAGE_CLASS_TYPE) == [], name
    weights = next(v for v in _pod_spec(repo_plan("azure-example"), "llama-8b")["volumes"] if v["name"] == "weights")
    assert set(weights) == {"name", "emptyDir"}


@pytest.fixture(scope="module")
def fixed_plan(tmp_path_factory):
    """azure-example with its A100 pool at two nodes (min = max) and `azure.local_nvme` unset: NVMe by default."""
    return plan(_variant("azure-example", tmp_path_factory, a100=A100_FIXED))


def test_a_fixed_size_nvme_pool_gets_local_nvme_by_default(fixed_plan) -> None:

    p = fixed_plan
    assert one(p, EXTENSION).inputs["extensionType"] == "microsoft.azurecontainerstoragev2"
    sc = one(p, STORAGE_CLASS_TYPE)
    assert "values: [a100]" in sc.inputs["metadata"]["annotations"]["storageoperator.acstor.io/nodeAffinity"]
    weights = next(v for v in _pod_spec(p, "llama-8b")["volumes"] if v["name"] == "weights")
    claim = weights["ephemeral"]["volumeClaimTemplate"]
    assert claim["spec"]["storageClassName"] == STORAGE_CLASS
    # a generic ephemeral volume: the driver's webhook admits it as Pod-owned, no accept-ephemeral annotation
    assert "annotations" not in claim["metadata"]
    _validate_strict(p)


def test_local_nvme_false_keeps_the_empty_dir_on_a_fixed_size_pool(tmp_path_factory) -> None:
    p = plan(_variant("azure-example", tmp_path_factory, option=False, a100=A100_FIXED))
    assert p.by_type(EXTENSION) == [] and p.by_type(STORAGE_CLASS_TYPE) == []
    weights = next(v for v in _pod_spec(p, "llama-8b")["volumes"] if v["name"] == "weights")
    assert set(weights) == {"name", "emptyDir"}


def test_other_clouds_have_no_local_volume() -> None:
    from llmcloud.components.registry import cloud

    for name in ("gcp", "aws"):
        for machine in catalog.load(name).machines:
            assert cloud(name).local_volume(machine, ON, FIXED) is None, (name, machine.machine_type)


def test_the_example_plan_installs_container_storage_for_its_a100_pool(example_plan) -> None:
    p = example_plan
    ext = one(p, EXTENSION)
    assert ext.inputs["extensionName"] == "acstor"
    assert ext.inputs["extensionType"] == "microsoft.azurecontainerstoragev2"
    assert (ext.inputs["clusterRp"], ext.inputs["clusterResourceName"]) == (
        "Microsoft.ContainerService",
        "managedClusters",
    )
    assert ext.inputs["configurationSettings"] == {"enable-azure-container-storage": "true"}
    assert ext.inputs["autoUpgradeMinorVersion"] is True
    sc = one(p, STORAGE_CLASS_TYPE)
    assert sc.inputs["provisioner"] == PROVISIONER
    assert sc.inputs["metadata"]["name"] == STORAGE_CLASS
    assert sc.inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    affinity = yaml.safe_load(sc.inputs["metadata"]["annotations"]["storageoperator.acstor.io/nodeAffinity"])
    term = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    # The CSI driver runs on the NVMe pool only: the T4 pool (NC4as_T4_v3) has no NVMe data disks
    assert term["matchExpressions"] == [{"key": "kubernetes.azure.com/agentpool", "operator": "In", "values": ["a100"]}]
    # The extension waits for the agent pools (it deploys onto them), the StorageClass for the extension
    pools = [s for s in p.by_type("azure-native:containerservice:AgentPool")]
    assert all(p.depends_on(ext, pool.urn) for pool in pools)
    assert p.depends_on(sc, ext.urn)


T4_ONLY = """
extends: base.yaml
cloud: azure
azure: {location: eastus, resource_group: llm-dev}
node_pools:
  t4: {accelerator: T4, accelerators_per_node: 1, max_nodes: 1}
models:
  qwen-7b:
    source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ
    node_pool: t4
    quantization: awq
    max_model_len: 4096
"""


def test_a_stack_without_nvme_pools_has_neither(write_stack) -> None:
    """Even with `local_nvme: true`, and with the T4 pool at a fixed size: NC4as_T4_v3 has no NVMe data disks."""
    text = T4_ONLY.replace("resource_group: llm-dev}", "resource_group: llm-dev, local_nvme: true}")
    text = text.replace("max_nodes: 1}", "min_nodes: 1, max_nodes: 1}")
    assert "local_nvme: true" in text and "min_nodes: 1" in text
    p = plan(write_stack(text))
    assert p.by_type(EXTENSION) == [] and p.by_type(STORAGE_CLASS_TYPE) == []
    weights = next(v for v in _pod_spec(p, "qwen-7b")["volumes"] if v["name"] == "weights")
    assert set(weights) == {"name", "emptyDir"}


def test_the_prod_plan_puts_the_a100_pool_on_nvme(tmp_path_factory) -> None:
    p = plan(_opt_in("azure-prod", tmp_path_factory))
    sc = one(p, STORAGE_CLASS_TYPE)
    assert "values: [a100]" in sc.inputs["metadata"]["annotations"]["storageoperator.acstor.io/nodeAffinity"]
    assert one(p, EXTENSION).inputs["extensionType"] == "microsoft.azurecontainerstoragev2"


def _pod_spec(p, model: str) -> dict:
    dep = one(p, "kubernetes:apps/v1:Deployment", f"{model}-deployment")
    return dep.inputs["spec"]["template"]["spec"]


def test_model_pods_on_the_nvme_pool_download_into_a_generic_ephemeral_volume(example, example_plan) -> None:
    p = example_plan
    r = resolved(example)
    pool = r.node_pools["a100"]
    assert (pool.local_volume_class, pool.local_volume_gib) == (STORAGE_CLASS, 960)
    spec = _pod_spec(p, "llama-8b")
    weights = next(v for v in spec["volumes"] if v["name"] == "weights")
    assert "emptyDir" not in weights
    claim = weights["ephemeral"]["volumeClaimTemplate"]["spec"]
    size = weights_volume_gib(r.models["llama-8b"], pool)
    assert claim == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": STORAGE_CLASS,
        "resources": {"requests": {"storage": f"{size}Gi"}},
    }
    # The PVC is not the node's ephemeral storage: the pod requests only home, tmp and the writable layer
    container = spec["containers"][0]
    eph = ephemeral_storage_gib(r.models["llama-8b"], pool)
    assert eph == serving.HOME_GIB + serving.TMP_GIB + serving.WRITABLE_LAYER_GIB
    assert container["resources"]["requests"]["ephemeral-storage"] == f"{eph}Gi"
    # The T4 pool keeps its emptyDir (no NVMe), sized and counted in ephemeral-storage as before
    t4 = next(v for v in _pod_spec(p, "qwen-7b")["volumes"] if v["name"] == "weights")
    assert set(t4) == {"name", "emptyDir"}


def test_weights_larger_than_the_nvme_are_refused_with_the_numbers(example) -> None:
    from llmcloud.components import serving_checks
    from llmcloud.components.spec import load_stack

    path = example
    r = resolved(path)
    assert serving_checks._disk_errors(load_stack(str(path)), r) == []
    small = replace(r, node_pools={**r.node_pools, "a100": replace(r.node_pools["a100"], local_volume_gib=10)})
    errors = serving_checks._disk_errors(load_stack(str(path)), small)
    assert len(errors) == 1
    text = " ".join(str(errors[0]).split())
    size = weights_volume_gib(r.models["llama-8b"], r.node_pools["a100"])
    assert "Standard_NC24ads_A100_v4's 10 GiB of local NVMe cannot hold" in text
    assert f"{size} GiB (model llama-8b: weights {size} GiB per pod)" in text
    assert errors[0].path == ("node_pools", "a100", "accelerator")


def test_an_unknown_hub_model_gets_a_share_of_the_nvme(example) -> None:
    r = resolved(example)
    unknown = replace(r.models["llama-8b"], source="hf://someone/unknown-model")
    assert weights_volume_gib(unknown, r.node_pools["a100"]) == 576  # 60 % of 960 GiB


def test_the_rehearsal_lists_the_extensions_resource_provider(example_plan) -> None:
    from llmcloud.components.azure import rehearsal

    needs = rehearsal.required_services(example_plan, None)
    names = {n["name"]: n["why"] for n in needs}
    assert names["resource provider Microsoft.KubernetesConfiguration"] == "Extension"


def test_the_opt_in_objects_pass_kubernetes_validate_strict(example_plan) -> None:
    """The bundled stacks' NVMe pools autoscale, so the CRD/kubernetes-validate sweep over them never sees these:
    the StorageClass and the Deployment with its generic ephemeral volume are validated here (strict)."""
    _validate_strict(example_plan)


def _validate_strict(plan) -> None:
    """The plan's StorageClass and Deployments pass kubernetes-validate --strict (and both are there)."""
    import kubernetes_validate
    from llmcloud.cli.manifests import objects

    checked = []
    for obj in objects(plan):
        if obj["kind"] in ("StorageClass", "Deployment"):
            kubernetes_validate.validate(obj, "1.31", strict=True)
            checked.append(obj["kind"])
    assert "StorageClass" in checked and "Deployment" in checked


def test_true_on_a_pool_that_starts_empty_is_refused(tmp_path_factory, cli) -> None:
    """azure-example as bundled (A100 pool 0..2, llama-8b min 1 replica from the Hub) with `local_nvme: true`:
    the replica would wait for a node the autoscaler never adds."""
    path = _variant("azure-example", tmp_path_factory, option=True)
    result = cli("validate", path)
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert (
        "node_pools.a100.min_nodes: with azure.local_nvme: true the weights volumes of pool a100's model pods are "
        "on local NVMe, and the cluster autoscaler adds no node for a pod waiting on such a volume: the minimum "
        "replicas (llama-8b: 1) need 1 node, min_nodes is 0"
    ) in text
    assert "set node_pools.a100.min_nodes to at least 1" in text
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t.strip() == "a100:")
    assert f"{path}:" in text and "Traceback" not in result.stderr
    assert any(f":{n}:" in text for n in range(line, line + 6)), text
