"""`llmcloud prices refresh` against recorded API responses served from a local HTTP server.

The files under recorded/ are small, hand-made responses in the exact formats of the Azure Retail Prices
API, the AWS Price List bulk files (region index, offer file as JSON and CSV) and the GCP Cloud Billing
Catalog API. Expected prices below are computed by hand from those files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmcloud.components import catalog
from llmcloud.components.aws import prices as aws_refresh
from llmcloud.components.catalog import DATA, Price
from llmcloud.components.catalog.refresh import (
    FetchError,
    Http,
    MissingApiKey,
    refresh,
    shipped,
    write,
)
from llmcloud.components.catalog.refresh.base import targets
from llmcloud.components.gcp import prices as gcp_refresh
from stub_server import Reply, Route, StubServer

RECORDED = Path(__file__).parent / "recorded"
TODAY = dt.date(2026, 8, 1)
FAST = Http(timeout=5, retries=2, backoff=0)


def recorded(name: str) -> Reply:
    return 200, (RECORDED / name).read_bytes(), {}


NOT_FOUND: Reply = (404, b"<Error><Code>NoSuchKey</Code></Error>", {})


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer(lambda path, query: NOT_FOUND) as srv:
        yield srv


def azure_route(path: str, query: dict[str, str]) -> Reply:
    if path != "/api/retail/prices" or query.get("api-version") != "2023-01-01-preview":
        return NOT_FOUND
    if "armRegionName eq 'eastus'" not in query.get("$filter", ""):
        return recorded("azure_empty.json")
    return recorded("azure_eastus_page2.json" if query.get("$skip") == "100" else "azure_eastus_page1.json")


def aws_route(fmt: str = "csv") -> Route:
    def route(path: str, query: dict[str, str]) -> Reply:
        if path == "/offers/v1.0/aws/AmazonEC2/current/region_index.json":
            return recorded("aws_region_index.json")
        for region in ("us-east-1", "eu-west-1"):
            if path == f"/offers/v1.0/aws/AmazonEC2/20260728193909/{region}/index.{fmt}":
                name = f"aws_offer_{region}.{fmt}"
                return recorded(name) if (RECORDED / name).exists() else NOT_FOUND
        return NOT_FOUND

    return route


def gcp_route(path: str, query: dict[str, str]) -> Reply:
    if path != "/v1/services/6F81-5844-456A/skus" or query.get("key") != "test-key-123":
        return 403, b'{"error": {"code": 403, "status": "PERMISSION_DENIED"}}', {}
    return recorded("gcp_skus_page2.json" if query.get("pageToken") == "CAESBgoEMTAwMA" else "gcp_skus_page1.json")


def price(result, region: str, name: str, section: str = "machines") -> list:
    return result.catalog["prices"][region][section][name]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- Azure


def test_azure_reads_linux_list_and_spot_meters_across_pages(server):
    server.route = azure_route
    result = refresh("azure", http=FAST, base_url=server.url, today=TODAY)
    # Linux pay-as-you-go 3.673 and the " Spot" meter; Windows 3.857, Low Priority 0.7346, the 1-year
    # reservation and the Dev/Test row (all dated later, so they would win if not filtered) are ignored.
    assert price(result, "eastus", "Standard_NC24ads_A100_v4") == [3.673, 0.5012]
    # page 2 (NextPageLink, $skip=100): D4s v5 Linux and Spot; the Windows row is ignored
    assert price(result, "eastus", "Standard_D4s_v5", "cpu_machines") == [0.192, 0.0231]
    # no Spot meter and no shipped spot: stays null
    assert price(result, "eastus", "Standard_NC40ads_H100_v5") == [6.98, None]
    # not in the API: shipped price kept
    assert price(result, "westus2", "Standard_NC4as_T4_v3") == [0.526, 0.0616]
    assert result.catalog["as_of"] == "2026-08-01"
    assert result.catalog["sources"][0] == "https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview"


def test_azure_follows_next_page_link_and_filters_server_side(server):
    server.route = azure_route
    refresh("azure", http=FAST, base_url=server.url, today=TODAY)
    eastus = [r for r in server.requests if "eastus%27" in r]
    assert len(eastus) == 2 and "$skip=100" in eastus[1]
    first = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(eastus[0]).query))["$filter"]
    assert first.startswith(
        "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' "
        "and armRegionName eq 'eastus' and (armSkuName eq "
    )
    assert "armSkuName eq 'Standard_NC24ads_A100_v4'" in first and "armSkuName eq 'Standard_D4s_v5'" in first
    assert len(server.requests) == 2 + 7  # eastus: 2 pages; 7 other regions: 1 empty page each


def test_azure_changes_warnings_and_x3_check(server):
    server.route = azure_route
    result = refresh("azure", http=FAST, base_url=server.url, today=TODAY)
    changes = {(c.region, c.name, c.kind): (c.old, c.new, c.delta_pct) for c in result.changes}
    assert changes == {
        ("eastus", "Standard_NC24ads_A100_v4", "spot"): (0.4444, 0.5012, 12.8),
        ("eastus", "Standard_D4s_v5", "spot"): (0.0384, 0.0231, -39.8),
        ("eastus", "Standard_NV36ads_A10_v5", "on_demand"): (3.2, 11.0, 243.8),
    }
    # NV36ads: 11.0 is 3.4x the shipped 3.2 (a placeholder?): warned, and its shipped spot is kept
    assert price(result, "eastus", "Standard_NV36ads_A10_v5") == [11.0, 0.8]
    assert (
        "prices.eastus.machines.Standard_NV36ads_A10_v5: on-demand 11.0 is more than x3 away from 3.2 "
        "(a discounted or placeholder SKU?)"
    ) in result.warnings
    assert any(
        w.startswith("no spot price in the API, shipped spot kept (1): Standard_NV36ads_A10_v5 in eastus")
        for w in result.warnings
    )
    gaps = next(w for w in result.warnings if w.startswith("not found in the API"))
    assert "Standard_NC4as_T4_v3 in eastus" in gaps and "Standard_D2s_v5 in swedencentral" in gaps
    assert result.refreshed == 4


# ---------------------------------------------------------------- AWS


def test_aws_streams_the_csv_offer_files_and_keeps_spot(server):
    server.route = aws_route("csv")
    result = refresh("aws", http=FAST, base_url=server.url, today=TODAY)
    # Linux/Shared/NA/Used/No License 1.006; Windows 1.19, Dedicated 1.107, unused reservation 0.5,
    # SQL Std 1.6 and the 1-year reserved 0.634 are ignored. Spot: the shipped value (no spot in the Price List).
    assert price(result, "us-east-1", "g5.xlarge") == [1.006, 0.4326]
    assert price(result, "us-east-1", "m6i.large", "cpu_machines") == [0.097, 0.0384]
    # the Capacity Block row (31.464) is not an On-Demand list price
    assert price(result, "us-east-1", "p5.48xlarge") == [55.04, 27.0]
    assert price(result, "eu-west-1", "g5.xlarge") == [1.123, 0.5053]
    assert [(c.name, c.old, c.new) for c in result.changes] == [("m6i.large", 0.096, 0.097)]
    assert any("spot prices kept from the shipped catalog" in n for n in result.notes)
    # only the catalog's regions are downloaded, as CSV; sa-east-1 is in the index but not in the catalog
    assert server.requests == [
        "/offers/v1.0/aws/AmazonEC2/current/region_index.json",
        "/offers/v1.0/aws/AmazonEC2/20260728193909/eu-west-1/index.csv",
        "/offers/v1.0/aws/AmazonEC2/20260728193909/us-east-1/index.csv",
    ]


def test_aws_json_offer_file_gives_the_same_prices(server):
    server.route = aws_route("json")
    raw = shipped("aws")
    wanted = {"us-east-1": targets(raw)["us-east-1"]}
    fetched = aws_refresh.fetch(raw, wanted, FAST, server.url, offer_format="json")
    assert fetched.prices["us-east-1"]["machines"] == {"g5.xlarge": [1.006, 0.4326], "p5.48xlarge": [55.04, 27.0]}
    assert fetched.prices["us-east-1"]["cpu_machines"] == {"m6i.large": [0.097, 0.0384]}
    assert not fetched.spot_from_api


def test_aws_list_price_filter():
    linux = {
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    }
    assert aws_refresh.is_list_price(linux)
    assert aws_refresh.is_list_price({**linux, "marketoption": "OnDemand"})
    for key, value in [
        ("operatingSystem", "Windows"),
        ("tenancy", "Dedicated"),
        ("preInstalledSw", "SQL Web"),
        ("capacitystatus", "AllocatedCapacityReservation"),
        ("licenseModel", "Bring your own license"),
        ("marketoption", "CapacityBlock"),
    ]:
        assert not aws_refresh.is_list_price({**linux, key: value}), key


# ---------------------------------------------------------------- GCP


@pytest.fixture
def gcp_key(monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "test-key-123")
    monkeypatch.delenv("LLMCLOUD_GCP_API_KEY", raising=False)


def test_gcp_assembles_machine_prices_from_core_ram_and_gpu_skus(server, gcp_key):
    server.route = gcp_route
    result = refresh("gcp", http=FAST, base_url=server.url, today=TODAY)
    # g2-standard-4: 4 x 0.024988 + 16 x 0.0029277 + 1 x 0.56 = 0.7067952;
    # spot 4 x 0.009996 + 16 x 0.0011711 + 0.224 = 0.2827216 (the G2 Custom and the commitment SKUs are skipped)
    assert price(result, "us-central1", "g2-standard-4") == [0.7068, 0.2827]
    # g2-standard-24 (2 L4): 24 x 0.024988 + 96 x 0.0029277 + 2 x 0.56 = 2.0007712; spot 0.8003296
    assert price(result, "us-central1", "g2-standard-24") == [2.0008, 0.8003]
    # N1 VM only: 4 x 0.031611 + 15 x 0.004237 = 0.189999; spot 4 x 0.00698 + 15 x 0.000936 = 0.04196
    assert price(result, "us-central1", "n1-standard-4") == [0.19, 0.042]
    assert price(result, "us-central1", "T4", "accelerators") == [0.35, 0.14]
    assert price(result, "us-west4", "TPU-v5e", "accelerators") == [1.2, 0.24]
    # E2: the last tier (after a free first tier) 4 x 0.021811 + 16 x 0.002923 = 0.134012; no E2 spot SKU
    # in the recording: the shipped spot is kept
    assert price(result, "us-central1", "e2-standard-4", "cpu_machines") == [0.134, 0.0804]
    # A2 Ultra has no A2 core/RAM SKU in the recording: shipped price kept, reported as a gap
    assert price(result, "us-central1", "a2-ultragpu-1g") == [5.0688, 2.7595]
    assert any("a2-ultragpu-1g in us-central1" in w for w in result.warnings if w.startswith("not found"))


def test_gcp_paginates_with_the_key_and_flags_x3(server, gcp_key):
    server.route = gcp_route
    result = refresh("gcp", http=FAST, base_url=server.url, today=TODAY)
    assert len(server.requests) == 2
    first, second = (dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r).query)) for r in server.requests)
    assert first["key"] == second["key"] == "test-key-123"
    assert "pageToken" not in first and second["pageToken"] == "CAESBgoEMTAwMA"
    # "Nvidia Tesla T4 GPU running in Virginia" at 1.50 vs the shipped 0.37 (4.05x)
    assert price(result, "us-east4", "T4", "accelerators") == [1.5, 0.1644]
    assert (
        "prices.us-east4.accelerators.T4: on-demand 1.5 is more than x3 away from 0.37 "
        "(a discounted or placeholder SKU?)"
    ) in result.warnings


def test_gcp_local_ssd_is_added_per_gib_month(server, gcp_key):
    server.route = gcp_route
    skus = gcp_refresh.read_skus(FAST, server.url, "test-key-123")
    parts = gcp_refresh.part_prices(skus, {"us-central1"})
    row = {"machine_type": "g2-standard-4", "vcpus": 4, "memory_gib": 16, "count": 1, "local_ssd_gib": 375}
    # 0.7067952 + 375 GiB x 0.08 / 730 h
    assert gcp_refresh.machine_price(row, "us-central1", False, parts) == pytest.approx(0.7067952 + 375 * 0.08 / 730)


def test_gcp_sku_descriptions():
    def part(description: str, usage: str = "OnDemand"):
        return gcp_refresh.parse_part({"description": description, "category": {"usageType": usage}})

    assert part("G2 Instance Core running in Americas") == gcp_refresh.Part("core", "G2", False)
    assert part("Spot Preemptible N1 Predefined Instance Ram running in Paris", "Preemptible") == gcp_refresh.Part(
        "ram", "N1 Predefined", True
    )
    assert part("Nvidia H100 80GB Mega GPU running in Americas") == gcp_refresh.Part("gpu", "H100-Mega", False)
    assert part("H200 141GB GPU running in Belgium") == gcp_refresh.Part("gpu", "H200", False)
    assert part("A4 Nvidia B200 (1 gpu slice) running in Netherlands") == gcp_refresh.Part("gpu", "B200", False)
    assert part("TpuV6e attached to Spot Preemptible VMs running in Americas", "Preemptible") == gcp_refresh.Part(
        "tpu", "TPU-v6e", True
    )
    assert part("Commitment v1: G2 Cpu in Americas for 1 Year", "Commit1Yr") is None
    assert part("G2 Custom Instance Core running in Americas") is None
    assert part("Reserved Nvidia H100 80GB Mega GPU in Americas") is None


def test_gcp_without_api_key_raises(monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("LLMCLOUD_GCP_API_KEY", raising=False)
    with pytest.raises(MissingApiKey, match="GOOGLE_API_KEY"):
        refresh("gcp", http=FAST, base_url="http://127.0.0.1:9")


# ---------------------------------------------------------------- HTTP


def test_http_retries_429_and_5xx_then_succeeds(server):
    calls: list[str] = []

    def flaky(path: str, query: dict[str, str]) -> Reply:
        calls.append(path)
        if len(calls) == 1:
            return 429, b"slow down", {"Retry-After": "0"}
        if len(calls) == 2:
            return 503, b"unavailable", {}
        return 200, b'{"ok": true}', {}

    server.route = flaky
    assert FAST.json(f"{server.url}/x") == {"ok": True}
    assert len(calls) == 3


def test_http_gives_up_with_one_line_and_masks_the_key(server):
    server.route = gcp_route
    with pytest.raises(FetchError) as info:
        FAST.json(f"{server.url}/v1/services/6F81-5844-456A/skus?key=wrong-secret&pageSize=5000")
    assert str(info.value) == (
        f"{server.url}/v1/services/6F81-5844-456A/skus?key=***&pageSize=5000: HTTP 403 Forbidden"
    )
    assert len(server.requests) == 1  # 403 is not retried


def test_http_sends_a_user_agent(server):
    seen: list[str] = []

    def route(path: str, query: dict[str, str]) -> Reply:
        seen.append(query["_user_agent"])
        return 200, b"{}", {}

    server.route = route
    FAST.json(f"{server.url}/ua")
    assert seen[0].startswith("llmcloud-prices-refresh/")


# ---------------------------------------------------------------- writing, loading, CLI


def test_written_catalog_loads_through_llmcloud_catalog_dir(server, tmp_path, monkeypatch):
    server.route = azure_route
    before = sha(DATA / "azure.yaml")
    path = write(refresh("azure", http=FAST, base_url=server.url, today=TODAY), tmp_path / "cat")
    assert path == tmp_path / "cat" / "azure.yaml"
    monkeypatch.setenv("LLMCLOUD_CATALOG_DIR", str(tmp_path / "cat"))
    cat = catalog.load("azure")
    assert cat.as_of == "2026-08-01"
    assert cat.prices["eastus"]["machines"]["Standard_NC24ads_A100_v4"] == Price(3.673, 0.5012)
    assert len(cat.machines) == len(shipped("azure")["machines"])
    assert catalog.load("aws").as_of == shipped("aws")["as_of"]  # no aws.yaml there: the shipped one
    monkeypatch.delenv("LLMCLOUD_CATALOG_DIR")
    assert catalog.load("azure").as_of == shipped("azure")["as_of"]
    assert sha(DATA / "azure.yaml") == before


def test_write_refuses_the_shipped_data_directory(server):
    server.route = azure_route
    result = refresh("azure", http=FAST, base_url=server.url, today=TODAY)
    with pytest.raises(ValueError, match="shipped catalog"):
        write(result, DATA)


def test_cli_refresh_writes_to_out_and_prints_json(cli, server, tmp_path, monkeypatch):
    server.route = azure_route
    monkeypatch.setenv("LLMCLOUD_AZURE_PRICES_URL", server.url)
    before = {c: sha(DATA / f"{c}.yaml") for c in ("aws", "azure", "gcp")}
    result = cli("prices", "refresh", "--cloud", "azure", "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    azure = report["clouds"]["azure"]
    assert azure["file"] == str(tmp_path / "out" / "azure.yaml")
    assert azure["as_of"] == dt.date.today().isoformat()
    assert {
        "region": "eastus",
        "section": "machines",
        "name": "Standard_NC24ads_A100_v4",
        "price": "spot",
        "old": 0.4444,
        "new": 0.5012,
        "delta_pct": 12.8,
    } in azure["changes"]
    assert any("x3" in w for w in azure["warnings"])
    monkeypatch.setenv("LLMCLOUD_CATALOG_DIR", str(tmp_path / "out"))
    assert catalog.load("azure").as_of == dt.date.today().isoformat()
    assert {c: sha(DATA / f"{c}.yaml") for c in ("aws", "azure", "gcp")} == before


def test_cli_refresh_prints_a_change_table_and_warnings(cli, server, tmp_path, monkeypatch):
    server.route = azure_route
    monkeypatch.setenv("LLMCLOUD_AZURE_PRICES_URL", server.url)
    result = cli("prices", "refresh", "--cloud", "azure", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    row = next(ln for ln in result.stdout.splitlines() if "Standard_NV36ads_A10_v5" in ln)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "azure",
        "eastus",
        "Standard_NV36ads_A10_v5",
        "on-demand",
        "3.2",
        "11",
        "+243.8",
    ]
    assert (
        f"azure: 4 prices read, 3 changed, 128 kept from the shipped catalog -> {tmp_path / 'out'}/azure.yaml"
        in result.stdout
    )
    assert (
        "warning: azure: prices.eastus.machines.Standard_NV36ads_A10_v5: on-demand 11.0 is more than x3"
        in result.stderr
    )


def test_cli_default_out_is_under_home(cli, server, tmp_path, monkeypatch):
    server.route = azure_route
    monkeypatch.setenv("LLMCLOUD_AZURE_PRICES_URL", server.url)
    result = cli("prices", "refresh", "--cloud", "azure", "--json")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "home" / ".llmcloud" / "catalog" / "azure.yaml").is_file()


def test_cli_missing_gcp_key_exits_4(cli, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("LLMCLOUD_GCP_API_KEY", raising=False)
    result = cli("prices", "refresh", "--cloud", "gcp")
    assert result.exit_code == 4
    assert result.stderr.strip() == (
        "error: the GCP Cloud Billing Catalog API needs an API key: set GOOGLE_API_KEY or LLMCLOUD_GCP_API_KEY"
    )
    result = cli("prices", "refresh")
    assert result.exit_code == 4 and "--cloud aws --cloud azure" in result.stderr


def test_cli_unreachable_api_exits_1_with_one_line(cli, server, monkeypatch):
    server.route = lambda path, query: (500, b"boom", {})
    monkeypatch.setenv("LLMCLOUD_AZURE_PRICES_URL", server.url)
    monkeypatch.setattr("llmcloud.components.catalog.refresh.Http", lambda: FAST)
    result = cli("prices", "refresh", "--cloud", "azure")
    assert result.exit_code == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: azure: could not read prices: ")
    assert errors[0].endswith("HTTP 500 Internal Server Error") and "Traceback" not in result.stderr
