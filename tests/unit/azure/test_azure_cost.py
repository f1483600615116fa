"""Azure pricers, hand-computed from components/catalog/data/azure.yaml (eastus, 730 h/month)."""

from __future__ import annotations

import pytest
from llmcloud.components.cost import cost_for, price_plan

BASE = """
extends: base.yaml
cloud: azure
azure: {{location: eastus, tier: {tier}}}
node_pools:
  t4: {{accelerator: T4, min_nodes: 0, max_nodes: 2, spot: true}}
  a100: {{accelerator: A100-80GB, min_nodes: 0, max_nodes: 2}}
models:
  small: {{source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ, node_pool: t4, quantization: awq, max_model_len: 4096,
          replicas: {{min: 0, max: 2}}}}
  big: {{source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: a100, max_model_len: 8192,
        replicas: {{min: 1, max: 2}}}}
"""


def _cost(azure_plan, tier: str, name: str = "dev", text: str = BASE):
    r, p = azure_plan(text.format(tier=tier), name)
    return cost_for(p, r)


def _line(cost, resource: str, sku_prefix: str = ""):
    lines = [x for x in cost["lines"] if x["resource"] == resource and x["sku"].startswith(sku_prefix)]
    exact = [x for x in lines if x["sku"] == sku_prefix]
    (line,) = exact or lines
    return line


def test_gpu_pools(azure_plan):
    cost = _cost(azure_plan, "Standard")
    a100 = _line(cost, "node_pools.a100")
    assert a100["sku"] == "Standard_NC24ads_A100_v4"
    assert a100["unit_price"] == 3.673
    assert a100["quantity"] == {"floor": 0, "expected": 1, "max": 2}
    assert a100["monthly"] == {"floor": 0.0, "expected": 2681.29, "max": 5362.58}  # 3.673 × 730 × n
    t4 = _line(cost, "node_pools.t4")
    assert t4["sku"] == "Standard_NC4as_T4_v3 (spot)"
    assert t4["unit_price"] == 0.0627  # the Spot price, not 0.526
    assert t4["monthly"] == {"floor": 0.0, "expected": 0.0, "max": 91.54}  # 0.0627 × 730 × 2


def test_system_pool_from_the_cluster(azure_plan):
    line = _line(_cost(azure_plan, "Standard"), "cluster.system_pool")
    assert line["sku"] == "Standard_D4s_v5"
    assert line["quantity"] == {"floor": 1, "expected": 1, "max": 3}
    assert line["monthly"] == {"floor": 140.16, "expected": 140.16, "max": 420.48}  # 0.192 × 730


@pytest.mark.parametrize(
    "tier,hourly,monthly", [("Free", 0.0, 0.0), ("Standard", 0.10, 73.0), ("Premium", 0.60, 438.0)]
)
def test_cluster_tier_fee(azure_plan, tier, hourly, monthly):
    line = _line(_cost(azure_plan, tier, f"tier-{tier.lower()}"), "cluster")
    assert line["sku"] == f"AKS {tier} tier"
    assert line["unit_price"] == hourly
    assert line["monthly"] == {"floor": monthly, "expected": monthly, "max": monthly}


def test_nat_gateway_public_ip_and_storage(azure_plan):
    cost = _cost(azure_plan, "Standard")
    assert _line(cost, "network.nat", "NAT gateway data")["monthly"]["floor"] == 2.25  # 50 GB × 0.045
    assert _line(cost, "network.nat", "NAT gateway")["monthly"]["floor"] == 32.85  # 0.045 × 730
    assert _line(cost, "network.nat", "Standard public IPv4")["monthly"]["floor"] == 3.65  # 0.005 × 730
    storage = _line(cost, "buckets.weights")
    assert storage["sku"] == "Blob Storage Hot LRS"
    assert storage["monthly"]["floor"] == 1.84  # 100 GB × 0.0184
    assert not [x for x in cost["lines"] if x["resource"] == "network.load_balancer"]
    assert cost["unpriced"] == []


def test_totals(azure_plan):
    free = _cost(azure_plan, "Free", "tier-free")["monthly"]
    standard = _cost(azure_plan, "Standard")["monthly"]
    # floor: system 140.16 + add-on pool 140.16 + NAT 32.85 + 2.25 + IP 3.65 + storage 1.84 + egress 10 GB × 0.087
    #        + front door: LB rule 18.25 + its IP 3.65 + 10 GB × 0.005 + DNS zone 0.50 (+ 73 Standard fee)
    assert free["floor"] == 344.23
    assert standard["floor"] == 417.23
    assert standard["expected"] == round(417.23 + 2681.29, 2)
    assert standard["max"] == round(
        2 * 420.48 + 73 + 32.85 + 2.25 + 3.65 + 1.84 + 0.87 + 21.95 + 0.5 + 5362.58 + 91.54, 2
    )
    assert standard["floor"] - free["floor"] == 73.0


def test_prod_prices_zrs_storage(azure_plan):
    cost = _cost(azure_plan, "Standard", "prod")
    storage = _line(cost, "buckets.weights")
    assert storage["sku"] == "Blob Storage Hot ZRS"
    assert storage["monthly"]["floor"] == 2.3  # 100 GB × 0.023


def test_existing_subnet_prices_the_outbound_load_balancer(azure_plan):
    text = BASE.replace("tier: {tier}}}", "tier: {tier}, subnet_id: /subscriptions/s/x/subnets/aks}}")
    cost = _cost(azure_plan, "Standard", "dev", text)
    lb = _line(cost, "network.load_balancer", "Standard Load Balancer (outbound)")
    assert lb["monthly"]["floor"] == 18.25  # 0.025 × 730
    assert _line(cost, "network.load_balancer", "Standard Load Balancer data")["monthly"]["floor"] == 0.25
    assert not [x for x in cost["lines"] if x["resource"] == "network.nat"]


def test_pool_found_by_its_label_not_its_name(azure_plan):
    _, p = azure_plan(BASE.format(tier="Standard"), "dev")
    step = next(s for s in p.by_type("azure-native:containerservice:AgentPool") if s.name.endswith("-t4"))
    step.inputs["nodeLabels"] = {**step.inputs["nodeLabels"], "llmcloud.dev/pool": "renamed"}
    try:
        cost = price_plan(p, region="eastus", expected_nodes={"renamed": 1})
        assert _line(cost, "node_pools.renamed")["quantity"]["expected"] == 1
    finally:
        step.inputs["nodeLabels"]["llmcloud.dev/pool"] = "t4"


def test_on_demand_price_when_not_spot(azure_plan):
    text = BASE.replace("spot: true", "spot: false")
    cost = _cost(azure_plan, "Standard", "dev", text)
    t4 = _line(cost, "node_pools.t4")
    assert (t4["sku"], t4["unit_price"]) == ("Standard_NC4as_T4_v3", 0.526)


def test_addon_pool_and_dns_zone(azure_plan):
    cost = _cost(azure_plan, "Standard")
    addons = _line(cost, "node_pools.addons")
    assert addons["sku"] == "Standard_D4s_v5"
    assert addons["quantity"] == {"floor": 1, "expected": 1, "max": 3}
    assert addons["monthly"]["floor"] == 140.16  # 0.192 × 730, always on: Envoy and the controllers run there
    zone = _line(cost, "front_door", "Azure DNS public zone")
    assert zone["monthly"]["floor"] == 0.5  # created because the stack names no gateway.dns_zone


def test_prod_egress_through_a_standard_v2_nat_gateway(azure_plan):
    cost = _cost(azure_plan, "Standard", "prod")
    # StandardV2 costs what Standard costs (nat-sku); its public IP is priced as a Standard one
    assert _line(cost, "network.nat", "NAT gateway")["monthly"]["floor"] == 32.85  # 0.045 × 730
    assert _line(cost, "network.nat", "StandardV2 public IPv4 (static)")["monthly"]["floor"] == 3.65  # 0.005 × 730
    assert _line(cost, "network.nat", "NAT gateway data processed")["unit_price"] == 0.045
    assert not [x for x in cost["lines"] if x["resource"] == "network.load_balancer"]
    assert _line(cost, "node_pools.addons")["quantity"]["floor"] == 2


def test_prod_on_its_own_subnet_egresses_through_the_load_balancer(azure_plan):
    text = BASE.replace(
        "tier: {tier}}}",
        "tier: {tier}, subnet_id: /subscriptions/1/resourceGroups/n/providers/"
        "Microsoft.Network/virtualNetworks/v/subnets/s}}",
    )
    cost = _cost(azure_plan, "Standard", "prod", text)
    assert not [x for x in cost["lines"] if x["resource"] == "network.nat"]
    ips = _line(cost, "network.load_balancer", "Standard public IPv4 (AKS-managed outbound)")
    assert ips["quantity"]["floor"] == 2
    assert ips["monthly"]["floor"] == 7.3  # 2 × 0.005 × 730
    assert _line(cost, "network.load_balancer", "Standard Load Balancer (outbound)")["monthly"]["floor"] == 18.25
