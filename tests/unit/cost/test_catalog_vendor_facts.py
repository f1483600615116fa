"""Every accelerator row carries its vendor facts (nothing is inferred from `kind`), and they reach the
pools: the taint the cloud's pool builder writes and the toleration the model server gets are one value."""

from __future__ import annotations

import pytest
import yaml
from helpers import resolved
from llmcloud.components import catalog
from llmcloud.components.catalog import VENDOR_FACTS, Taint
from llmcloud.components.registry import CLOUDS


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_accelerator_row_has_every_vendor_fact(cloud):
    raw = yaml.safe_load((catalog.DATA / f"{cloud}.yaml").read_text(encoding="utf-8"))
    for name, row in raw["accelerators"].items():
        assert [f for f in VENDOR_FACTS if f not in row] == [], name
        acc = catalog.load(cloud).accelerators[name]
        assert acc.taint.key == acc.k8s_resource and acc.cores_per_device >= 1


def test_a_gpu_without_vendor_facts_is_refused(tmp_path, monkeypatch):
    raw = yaml.safe_load((catalog.DATA / "azure.yaml").read_text(encoding="utf-8"))
    raw["accelerators"]["MI300X"] = {"id": "AMD MI300X", "kind": "gpu", "memory_gib": 192}
    (tmp_path / "azure.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("LLMCLOUD_CATALOG_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"accelerators\.MI300X lacks k8s_resource, vendor, taint"):
        catalog.load("azure")


def test_schema_accelerators_come_from_the_catalogs():
    from llmcloud.components.spec.model import NodePoolSpec

    allowed = set(NodePoolSpec.model_fields["accelerator"].annotation.__args__)
    in_catalogs = {a for c in CLOUDS for a in catalog.load(c).accelerators}
    assert allowed == in_catalogs | {"none", "auto"}


def test_taint_format_round_trips():
    t = Taint.parse("aws.amazon.com/neuron=present:NoSchedule")
    assert (t.key, t.value, t.effect, t.provider_effect) == (
        "aws.amazon.com/neuron",
        "present",
        "NoSchedule",
        "NO_SCHEDULE",
    )
    assert str(t) == "aws.amazon.com/neuron=present:NoSchedule"
    assert t.toleration() == {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"}
    with pytest.raises(ValueError, match="is not key=value"):
        Taint.parse("nvidia.com/gpu=present")


def test_pools_carry_the_rows_facts():
    r = resolved("stacks/dev.yaml")
    pool = r.node_pools["l4"]
    acc = catalog.load("gcp").accelerators["L4"]
    assert (pool.vendor, pool.taint, pool.image_family, pool.device_plugin) == ("nvidia", acc.taint, "gpu", "nvidia")
