"""Azure-only checks on a resolved stack: what the catalog rows alone cannot say.

Pure Python (no pulumi, no SDK): `validate` runs these. Call after `resolve` for cloud azure:

    if r.cloud == "azure":
        from .azure.checks import check
        errors += check(loaded, r)

Each problem is a StackError pinned to the stack file, so the CLI exits 2 before anything runs.
"""

from __future__ import annotations

import re
from typing import Any

from .. import catalog
from ..spec.errors import StackError

SYSTEM_POOL = "system"  # the AKS system pool's name (cluster.py)
_KEY_URL = re.compile(r"^https://(?P<vault>[a-zA-Z0-9-]{3,24})\.vault\.azure\.net/keys/(?P<key>[a-zA-Z0-9-]{1,127})"
                      r"(?:/(?P<version>[0-9a-fA-F]{32}))?/?$")


def parse_key_url(url: str) -> tuple[str, str, str | None]:
    """(vault URI, key name, version or None) of a Key Vault key URL; ValueError otherwise."""
    m = _KEY_URL.match(url)
    if not m:
        raise ValueError(f"kms_key {url!r} is not a Key Vault key URL "
                         "(https://<vault>.vault.azure.net/keys/<name>[/<version>])")
    return f"https://{m['vault']}.vault.azure.net/", m["key"], m["version"]


def agent_pool_name(pool: str) -> str:
    """Same rule as agent_pool.agent_pool_name, without importing the SDK."""
    return "".join(c for c in pool.lower() if c.isascii() and c.isalnum())[:12]


def check(loaded: Any, r: Any) -> list[StackError]:
    """Problems with `r` (a ResolvedStack for azure) that only Azure has; empty when none."""
    errors: list[StackError] = []
    cat = catalog.load("azure")
    priced = cat.prices.get(r.region, {}).get("machines", {})
    seen: dict[str, str] = {}
    for name, pool in r.node_pools.items():
        if pool.kind == "gpu" and pool.machine_type not in priced:
            where = sorted(region for region, table in cat.prices.items()
                           if pool.machine_type in table.get("machines", {}))
            spec_pool = loaded.spec.node_pools[name]
            path = (("node_pools", name, "machine_type", "azure") if "azure" in spec_pool.machine_type
                    else ("node_pools", name, "accelerators_per_node"))
            same = [m.machine_type for m in cat.machines_for(pool.accelerator) if m.machine_type in priced
                    and m.serving]
            errors.append(loaded.error(
                path, f"{pool.machine_type} is not offered in {r.region}",
                    f"{pool.machine_type} is in: {', '.join(where) or 'no known location'}; "
                    f"{pool.accelerator} sizes in {r.region}: {', '.join(same) or 'none'}"))
        aks = agent_pool_name(name)
        if aks == SYSTEM_POOL or aks in seen:
            other = "the AKS system pool" if aks == SYSTEM_POOL else f"node_pools.{seen[aks]}"
            errors.append(loaded.error(("node_pools", name), f"the AKS pool name of {name!r} is {aks!r}, "
                                       f"the same as {other}",
                                       "AKS pool names are the first 12 letters and digits: rename the pool"))
        seen.setdefault(aks, name)
    if r.private_endpoint and r.authorized_networks:
        errors.append(loaded.error(("cluster", "authorized_networks"), "AKS authorized IP ranges apply to a "
                                   "public API server only, and private_endpoint is true",
                                   "remove authorized_networks, or set private_endpoint: false"))
    accounts: dict[str, str] = {}
    for name, bucket in r.buckets.items():
        if len(name) < 3:
            errors.append(loaded.error(("buckets", name), f"{name!r} is too short for an Azure blob "
                                       "container", "container names have 3-63 characters"))
        if bucket.physical_name in accounts:
            errors.append(loaded.error(
                ("buckets", name), f"buckets {accounts[bucket.physical_name]!r} and {name!r} both map to "
                f"storage account {bucket.physical_name!r} (24 characters at most)",
                "give the buckets names that differ in their first characters"))
        accounts.setdefault(bucket.physical_name, name)
        if bucket.kms_key:
            try:
                parse_key_url(bucket.kms_key)
            except ValueError as exc:
                errors.append(loaded.error(("buckets", name, "kms_key"), str(exc),
                                           "on Azure kms_key is a Key Vault key URL"))
    return errors
