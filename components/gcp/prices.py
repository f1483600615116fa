"""GCP list prices from the Cloud Billing Catalog API (needs an API key, no other credentials).

https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list
Compute Engine (service 6F81-5844-456A) prices resources, not machines: a vCPU-hour and a GiB-hour of
RAM per machine series ("G2 Instance Core running in Americas", "G2 Instance Ram ..."), a GPU-hour per
GPU model ("Nvidia L4 GPU running in ..."), a TPU chip-hour ("TpuV5e running in ..."), a GiB-month of
local SSD. A machine's price is assembled from them:

    vcpus x core + memory_gib x RAM + GPUs x GPU-hour + bundled local SSD GiB x SSD GiB-hour

N1 rows are the VM only (the T4 is priced per GPU-hour under `accelerators`); TPU slices are priced per
chip-hour under `accelerators`. Spot prices come from the SKUs whose usageType is Preemptible ("Spot
Preemptible ..."). Commitments, custom shapes, sole tenancy and reservations are skipped. A machine
whose parts are not all found keeps its shipped price, and the gap is reported.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ..catalog import HOURS_PER_MONTH
from ..catalog.refresh.base import Fetched, PriceTable, Targets, put
from ..http import FetchError, Http

BASE_URL = "https://cloudbilling.googleapis.com"
SERVICE = "6F81-5844-456A"  # Compute Engine
API_KEY_ENVS = ("GOOGLE_API_KEY", "LLMCLOUD_GCP_API_KEY")


def api_key() -> str | None:
    """The Cloud Billing Catalog API key from the environment, if one is set."""
    import os

    return next((os.environ[e] for e in API_KEY_ENVS if os.environ.get(e)), None)


MAX_PAGES = 500

# machine series (machine_type prefix) -> (series as the SKU descriptions name it, GPU part or None)
SERIES: dict[str, tuple[str, str | None]] = {
    "n1": ("N1 Predefined", None),
    "e2": ("E2", None),
    "n2": ("N2", None),
    "g2": ("G2", "L4"),
    "a2-highgpu": ("A2", "A100-40GB"),
    "a2-megagpu": ("A2", "A100-40GB"),
    "a2-ultragpu": ("A2", "A100-80GB"),
    "a3-highgpu": ("A3", "H100"),
    "a3-megagpu": ("A3", "H100-Mega"),
    "a3-ultragpu": ("A3", "H200"),
    "a4-highgpu": ("A4", "B200"),
}
# GPU and TPU parts by the leading words of their SKU description (prefix "Spot Preemptible " removed)
PARTS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^Nvidia Tesla T4 GPU running in "), "gpu", "T4"),
    (re.compile(r"^Nvidia L4 GPU running in "), "gpu", "L4"),
    (re.compile(r"^Nvidia Tesla A100 GPU running in "), "gpu", "A100-40GB"),
    (re.compile(r"^Nvidia Tesla A100 80GB GPU running in "), "gpu", "A100-80GB"),
    (re.compile(r"^Nvidia H100 80GB GPU running in "), "gpu", "H100"),
    (re.compile(r"^Nvidia H100 80GB Mega GPU running in "), "gpu", "H100-Mega"),
    (re.compile(r"^(?:Nvidia )?H200 141GB GPU running in "), "gpu", "H200"),
    (re.compile(r"^A4 Nvidia B200 \(1 gpu slice\) running in "), "gpu", "B200"),
    (re.compile(r"(?i)^tpu[ -]?v5e\b"), "tpu", "TPU-v5e"),
    (re.compile(r"(?i)^tpu[ -]?v6e\b"), "tpu", "TPU-v6e"),
    (re.compile(r"^SSD backed Local Storage(?: in | running in | attached|$)"), "ssd", ""),
]
CORE_RAM = re.compile(r"^(?P<series>[A-Za-z0-9 ]+?) Instance (?P<part>Core|Ram) running in ")
SKIP_WORDS = ("Commitment", "Custom", "Sole Tenancy", "Reserved", "DWS", "Calendar", "Flex")
UNITS = {"core": "h", "ram": "GiBy.h", "gpu": "h", "tpu": "h", "ssd": "GiBy.mo"}


@dataclass(frozen=True)
class Part:
    kind: str  # core | ram | gpu | tpu | ssd
    name: str  # series for core/ram, neutral accelerator for gpu/tpu, "" for ssd
    spot: bool


def sku_url(base_url: str, api_key: str, page_token: str | None) -> str:
    query = {"key": api_key, "currencyCode": "USD", "pageSize": "5000"}
    if page_token:
        query["pageToken"] = page_token
    return f"{base_url.rstrip('/')}/v1/services/{SERVICE}/skus?{urllib.parse.urlencode(query)}"


def read_skus(http: Http, base_url: str, api_key: str) -> list[dict[str, Any]]:
    skus: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = http.json(sku_url(base_url, api_key, token))
        if not isinstance(page, dict):
            raise FetchError("Cloud Billing Catalog: a page is not a JSON object")
        skus.extend(page.get("skus") or [])
        token = page.get("nextPageToken") or None
        if not token:
            return skus
    raise FetchError(f"Cloud Billing Catalog: more than {MAX_PAGES} pages; stopped")


def parse_part(sku: dict[str, Any]) -> Part | None:
    """Which machine part an SKU prices, or None for everything else (commitments, other services...)."""
    usage = (sku.get("category") or {}).get("usageType")
    if usage not in ("OnDemand", "Preemptible"):
        return None
    description = sku.get("description", "")
    if any(word in description for word in SKIP_WORDS):
        return None
    spot = usage == "Preemptible"
    text = re.sub(r"^(?:Spot )?Preemptible ", "", description)
    match = CORE_RAM.match(text)
    if match:
        return Part(match["part"].lower(), match["series"], spot)
    for pattern, kind, name in PARTS:
        if pattern.search(text):
            return Part(kind, name, spot)
    return None


def hourly_price(sku: dict[str, Any], kind: str) -> float | None:
    """USD per unit-hour from the last tier (the first is often a free tier), or None for an unknown unit."""
    try:
        expression = sku["pricingInfo"][0]["pricingExpression"]
        unit_price = expression["tieredRates"][-1]["unitPrice"]
    except (KeyError, IndexError, TypeError):
        return None
    if expression.get("usageUnit") != UNITS[kind] or unit_price.get("currencyCode", "USD") != "USD":
        return None
    price = int(unit_price.get("units") or 0) + int(unit_price.get("nanos") or 0) / 1e9
    return price / HOURS_PER_MONTH if kind == "ssd" else price


def part_prices(skus: list[dict[str, Any]], regions: set[str]) -> dict[tuple[Part, str], float]:
    """(part, region) -> USD per hour; the first SKU seen wins."""
    out: dict[tuple[Part, str], float] = {}
    for sku in skus:
        part = parse_part(sku)
        price = hourly_price(sku, part.kind) if part else None
        if part is None or price is None or price <= 0:
            continue
        for region in sku.get("serviceRegions") or []:
            if region in regions:
                out.setdefault((part, region), price)
    return out


def series_of(machine_type: str) -> str:
    head = machine_type.split("-")
    return "-".join(head[:2]) if head[0] in ("a2", "a3", "a4") else head[0]


def machine_price(row: dict[str, Any], region: str, spot: bool, parts: dict[tuple[Part, str], float]) -> float | None:
    known = SERIES.get(series_of(row["machine_type"]))
    if known is None:
        return None
    series, gpu = known
    wanted = [(Part("core", series, spot), float(row["vcpus"])), (Part("ram", series, spot), float(row["memory_gib"]))]
    if gpu is not None:
        wanted.append((Part("gpu", gpu, spot), float(row.get("count") or 0)))
    if row.get("local_ssd_gib"):
        wanted.append((Part("ssd", "", spot), float(row["local_ssd_gib"])))
    total = 0.0
    for part, quantity in wanted:
        if (part, region) not in parts:
            return None
        total += quantity * parts[(part, region)]
    return total


def accelerator_price(name: str, region: str, spot: bool, parts: dict[tuple[Part, str], float]) -> float | None:
    for kind in ("gpu", "tpu"):
        if (Part(kind, name, spot), region) in parts:
            return parts[(Part(kind, name, spot), region)]
    return None


def fetch(raw: dict[str, Any], wanted: Targets, http: Http, api_key: str, base_url: str = BASE_URL) -> Fetched:
    parts = part_prices(read_skus(http, base_url, api_key), set(wanted))
    rows = {m["machine_type"]: m for m in raw.get("machines") or []}  # N1 rows repeat per GPU count: same VM
    rows.update({m["machine_type"]: {**m, "count": 0} for m in raw.get("cpu_machines") or []})
    table: PriceTable = {}
    for region, sections in sorted(wanted.items()):
        for section, names in sorted(sections.items()):
            for name in sorted(names):
                if section == "accelerators":
                    on_demand = accelerator_price(name, region, False, parts)
                    spot = accelerator_price(name, region, True, parts)
                elif name in rows:
                    on_demand = machine_price(rows[name], region, False, parts)
                    spot = machine_price(rows[name], region, True, parts)
                else:
                    continue
                if on_demand is not None:
                    put(table, region, section, name, on_demand, spot)
    return Fetched(prices=table, sources=[f"{BASE_URL}/v1/services/{SERVICE}/skus"])
