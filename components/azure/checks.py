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
from . import azure_options
from .nvme import autoscaled_pool_errors

SYSTEM_POOL = "system"  # the AKS system pool's name (cluster.py)
# The untainted CPU user pool for what llmcloud installs besides the models (platform.py): the system pool
# is tainted CriticalAddonsOnly and every accelerator pool nvidia.com/gpu, and Envoy, KEDA, cert-manager and
# kube-prometheus-stack tolerate neither. Sized from their CPU/memory requests (ADDON_REQUESTS).
ADDON_POOL = "addons"
ADDON_VM_SIZE = "Standard_D4s_v5"  # 4 vCPU, 16 GiB: about 3.8 vCPU and 12 GiB allocatable after AKS reservations
ADDON_ALLOCATABLE = {"cpu_m": 3800, "memory_mi": 12 * 1024}
# (millicores, MiB) each component requests, times its replicas. Envoy's are llmcloud's own (k8s/gateway.py);
# the charts set none for most pods (KEDA 100m/100Mi per pod; cert-manager, Prometheus, Grafana, operator
# and kube-state-metrics: what they use at this scale, our estimate), so the pool keeps headroom above them.
ADDON_REQUESTS = {
    "envoy gateway (2 replicas)": (2 * 500, 2 * 256),
    "keda operator + metrics server + webhooks": (3 * 100, 3 * 100),
    "cert-manager controller + webhook + cainjector": (3 * 50, 3 * 128),
    "prometheus": (500, 2048),
    "alertmanager": (50, 256),
    "grafana": (100, 256),
    "prometheus-operator + kube-state-metrics": (200, 256),
    "leaderworkerset controller": (100, 128),
}
_KEY_URL = re.compile(
    r"^https://(?P<vault>[a-zA-Z0-9-]{3,24})\.vault\.azure\.net/keys/(?P<key>[a-zA-Z0-9-]{1,127})"
    r"(?:/(?P<version>[0-9a-fA-F]{32}))?/?$"
)


_ZONE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.Network/dnszones/(?P<zone>[a-zA-Z0-9.-]+)$",
    re.IGNORECASE,
)


def parse_zone_id(zone_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, zone name) of an Azure DNS zone resource id; ValueError otherwise."""
    m = _ZONE_ID.match(zone_id)
    if not m:
        raise ValueError(f"{zone_id!r} is not an Azure DNS zone resource id")
    return m["sub"], m["rg"], m["zone"].lower().rstrip(".")


def parse_key_url(url: str) -> tuple[str, str, str | None]:
    """(vault URI, key name, version or None) of a Key Vault key URL; ValueError otherwise."""
    m = _KEY_URL.match(url)
    if not m:
        raise ValueError(
            f"kms_key {url!r} is not a Key Vault key URL (https://<vault>.vault.azure.net/keys/<name>[/<version>])"
        )
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
            where = sorted(
                region for region, table in cat.prices.items() if pool.machine_type in table.get("machines", {})
            )
            spec_pool = loaded.spec.node_pools[name]
            path = (
                ("node_pools", name, "machine_type", "azure")
                if "azure" in spec_pool.machine_type
                else ("node_pools", name, "accelerators_per_node")
            )
            same = [
                m.machine_type for m in cat.machines_for(pool.accelerator) if m.machine_type in priced and m.serving
            ]
            errors.append(
                loaded.error(
                    path,
                    f"{pool.machine_type} is not offered in {r.region}",
                    f"{pool.machine_type} is in: {', '.join(where) or 'no known location'}; "
                    f"{pool.accelerator} sizes in {r.region}: {', '.join(same) or 'none'}",
                )
            )
        aks = agent_pool_name(name)
        if aks in (SYSTEM_POOL, ADDON_POOL) or aks in seen:
            other = (
                f"the AKS {aks} pool llmcloud creates"
                if aks in (SYSTEM_POOL, ADDON_POOL)
                else f"node_pools.{seen[aks]}"
            )
            errors.append(
                loaded.error(
                    ("node_pools", name),
                    f"the AKS pool name of {name!r} is {aks!r}, the same as {other}",
                    "AKS pool names are the first 12 letters and digits: rename the pool",
                )
            )
        seen.setdefault(aks, name)
    errors += _zone_errors(loaded, r)
    errors += _dns_errors(loaded, r)
    errors += _egress_errors(loaded, r, cat)
    errors += autoscaled_pool_errors(loaded, r)  # local NVMe on a pool the autoscaler grows (nvme.py)
    if r.private_endpoint and r.authorized_networks:
        errors.append(
            loaded.error(
                ("cluster", "authorized_networks"),
                "AKS authorized IP ranges apply to a public API server only, and private_endpoint is true",
                "remove authorized_networks, or set private_endpoint: false",
            )
        )
    accounts: dict[str, str] = {}
    for name, bucket in r.buckets.items():
        if len(name) < 3:
            errors.append(
                loaded.error(
                    ("buckets", name),
                    f"{name!r} is too short for an Azure blob container",
                    "container names have 3-63 characters",
                )
            )
        if bucket.physical_name in accounts:
            errors.append(
                loaded.error(
                    ("buckets", name),
                    f"buckets {accounts[bucket.physical_name]!r} and {name!r} both map to "
                    f"storage account {bucket.physical_name!r} (24 characters at most)",
                    "give the buckets names that differ in their first characters",
                )
            )
        accounts.setdefault(bucket.physical_name, name)
        if bucket.kms_key:
            try:
                parse_key_url(bucket.kms_key)
            except ValueError as exc:
                errors.append(
                    loaded.error(("buckets", name, "kms_key"), str(exc), "on Azure kms_key is a Key Vault key URL")
                )
    return errors


ZONE_ID_HINT = (
    "on Azure dns_zone is the zone's resource id: /subscriptions/<id>/resourceGroups/<group>/providers/"
    "Microsoft.Network/dnszones/<zone> (az network dns zone show --query id)"
)


def _dns_errors(loaded: Any, r: Any) -> list[StackError]:
    """gateway.dns_zone: a DNS zone resource id whose zone holds gateway.domain. Without it llmcloud creates a
    zone named after the domain (front_door.py), so a domain is never left without one."""
    g = loaded.spec.gateway
    zone_id = getattr(g, "dns_zone", None)
    if not zone_id:
        return []
    path = ("gateway", "dns_zone")
    if getattr(r.gateway, "kind", None) == "managed":
        return [
            loaded.error(
                path,
                "kind managed (API Management) answers on its own host name and writes no record in dns_zone",
                "remove dns_zone, or use kind: load_balancer",
            )
        ]
    try:
        _, _, zone = parse_zone_id(zone_id)
    except ValueError as exc:
        return [loaded.error(path, str(exc), ZONE_ID_HINT)]
    if not g.domain:
        return [
            loaded.error(
                path,
                "dns_zone is set but gateway.domain is not",
                "set gateway.domain to a name in the zone, or remove dns_zone",
            )
        ]
    if g.domain != zone and not g.domain.endswith("." + zone):
        return [
            loaded.error(
                path,
                f"the zone {zone!r} does not hold gateway.domain {g.domain!r}",
                f"use the zone of {g.domain} or of one of its parents",
            )
        ]
    return []


def _egress_errors(loaded: Any, r: Any, cat: Any) -> list[StackError]:
    """Prod egresses through a StandardV2 NAT gateway (network.py), which some locations do not offer."""
    from . import azure_options

    if r.environment != "prod" or azure_options(r).subnet_id:
        return []
    if r.region not in (cat.service("nat_gateway_v2_unsupported") or ()):
        return []
    return [
        loaded.error(
            ("azure", "location"),
            f"{r.region} offers no StandardV2 (zone-redundant) NAT gateway, which prod egresses through",
            "deploy prod in another location, or give azure.subnet_id (a subnet with your own egress)",
        )
    ]


def _zone_errors(loaded: Any, r: Any) -> list[StackError]:
    """azure.zones that leave a zonal VM size with none of its zones (zones.py): AvailabilityZoneNotSupported."""
    from .zones import vm_zones

    wanted = azure_options(r).zones
    if not wanted:
        return []
    errors = []
    sizes = [(("node_pools", name), p.machine_type) for name, p in r.node_pools.items()]
    sizes += [(("cluster", "system_machine_type"), r.system_machine_type)]
    for path, size in sizes:
        zones = vm_zones(r.region, size)
        if zones and not set(zones) & set(wanted):
            errors.append(
                loaded.error(
                    ("azure", "zones"),
                    f"{size} ({'.'.join(path)}) is in zones "
                    f"{', '.join(zones)} of {r.region}, none of {', '.join(wanted)}",
                    f"list one of {', '.join(zones)} in azure.zones, or remove azure.zones",
                )
            )
    return errors


# Programs outside Python that `preview` and `up` need on this machine, with how to get them. AKS's kubeconfig
# signs in with kubelogin, which llmcloud switches to its azurecli mode (components/azure/cluster.py:
# decode_kubeconfig): kubelogin asks the Azure CLI's signed-in session for a token.
TOOLS = {
    "kubelogin": "the Kubernetes provider signs in to AKS with it: `az aks install-cli`, or a release of "
    "https://github.com/Azure/kubelogin",
    "az": "kubelogin takes its token from the Azure CLI's session (`az login`): "
    "https://learn.microsoft.com/cli/azure/install-azure-cli",
}
