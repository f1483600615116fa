"""AWS On-Demand list prices from the Price List bulk API (public files, no credentials).

https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-ppslong.html
`region_index.json` names each region's current offer file (`currentVersionUrl`, relative to the
pricing host). An EC2 region file is several GB, so it is read as CSV (the same file with .csv for
.json), streamed row by row and filtered on the instance type first; nothing large is held in memory.
The JSON form is parsed too (small or mirrored files). The newer Price List Query API (GetProducts) is
not used: it needs signed requests with AWS credentials.

Kept: TermType OnDemand, Linux, Shared tenancy, no pre-installed software, capacitystatus Used (not an
unused reservation), licence "No License required", market option OnDemand (not Capacity Blocks),
priced per hour in USD.
Spot prices are not in the Price List (they move every few minutes): the shipped spot values are kept.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import IO, Any

from ..catalog.refresh.base import Fetched, PriceTable, Targets, put
from ..http import FetchError, Http

BASE_URL = "https://pricing.us-east-1.amazonaws.com"
INDEX_PATH = "/offers/v1.0/aws/AmazonEC2/current/region_index.json"
CSV_PREAMBLE_LINES = 5  # FormatVersion, Disclaimer, Publication Date, Version, OfferCode
# CSV column -> the JSON attribute name used below
CSV_COLUMNS = {
    "Instance Type": "instanceType",
    "Operating System": "operatingSystem",
    "Tenancy": "tenancy",
    "Pre Installed S/W": "preInstalledSw",
    "CapacityStatus": "capacitystatus",
    "License Model": "licenseModel",
    "Region Code": "regionCode",
    "MarketOption": "marketoption",
}
LIST_PRICE_ATTRIBUTES = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}
SPOT_NOTE = (
    "aws: spot prices kept from the shipped catalog (the Price List has no Spot prices; see "
    "https://aws.amazon.com/ec2/spot/pricing/)"
)


def is_list_price(attributes: dict[str, str]) -> bool:
    # marketoption (newer files): CapacityBlock rows are prepaid blocks, not On-Demand list prices
    return all(attributes.get(k) == v for k, v in LIST_PRICE_ATTRIBUTES.items()) and attributes.get(
        "marketoption", "OnDemand"
    ) in ("", "OnDemand")


def offer_urls(index: dict[str, Any], base_url: str, regions: list[str], fmt: str) -> dict[str, str]:
    """region -> URL of its current EC2 offer file, in `fmt` (csv or json)."""
    listed = index.get("regions") if isinstance(index, dict) else None
    if not isinstance(listed, dict):
        raise FetchError("region_index.json: no `regions` map")
    out = {}
    for region in regions:
        entry = listed.get(region)
        if not entry or "currentVersionUrl" not in entry:
            continue
        path = entry["currentVersionUrl"]
        if fmt == "csv" and path.endswith(".json"):
            path = path[: -len(".json")] + ".csv"
        out[region] = path if path.startswith("http") else f"{base_url.rstrip('/')}{path}"
    return out


def csv_rows(body: IO[bytes]) -> Iterator[dict[str, str]]:
    """The rows of an offer CSV as {column: value}, streamed."""
    text = io.TextIOWrapper(body, encoding="utf-8", newline="")
    for _ in range(CSV_PREAMBLE_LINES):
        text.readline()
    reader = csv.reader(text)
    header = next(reader, None)
    if not header or "Instance Type" not in header:
        raise FetchError("offer CSV: no header row with `Instance Type`")
    for row in reader:
        yield dict(zip(header, row, strict=False))


def csv_prices(body: IO[bytes], instance_types: set[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in csv_rows(body):
        if row.get("Instance Type") not in instance_types or row.get("TermType") != "OnDemand":
            continue
        attributes = {attr: row.get(column, "") for column, attr in CSV_COLUMNS.items()}
        if not is_list_price(attributes) or row.get("Unit") != "Hrs" or row.get("Currency") != "USD":
            continue
        price = float(row.get("PricePerUnit") or 0)
        if price > 0:
            out[row["Instance Type"]] = price
    return out


def json_prices(offer: dict[str, Any], instance_types: set[str]) -> dict[str, float]:
    skus = {
        sku: p["attributes"]["instanceType"]
        for sku, p in (offer.get("products") or {}).items()
        if p.get("attributes", {}).get("instanceType") in instance_types and is_list_price(p["attributes"])
    }
    out: dict[str, float] = {}
    on_demand = (offer.get("terms") or {}).get("OnDemand") or {}
    for sku, instance_type in skus.items():
        for term in (on_demand.get(sku) or {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                price = float((dimension.get("pricePerUnit") or {}).get("USD") or 0)
                if dimension.get("unit") == "Hrs" and price > 0:
                    out[instance_type] = price
    return out


def fetch(
    raw: dict[str, Any], wanted: Targets, http: Http, base_url: str = BASE_URL, offer_format: str = "csv"
) -> Fetched:
    index = http.json(f"{base_url.rstrip('/')}{INDEX_PATH}")
    urls = offer_urls(index, base_url, sorted(wanted), offer_format)
    shipped = raw.get("prices") or {}
    table: PriceTable = {}
    for region, sections in sorted(wanted.items()):
        if region not in urls:
            continue
        instance_types = set().union(*(sections.get(s, set()) for s in ("machines", "cpu_machines")))
        with http.open(urls[region]) as body:
            if offer_format == "csv":
                found = csv_prices(body, instance_types)
            else:
                try:
                    found = json_prices(json.load(body), instance_types)
                except ValueError:
                    raise FetchError(f"{urls[region]}: the offer file is not JSON") from None
        for section in ("machines", "cpu_machines"):
            for name in sorted(sections.get(section, set())):
                if name in found:
                    old = (shipped.get(region, {}).get(section) or {}).get(name) or [None, None]
                    spot = old[1] if isinstance(old, list) and len(old) > 1 else None
                    put(table, region, section, name, found[name], spot)
    return Fetched(prices=table, sources=[f"{BASE_URL}{INDEX_PATH}"], notes=[SPOT_NOTE], spot_from_api=False)
