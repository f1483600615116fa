"""A test-only cloud plugs in through the same door as the real ones (registry.register + a catalog
file) and plans a trivial stack offline, priced: nothing else in llmcloud needs to know about it."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from llmcloud.components import registry
from llmcloud.components.cloud import MEMBERS, BaseCloud, CiLogin, Cloud
from llmcloud.components.gateway_checks import Product

CATALOG = """\
cloud: fake
as_of: "2026-12-01"
sources: [test]
accelerators: {}
machines: []
cpu_machines:
  - {machine_type: fake-std-4, vcpus: 4, memory_gib: 16}
regions:
  fake-1:
    zones:
      fake-1a: []
prices:
  fake-1:
    cpu_machines:
      fake-std-4: [0.1, 0.05]
services: {}
"""

STACK = """\
environment: dev
cloud: gcp
node_pools:
  cpu: {accelerator: none, min_nodes: 1, max_nodes: 2}
gateway: {domain: api.example.com, keys: {default: {}}}
"""


class FakeCloud(BaseCloud):
    name = "fake"
    title = "Fake cloud"
    sdk_module = "pulumi"  # the fake builds only core Pulumi components
    pip_extra = "fake"
    token_prefix = "fake"
    default_system_machine = "fake-std-4"
    data_resource_types = ("fake:storage:Bucket",)
    unsupported = MappingProxyType({"tpu": "the fake cloud has no TPUs"})
    credentials_help = "none needed"
    front_door_products = MappingProxyType({"load_balancer": Product("Fake load balancer", 3_600, True)})
    ci_login = CiLogin(
        "Log in to the fake cloud",
        "fake/login",
        MappingProxyType({}),
        "FAKE_OIDC_TOKEN",
        "fake",
        ("true",),
        "fake",
        ("0" * 40, "v1.0.0"),
    )

    def region(self, spec: Any) -> str | None:
        return "fake-1"

    def build_platform(self, r: Any) -> Any:
        import pulumi
        from llmcloud.components.platform import Platform

        class FakePlatform(pulumi.ComponentResource):
            def __init__(self, name: str) -> None:
                super().__init__("llmcloud:fake:Platform", name, None, None)
                # A "cloud resource" of the fake provider: the mock engine accepts any type token.
                pulumi.CustomResource(
                    "fake:container:Cluster", f"{name}-cluster", {"tags": {}}, pulumi.ResourceOptions(parent=self)
                )
                self.register_outputs({})

        FakePlatform(f"llm-{r.environment}-platform")
        return Platform(
            cluster_name=pulumi.Output.from_input("fake-cluster"),
            kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"),
            bucket_urls={k: pulumi.Output.from_input(f"fake://{b.physical_name}") for k, b in r.buckets.items()},
            service_account_annotations={},
        )

    def build_front_door(self, r: Any, platform: Any, provider: Any, labels: dict[str, str], opts: Any) -> Any:
        import pulumi

        class FakeFrontDoor(pulumi.ComponentResource):
            def __init__(self, name: str) -> None:
                super().__init__("llmcloud:fake:FrontDoor", name, None, opts)
                self.endpoint = pulumi.Output.from_input(f"https://{r.gateway.domain}")
                self.api_keys = pulumi.Output.secret({"default": "k"})
                self.dns_records = pulumi.Output.from_input([])
                self.register_outputs({"endpoint": self.endpoint})

        return FakeFrontDoor(f"llm-{r.environment}-front-door")

    def pricers(self) -> Any:
        from llmcloud.components.cost import Band, Line

        def platform(step: Any, ctx: Any) -> Any:
            yield Line("cluster", "fake control plane", "cluster-hour", 0.2, Band(1, 1, 1))

        return {"fake:container:Cluster": platform}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    (tmp_path / "fake.yaml").write_text(CATALOG)
    monkeypatch.setenv("LLMCLOUD_CATALOG_DIR", str(tmp_path))
    registry.register(FakeCloud())
    yield registry.cloud("fake")
    registry.unregister("fake")


def test_the_fake_is_a_cloud(fake):
    assert isinstance(fake, Cloud) and all(hasattr(fake, m) for m in MEMBERS)
    assert "fake" in registry.names() and registry.unsupported()[("fake", "tpu")]


def test_the_fake_cloud_plans_and_prices_a_trivial_stack_offline(fake, tmp_path):
    from llmcloud.components.cost import cost_for
    from llmcloud.components.engine import offline
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import load_stack

    path = tmp_path / "trivial.yaml"
    path.write_text(STACK)
    r = resolve(load_stack(str(path)), "fake")
    assert (r.cloud, r.region, r.stack_name, r.system_machine_type) == ("fake", "fake-1", "dev-fake", "fake-std-4")
    assert r.buckets["weights"].physical_name == "llmcloud-dev-fake-weights"
    assert r.gateway.product == "Fake load balancer"
    plan = offline.run(r)
    types = {s.type for s in plan.steps}
    assert {
        "llmcloud:fake:Platform",
        "fake:container:Cluster",
        "llmcloud:fake:FrontDoor",
        "kubernetes:core/v1:Namespace",
    } <= types
    assert not any(t.startswith(("gcp:", "aws:", "azure-native:")) for t in types)
    assert plan.outputs["endpoint"] == "https://api.example.com" and plan.outputs["cloud"] == "fake"
    cost = cost_for(plan, r)
    assert cost["lines"][0]["sku"] == "fake control plane" and cost["monthly"]["floor"] == pytest.approx(146.0)


def test_the_fake_cloud_refuses_what_it_lists_as_unsupported(fake, tmp_path):
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import StackErrors, load_stack

    path = tmp_path / "tpu.yaml"
    path.write_text(STACK.replace("accelerator: none", "accelerator: TPU-v5e, accelerators_per_node: 4"))
    with pytest.raises(StackErrors, match="the fake cloud has no TPUs"):
        resolve(load_stack(str(path)), "fake")
