"""The shipped catalog files pass the same checks as a refreshed catalog, and the checks catch what they should."""

from __future__ import annotations

import copy

import pytest
import yaml
from llmcloud.components.catalog import DATA
from llmcloud.components.catalog.validate import problems
from llmcloud.components.registry import CLOUDS


def shipped(cloud: str) -> dict:
    return yaml.safe_load((DATA / f"{cloud}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_shipped_catalog_has_no_price_problems(cloud):
    assert problems(shipped(cloud)) == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_shipped_catalog_matches_itself_as_reference(cloud):
    raw = shipped(cloud)
    assert problems(raw, reference=copy.deepcopy(raw)) == []


def test_zero_negative_and_non_numeric_prices_are_problems():
    raw = shipped("gcp")
    table = raw["prices"]["us-central1"]["machines"]
    table["g2-standard-4"] = [0, None]
    table["g2-standard-8"] = [-1.0, 0.3]
    table["g2-standard-12"] = ["1.0", 0.3]
    found = problems(raw)
    assert "prices.us-central1.machines.g2-standard-4: on-demand price 0 is not a positive number" in found
    assert "prices.us-central1.machines.g2-standard-8: on-demand price -1.0 is not a positive number" in found
    assert "prices.us-central1.machines.g2-standard-12: on-demand price '1.0' is not a positive number" in found


def test_spot_not_below_on_demand_is_a_problem():
    raw = shipped("azure")
    raw["prices"]["eastus"]["machines"]["Standard_NC4as_T4_v3"] = [0.526, 0.526]
    raw["prices"]["eastus"]["cpu_machines"]["Standard_D2s_v5"] = [0.096, 0.0]
    assert problems(raw) == [
        "prices.eastus.machines.Standard_NC4as_T4_v3: spot price 0.526 is not below the on-demand price 0.526",
        "prices.eastus.cpu_machines.Standard_D2s_v5: spot price 0.0 is not a positive number "
        "(use null when spot is not sold)",
    ]


def test_unknown_names_and_regions_are_problems():
    raw = shipped("aws")
    raw["prices"]["us-east-1"]["machines"]["g5.xlarg"] = [1.0, 0.4]
    raw["prices"]["mars-1"] = {"cpu_machines": {"m6i.large": [0.1, 0.04]}}
    found = problems(raw)
    assert "prices.us-east-1.machines.g5.xlarg: not a machine of this catalog" in found
    assert "prices.mars-1: region is not under `regions`" in found


def test_an_offered_accelerator_without_any_price_is_a_problem():
    raw = shipped("gcp")
    del raw["prices"]["us-east1"]["accelerators"]["T4"]
    for name in [n for n in raw["prices"]["us-west1"]["machines"] if n.startswith("g2-")]:
        del raw["prices"]["us-west1"]["machines"][name]
    del raw["prices"]["us-east5"]["cpu_machines"]["e2-standard-2"]
    assert problems(raw) == [
        "prices.us-east1.accelerators.T4: offered in us-east1 but has no price",
        "prices.us-east5.cpu_machines: no price for e2-standard-2",
        "prices.us-west1.machines: L4 is offered in us-west1 but no L4 machine has a price",
    ]


def test_reference_reports_gaps_and_jumps_beyond_x3():
    reference = shipped("azure")
    raw = copy.deepcopy(reference)
    raw["prices"]["eastus"]["machines"]["Standard_NC24ads_A100_v4"] = [11.1, 0.4444]  # 3.02x of 3.673
    raw["prices"]["eastus"]["machines"]["Standard_NC48ads_A100_v4"] = [7.346, 0.29]  # spot 0.8889 / 0.29 = 3.07x
    raw["prices"]["eastus"]["machines"]["Standard_NC96ads_A100_v4"] = [14.692 * 2.9, 1.7777]  # under 3x: fine
    del raw["prices"]["westus2"]["machines"]["Standard_NV6ads_A10_v5"]
    assert problems(raw, reference=reference) == [
        "no price for Standard_NV6ads_A10_v5 in westus2",
        "prices.eastus.machines.Standard_NC24ads_A100_v4: on-demand 11.1 is more than x3 away from 3.673 "
        "(a discounted or placeholder SKU?)",
        "prices.eastus.machines.Standard_NC48ads_A100_v4: spot 0.29 is more than x3 away from 0.8889 "
        "(a discounted or placeholder SKU?)",
    ]
