"""Quota and zone preflight against recorded API responses (issue 10, part 2).

The misleading case on each cloud: a quota of 0 where the zones do offer the machine reads as "not
available" in the console and in deploy errors, but it is a quota request away (verdict quota, not
no-zone); and a stockout is neither (explain()).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import resolved
from llmcloud.components import preflight
from llmcloud.components.aws import preflight as aws_preflight
from llmcloud.components.ops_http import JsonApi

GCP_ROUTES = {
    ("GET", "/compute/v1/projects/llmcloud-demo/regions/us-central1"): "gcp_region_us-central1.json",
    ("GET", "/compute/v1/projects/llmcloud-demo/aggregated/acceleratorTypes"): lambda q, _: (
        "gcp_accelerator_types_" + q["filter"].split('"')[1] + ".json"
    ),
}


def _gcp(recorded):
    for (method, path), answer in GCP_ROUTES.items():
        recorded.add(method, path, answer)
    return JsonApi(recorded.url, "ya29.test")


def test_gcp_spot_quota_of_zero_is_a_quota_request_not_a_missing_gpu(recorded):
    api = _gcp(recorded)
    report = preflight.run(resolved("stacks/dev.yaml"), api=api)
    [check] = report.checks
    assert check.metric == "PREEMPTIBLE_NVIDIA_L4_GPUS" and check.need == 2 and check.limit == 0
    assert check.offered == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert check.verdict == "quota"
    assert "quota increase away, not unavailable" in check.note
    assert recorded.requests[0]["auth"] == "Bearer ya29.test"
    assert recorded.requests[1]["query"]["filter"] == 'name = "nvidia-l4"'


def test_gcp_on_demand_fits_and_a_zone_without_the_gpu_is_no_zone(recorded, write_stack):
    api = _gcp(recorded)
    file = write_stack("""
extends: base.yaml
gcp: {project: llmcloud-demo, region: us-central1, zones: [us-central1-a, us-central1-b]}
node_pools:
  l4: {accelerator: L4, max_nodes: 3}
  h100: {accelerator: H100, accelerators_per_node: 8, max_nodes: 1}
""")
    report = preflight.run(resolved(file), api=api)
    by_pool = {c.pool: c for c in report.checks}
    assert by_pool["l4"].verdict == "ok" and by_pool["l4"].used == 2 and by_pool["l4"].limit == 8
    # H100 quota is there (8: one a3-highgpu-8g, the A3 High shape sold on demand) but this project sees
    # the GPU only in us-east5: change zones, not quota.
    assert by_pool["h100"].verdict == "no-zone"
    assert [c.pool for c in report.blocking] == ["h100"]


def test_azure_family_quota_zero_with_the_sku_in_every_zone(recorded):
    recorded.add(
        "GET", "/subscriptions/sub-1/providers/Microsoft.Compute/locations/eastus/usages", "azure_usages_eastus.json"
    )
    recorded.add("GET", "/subscriptions/sub-1/providers/Microsoft.Compute/skus", "azure_skus_eastus.json")
    report = preflight.run(resolved("stacks/azure-example.yaml"), api=JsonApi(recorded.url, "t"), subscription="sub-1")
    by_pool = {c.pool: c for c in report.checks}
    t4, a100 = by_pool["t4"], by_pool["a100"]
    # spot counts against lowPriorityCores (3): 2 nodes x 4 vCPUs = 8 do not fit
    assert t4.metric == "lowPriorityCores" and t4.need == 8 and t4.verdict == "quota"
    assert t4.offered == ["1", "2"]  # zone 3 is NotAvailableForSubscription
    assert a100.metric == "standardNCADSA100v4Family" and a100.limit == 0 and a100.verdict == "quota"
    assert "quota increase away" in a100.note
    assert recorded.requests[1]["query"]["$filter"] == "location eq 'eastus'"


def test_aws_quota_from_service_quotas_and_zones_from_moto(aws_env):
    import boto3
    from botocore.stub import Stubber

    quotas = boto3.client("service-quotas", region_name="us-east-1", endpoint_url="https://quotas.invalid")
    answers = json.loads((Path(__file__).parent / "recorded" / "aws_service_quotas.json").read_text())
    stub = Stubber(quotas)
    for code in ("L-3819A6DF", "L-1945791B"):
        stub.add_response("get_service_quota", answers[code], {"ServiceCode": "ec2", "QuotaCode": code})
    ec2 = boto3.client("ec2", region_name="us-east-1")  # moto server (AWS_ENDPOINT_URL)
    with stub:
        report = preflight.run(resolved("stacks/aws-example.yaml"), ec2=ec2, quotas=quotas)
    by_pool = {c.pool: c for c in report.checks}
    l4, inf2 = by_pool["l4"], by_pool["inf2"]
    assert l4.metric.startswith("L-3819A6DF") and l4.need == 12 and l4.limit == 0 and l4.verdict == "quota"
    assert inf2.need == 64 and inf2.limit == 128
    assert inf2.offered is not None
    offered = aws_preflight.offered_zones(ec2, "inf2.8xlarge")
    assert inf2.offered == sorted(z for z in inf2.zones if z in offered)
    # by AZ ID (issue 18): moto offers inf2 in use1-az2, -az4, -az5, -az6, as the catalog says
    assert inf2.verdict == "ok" and inf2.offered == ["use1-az2", "use1-az4", "use1-az5", "use1-az6"]
    assert l4.offered == ["use1-az1", "use1-az2", "use1-az4", "use1-az6"]  # offered, yet quota 0


def test_aws_quota_codes():
    assert aws_preflight.quota_code("g6.xlarge", spot=False) == "L-DB2E81BA"
    assert aws_preflight.quota_code("g6.xlarge", spot=True) == "L-3819A6DF"
    assert aws_preflight.quota_code("p5.48xlarge", spot=False) == "L-417A185B"
    assert aws_preflight.quota_code("m6i.xlarge", spot=False) == "L-1216C47A"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            "The zone 'projects/p/zones/us-central1-a' does not have enough resources "
            "available to fulfill the request. "
            "'(resource type:compute)'",
            "stockout",
        ),
        ("Instance 'gke-x' creation failed: Code: 'ZONE_RESOURCE_POOL_EXHAUSTED'", "stockout"),
        ("Quota 'PREEMPTIBLE_NVIDIA_L4_GPUS' exceeded.  Limit: 0.0 in region us-central1.", "quota"),
        ("InsufficientInstanceCapacity: We currently do not have sufficient g6.xlarge capacity in the AZ", "stockout"),
        ("VcpuLimitExceeded: You have requested more vCPU capacity than your current vCPU limit of 0", "quota"),
        (
            "OperationNotAllowed: Operation could not be completed as it results in exceeding approved "
            "standardNCADSA100v4Family Cores quota.",
            "quota",
        ),
        (
            "SkuNotAvailable: The requested VM size Standard_NC24ads_A100_v4 is currently not available in location "
            "eastus",
            "restricted",
        ),
        (
            "AllocationFailed: Allocation failed. We do not have sufficient capacity for the requested VM size",
            "stockout",
        ),
        ("something else", None),
    ],
)
def test_explain_tells_quota_from_stockout(message, kind):
    assert preflight.explain(message) == kind


def test_cli_preflight_table_and_strict(cli, recorded, monkeypatch):
    _gcp(recorded)
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.cli")
    monkeypatch.setenv("LLMCLOUD_GCP_COMPUTE_URL", recorded.url)
    result = cli("preflight", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["blocking"] == 1 and data["checks"][0]["verdict"] == "quota"
    strict = cli("preflight", "dev", "--strict")
    assert strict.exit_code == 3
    assert "PREEMPTIBLE_NVIDIA_L4_GPUS" in strict.stdout and "quota" in strict.stdout


def test_cli_preflight_skipped_without_credentials(cli, monkeypatch):
    for var in (
        "GOOGLE_OAUTH_ACCESS_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CREDENTIALS",
        "CLOUDSDK_AUTH_ACCESS_TOKEN",
        "GCE_METADATA_HOST",
    ):
        monkeypatch.delenv(var, raising=False)
    result = cli("preflight", "dev")
    assert result.exit_code == 0
    assert "preflight skipped: no gcp credentials" in result.stderr
    strict = cli("preflight", "dev", "--strict")  # a gate that cannot check does not pass (issue 21)
    assert strict.exit_code == 4, strict.stderr
    assert "could not check" in strict.stderr


def test_unreachable_api_is_skipped_with_a_notice():
    report = preflight.run(resolved("stacks/dev.yaml"), api=JsonApi("http://127.0.0.1:9", "t", timeout=2))
    assert report.skipped and "not reachable" in report.skipped and report.checks == []
