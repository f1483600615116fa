"""Azure list prices from the Retail Prices API (public, no credentials).

https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices
One query per region: `serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and
armRegionName eq '<region>' and (armSkuName eq '<size>' or ...)`, following `NextPageLink` (100 items
a page). Kept: Linux pay-as-you-go meters per hour. Dropped: Windows products (their price includes the
licence), "Low Priority" meters (the retired predecessor of Spot), reservation and Dev/Test rows.
A meter whose skuName ends with " Spot" is the Spot price of the same size.

Zones (`vm_zones`, components/azure/zones.py) are per subscription, so they are read from the Resource SKUs
API only when Azure credentials are there (AZURE_ACCESS_TOKEN + ARM_SUBSCRIPTION_ID, or `az login` with
LLMCLOUD_AZURE_ZONES=1); otherwise the shipped zones are kept, with a note.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from ..catalog.refresh.base import Fetched, PriceTable, Targets, put
from ..http import FetchError, Http

BASE_URL = "https://prices.azure.com"
PATH = "/api/retail/prices"
API_VERSION = "2023-01-01-preview"
MAX_PAGES = 200  # a region's VM rows for ~20 sizes fit in a few pages; stop a runaway paging loop


def query_url(base_url: str, region: str, sizes: list[str]) -> str:
    sku_filter = " or ".join(f"armSkuName eq '{s}'" for s in sorted(sizes))
    expression = (
        f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' "
        f"and armRegionName eq '{region}' and ({sku_filter})"
    )
    query = urllib.parse.urlencode({"api-version": API_VERSION, "$filter": expression}, quote_via=urllib.parse.quote)
    return f"{base_url.rstrip('/')}{PATH}?{query}"


def rebase(link: str, base_url: str) -> str:
    """NextPageLink is absolute (https://prices.azure.com:443/...): keep its path and query on our base URL,
    so a mirror or a recorded-response server is followed too."""
    parts = urllib.parse.urlsplit(link)
    return f"{base_url.rstrip('/')}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def is_list_price(item: dict[str, Any]) -> bool:
    """A Linux pay-as-you-go (or Spot) hourly meter; not Windows, Low Priority, reserved or Dev/Test."""
    return (
        item.get("type") == "Consumption"
        and item.get("unitOfMeasure") == "1 Hour"
        and item.get("currencyCode", "USD") == "USD"
        and "Windows" not in item.get("productName", "")
        and "Low Priority" not in item.get("skuName", "")
        and "Low Priority" not in item.get("meterName", "")
        and isinstance(item.get("retailPrice"), int | float)
        and item["retailPrice"] > 0
    )


def read_items(http: Http, url: str, base_url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if not next_url:
            return items
        page = http.json(next_url)
        if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
            raise FetchError(f"{next_url}: not a Retail Prices API page (no Items)")
        items.extend(page["Items"])
        link = page.get("NextPageLink")
        next_url = rebase(link, base_url) if link else None
    raise FetchError(f"{url}: more than {MAX_PAGES} pages; stopped")


def region_prices(items: list[dict[str, Any]], region: str) -> dict[str, dict[str, float]]:
    """size -> {"on_demand": price, "spot": price} from one region's rows (newest meter wins)."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        if item.get("armRegionName") != region or not is_list_price(item):
            continue
        kind = "spot" if item.get("skuName", "").endswith(" Spot") else "on_demand"
        key = (item.get("armSkuName", ""), kind)
        newer = item.get("effectiveStartDate", "") > chosen.get(key, {}).get("effectiveStartDate", "")
        if key not in chosen or newer:
            chosen[key] = item
    out: dict[str, dict[str, float]] = {}
    for (size, kind), item in chosen.items():
        out.setdefault(size, {})[kind] = float(item["retailPrice"])
    return out


def fetch(raw: dict[str, Any], wanted: Targets, http: Http, base_url: str = BASE_URL) -> Fetched:
    table: PriceTable = {}
    for region, sections in sorted(wanted.items()):
        sizes = sorted(set().union(*(sections.get(s, set()) for s in ("machines", "cpu_machines"))))
        if not sizes:
            continue
        found = region_prices(read_items(http, query_url(base_url, region, sizes), base_url), region)
        for section in ("machines", "cpu_machines"):
            for size in sorted(sections.get(section, set())):
                price = found.get(size, {})
                if "on_demand" in price:
                    put(table, region, section, size, price["on_demand"], price.get("spot"))
    fetched = Fetched(prices=table, sources=[f"{BASE_URL}{PATH}?api-version={API_VERSION}"])
    _add_zones(raw, fetched)
    return fetched


def _add_zones(raw: dict[str, Any], fetched: Fetched, env: dict[str, str] | None = None, api: Any = None) -> None:
    """vm_zones from the Resource SKUs API of the caller's subscription, when credentials are there."""
    import os

    from ..ops_http import AZURE_ARM, ApiError, JsonApi, Unreachable, azure_token
    from . import zones

    env = dict(os.environ) if env is None else env
    wanted = env.get("LLMCLOUD_AZURE_ZONES") == "1" or bool(env.get("AZURE_ACCESS_TOKEN"))
    if not wanted and api is None:
        fetched.notes.append(
            "zones (vm_zones) kept from the shipped catalog: set LLMCLOUD_AZURE_ZONES=1 with "
            "`az login` (or AZURE_ACCESS_TOKEN and ARM_SUBSCRIPTION_ID) to read your subscription's"
        )
        return
    try:
        if api is None:
            token, subscription = azure_token(env)
            api = JsonApi(env.get("LLMCLOUD_AZURE_ARM_URL", AZURE_ARM), token)
        else:
            subscription = env.get("ARM_SUBSCRIPTION_ID", "")
        table, notes = zones.refresh_vm_zones(raw, api, subscription)
    except (ApiError, Unreachable, RuntimeError) as exc:
        fetched.notes.append(f"zones (vm_zones) kept from the shipped catalog: {exc}")
        return
    fetched.sections["vm_zones"] = table
    fetched.notes.extend(notes)
    fetched.sources.append(
        f"{AZURE_ARM}/subscriptions/<subscription>/providers/Microsoft.Compute/skus?api-version={zones.SKUS_API}"
    )
