"""What only Google Cloud can say about a stack, checked by `validate` before anything runs, and the
pure naming and sizing rules the GCP components share (no SDK here: registry.checks imports this).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from typing import Any

# Machines Google sells without a standard on-demand option: only Spot, Flex-start (Dynamic Workload
# Scheduler) or a reservation. An on-demand pool of them would sit at "no resources available" forever.
# Sources, checked 2026-12-01: https://cloud.google.com/compute/docs/accelerator-optimized-machines
# (A3 High 1/2/4-GPU: "Spot and Flex-start only"; A3 Ultra and A4: "reservations, Flex-start, Spot")
# https://cloud.google.com/kubernetes-engine/docs/concepts/dws
NO_ON_DEMAND: dict[str, str] = {
    "a3-highgpu-1g": "A3 High with 1, 2 or 4 GPUs is sold as Spot or Flex-start only",
    "a3-highgpu-2g": "A3 High with 1, 2 or 4 GPUs is sold as Spot or Flex-start only",
    "a3-highgpu-4g": "A3 High with 1, 2 or 4 GPUs is sold as Spot or Flex-start only",
    "a3-ultragpu-8g": "A3 Ultra needs a reservation, Spot or Flex-start",
    "a4-highgpu-8g": "A4 needs a reservation, Spot or Flex-start",
}

# RFC 5737 / RFC 3849 documentation ranges: nobody's traffic comes from them. In a bundled stack they
# are placeholders; authorizing only them locks the operator out of the API server.
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)

# Cloud Armor: at most 10 IP ranges in one rule's src_ip_ranges (checked 2026-12-01,
# https://cloud.google.com/armor/quotas "IP addresses or ranges per rule: 10").
ARMOR_RANGES_PER_RULE = 10


def account_id(text: str) -> str:
    """A service account id (6-30 characters: lowercase letters, digits, hyphens) for `text`.
    Short enough: unchanged. Too long: cut, plus a hash of the whole text, so `llm-<env>-nodes` and
    `llm-<env>-serving` never collide for long environment names (a 409 on create otherwise)."""
    text = text.lower()
    if len(text) <= 30:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{text[:23].rstrip('-')}-{digest}"


def serving_service_account(environment: str) -> str:
    """The model servers' Kubernetes service account on GKE. Every cluster of a project shares one
    Workload Identity pool (<project>.svc.id.goog), and a principal is only namespace/name: two
    environments with the same name would read each other's weights. The environment in the name
    keeps them apart. https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#identity_sameness
    """
    return f"model-server-{environment}"


def initial_node_count(min_nodes: int, max_nodes: int, zones: int) -> int | None:
    """GKE's initial_node_count is per zone. The smallest per-zone count that reaches min_nodes in
    total, if that total stays within max_nodes; None when no per-zone count fits."""
    zones = max(zones, 1)
    per_zone = math.ceil(min_nodes / zones)
    return per_zone if per_zone * zones <= max_nodes else None


def pool_zones(pool: Any) -> tuple[str, ...]:
    """The zones a pool's nodes go to (node_locations). A TPU slice lives in one zone. Other pools spread
    over every zone that offers them, unless one node per zone at creation would already exceed
    max_nodes (min_nodes 1, max_nodes 2, three zones): then over as many zones as keep the initial
    total within min..max."""
    if pool.kind == "tpu":
        return tuple(pool.zones[:1])
    zones = tuple(pool.zones)
    for k in range(len(zones), 0, -1):
        if initial_node_count(pool.min_nodes, pool.max_nodes, k) is not None:
            return zones[:k]
    return zones[:1]


def pool_zone_count(pool: Any) -> int:
    return max(len(pool_zones(pool)), 1)


def armor_rule_ranges(cidrs: tuple[str, ...] | list[str]) -> list[list[str]]:
    """allowed_cidrs in groups of at most ARMOR_RANGES_PER_RULE, one Cloud Armor rule each."""
    cidrs = list(cidrs)
    return [cidrs[i : i + ARMOR_RANGES_PER_RULE] for i in range(0, len(cidrs), ARMOR_RANGES_PER_RULE)]


def documentation_ranges(cidrs: tuple[str, ...] | list[str]) -> list[str]:
    """The entries of `cidrs` that lie inside a documentation range (placeholders, never real traffic)."""
    found = []
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if any(net.version == doc.version and net.subnet_of(doc) for doc in DOCUMENTATION_RANGES):  # type: ignore[arg-type]
            found.append(cidr)
    return found


# GKE maintenance exclusions (gcp.maintenance_exclusions), checked 2026-12-01:
# - at most 20 per cluster: pulumi-gcp 10.2.0 ClusterMaintenancePolicyArgs.maintenance_exclusions ("up to
#   20 maintenance exclusions at a time"; the provider's MaxItems went from 3 to 20 on 2023-07-25);
# - scopes NO_UPGRADES, NO_MINOR_UPGRADES, NO_MINOR_OR_NODE_UPGRADES: GKE REST reference, Shared.Types/Scope;
# - NO_UPGRADES lasts at most 30 days; the minor scopes may last until the minor version's end of
#   support, fixed or as end_time_behavior UNTIL_END_OF_SUPPORT (MaintenanceExclusionOptions.EndTimeBehavior
#   in the GKE API reference; pulumi-gcp: "exactly one of end_time and exclusion_options.end_time_behavior").
#   The durations are GKE's "Scope of maintenance to exclude" rules
#   (https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions); that
#   section was not in the stored copies of the page, so they are not re-read here: GKE has the last
#   word at `up`.
#   A fixed end past the version's end of support is refused by GKE at `up`: llmcloud has no GKE version
#   calendar offline to check it against.
# - times in RFC 3339 "Zulu" form: GKE returns UTC, so any other offset would show a diff on every
#   preview (pulumi-gcp docs); llmcloud converts them to UTC.
MAX_MAINTENANCE_EXCLUSIONS = 20
NO_UPGRADES_MAX_DAYS = 30
MINOR_SCOPES = ("NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES")


END_OF_SUPPORT = "end_of_support"
_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"


def exclusion_time(value: Any) -> Any:
    """A start/end value as an aware datetime; None when it is not an RFC 3339 time with an offset."""
    import re
    from datetime import datetime

    if isinstance(value, str):
        if not re.match(_RFC3339, value):
            return None
        try:
            value = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    return value


def _utc(value: Any) -> str:
    from datetime import UTC

    return exclusion_time(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def maintenance_exclusions(r: Any) -> list[dict[str, str | None]]:
    """The stack's exclusions as the cluster takes them: name, start, end (or None with
    end_time_behavior UNTIL_END_OF_SUPPORT), scope; times in UTC."""
    from . import gcp_options

    out = []
    for e in gcp_options(r).maintenance_exclusions or []:
        end = e.end
        out.append(
            {
                "name": e.name,
                "start": _utc(e.start),
                "end": None if end == END_OF_SUPPORT else _utc(end),
                "scope": e.scope,
                "end_time_behavior": "UNTIL_END_OF_SUPPORT" if end == END_OF_SUPPORT else None,
            }
        )
    return out


def check_maintenance_exclusions(loaded: Any) -> list[Any]:
    gcp = getattr(loaded.spec, "gcp", None)
    exclusions = list(getattr(gcp, "maintenance_exclusions", None) or [])
    errors = []
    base = ("gcp", "maintenance_exclusions")
    if len(exclusions) > MAX_MAINTENANCE_EXCLUSIONS:
        errors.append(
            loaded.error(
                base,
                f"{len(exclusions)} maintenance exclusions: GKE keeps at most {MAX_MAINTENANCE_EXCLUSIONS} per cluster",
                "remove past or overlapping exclusions",
            )
        )
    seen: dict[str, int] = {}
    for i, e in enumerate(exclusions):
        path = (*base, i)
        if e.name in seen:
            errors.append(loaded.error((*path, "name"), f"exclusion name {e.name!r} is used twice", "each name once"))
        seen.setdefault(e.name, i)
        times = {}
        for k in ("start", "end"):
            value = getattr(e, k)
            if k == "end" and value == END_OF_SUPPORT:
                continue
            times[k] = exclusion_time(value)
            if times[k] is None:
                errors.append(
                    loaded.error(
                        (*path, k),
                        f"{k} {str(value)!r} is not an RFC 3339 time with a UTC offset (Z for UTC)"
                        + (" (end_of_support is the other choice)" if k == "end" else ""),
                        "e.g. 2026-12-20T00:00:00Z or 2026-12-20T01:00:00+01:00",
                    )
                )
        if None in times.values():
            continue
        if e.end == END_OF_SUPPORT:
            if e.scope not in MINOR_SCOPES:
                errors.append(
                    loaded.error(
                        (*path, "end"),
                        f"end_of_support is for the minor scopes; a {e.scope} exclusion lasts at most "
                        f"{NO_UPGRADES_MAX_DAYS} days",
                        "a fixed end, or scope: " + " / ".join(MINOR_SCOPES),
                    )
                )
            continue
        start, end = times["start"], times["end"]
        if end <= start:
            errors.append(loaded.error((*path, "end"), "end is not after start", "an end later than start"))
        elif e.scope == "NO_UPGRADES" and (end - start).total_seconds() > NO_UPGRADES_MAX_DAYS * 86400:
            days = (end - start).total_seconds() / 86400
            errors.append(
                loaded.error(
                    (*path, "end"),
                    f"a NO_UPGRADES exclusion lasts at most {NO_UPGRADES_MAX_DAYS} days; this one {days:.1f}",
                    f"end within {NO_UPGRADES_MAX_DAYS} days of start, or scope: NO_MINOR_UPGRADES / "
                    "NO_MINOR_OR_NODE_UPGRADES (up to the version's end of support)",
                )
            )
    return errors


# Flex-start and reservations (node_pools.<name>.provisioning), checked 2026-12-01 against GKE "About
# flex-start provisioning" (https://cloud.google.com/kubernetes-engine/docs/concepts/dws): GPUs, TPUs in
# single-host slices, and H4D; a node runs at most seven days; billed at Dynamic Workload Scheduler prices
# (discounts "up to 53 %", no fixed rate: the cost preview prices it as on demand). The node pool
# settings (autoscaling from 0 nodes, reservation affinity none, auto-repair off, location policy ANY)
# are those of GKE's flex-start guide command; its English page was not among the stored copies, so
# they were checked against public flex-start node pool configurations instead (same four settings).
# Upgrades: GKE uses short-lived upgrades for flex-start nodes (node-pool-upgrade-strategies).
# pulumi-gcp 10.2.0 NodePoolNodeConfigArgs has flex_start and reservation_affinity
# (SPECIFIC_RESERVATION by the key compute.googleapis.com/reservation-name).
PROVISIONING_HINT = "set spot: true, or provisioning: flex_start, or provisioning: reservation with reservation: <name>"


def _check_provisioning(loaded: Any, r: Any) -> list[Any]:
    errors = []
    for name, spec in (getattr(loaded.spec, "node_pools", None) or {}).items():
        path = ("node_pools", name)
        pool = r.node_pools.get(name)
        how = spec.provisioning
        if how and spec.spot:
            errors.append(
                loaded.error(
                    (*path, "provisioning"),
                    f"provisioning: {how} and spot: true are two ways to buy the same nodes",
                    "one of them",
                )
            )
        if how == "reservation" and not spec.reservation:
            errors.append(
                loaded.error(
                    (*path, "provisioning"),
                    "provisioning: reservation names no reservation",
                    "reservation: <name> (or projects/<project>/reservations/<name>)",
                )
            )
        if spec.reservation and how != "reservation":
            errors.append(
                loaded.error(
                    (*path, "reservation"),
                    "reservation is set but the pool does not use it",
                    "provisioning: reservation",
                )
            )
        if how == "flex_start" and pool is not None:
            if pool.kind not in ("gpu", "tpu"):
                errors.append(
                    loaded.error(
                        (*path, "provisioning"),
                        f"flex-start provisions GPU and TPU nodes; {pool.machine_type} has neither",
                        "flex_start on a GPU or TPU pool, or no provisioning",
                    )
                )
            elif pool.kind == "tpu" and pool.hosts_per_slice > 1:
                errors.append(
                    loaded.error(
                        (*path, "provisioning"),
                        f"flex-start takes single-host TPU slices only; {pool.tpu_topology} spans "
                        f"{pool.hosts_per_slice} hosts",
                        "a one-host topology, or spot / reservation",
                    )
                )
    return errors


# GKE refuses cluster and node pool names over 40 characters (its API: "must be a match of regex
# '(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)' ... and must be no longer than 40 characters"). llmcloud leaves both
# to Pulumi's autonaming of the logical names llm-<environment>, llm-<environment>-system and
# llm-<environment>-<pool> (components/gcp/platform.py and cluster.py).
GKE_NAME_MAX = 40


def _gke_name_errors(loaded: Any, r: Any) -> list[Any]:
    from ..cloud import AUTONAME_SUFFIX, autonamed_pool_errors

    system = f"llm-{r.environment}-system"  # the longest of the cluster's own names
    length = len(system) + AUTONAME_SUFFIX
    errors = []
    if length > GKE_NAME_MAX:
        errors.append(
            loaded.error(
                ("environment",),
                f"GKE would name the system node pool {system}-<7 random characters>, "
                f"{length} characters; GKE allows {GKE_NAME_MAX}",
                f"an environment name of at most {GKE_NAME_MAX - AUTONAME_SUFFIX - len('llm--system')} characters",
            )
        )
    return errors + autonamed_pool_errors(loaded, r, service="GKE", what="node pool", limit=GKE_NAME_MAX)


def check(loaded: Any, r: Any) -> list[Any]:
    errors = check_maintenance_exclusions(loaded) + _check_provisioning(loaded, r) + _gke_name_errors(loaded, r)
    for name, pool in r.node_pools.items():
        path = ("node_pools", name)
        reason = NO_ON_DEMAND.get(pool.machine_type)
        if reason and not pool.spot and not pool.provisioning:
            errors.append(
                loaded.error(
                    (*path, "spot"),
                    f"{pool.machine_type} cannot run on demand: {reason}",
                    PROVISIONING_HINT
                    + (
                        "; or accelerators_per_node: 8 (a3-highgpu-8g is sold on demand)"
                        if pool.machine_type.startswith("a3-highgpu-")
                        else ""
                    ),
                )
            )
        elif reason and pool.provisioning == "reservation" and pool.machine_type.startswith("a3-highgpu-"):
            errors.append(
                loaded.error(
                    (*path, "provisioning"),
                    f"{pool.machine_type} cannot use a reservation: {reason}",
                    "spot: true or provisioning: flex_start",
                )
            )
    return errors


# Programs outside Python that `up` needs on this machine, with how to get them. The kubeconfig llmcloud
# hands the Kubernetes provider authenticates with the plugin (components/gcp/cluster.py: kubeconfig).
# https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
TOOLS = {
    "gke-gcloud-auth-plugin": "the Kubernetes provider signs in to GKE with it: `gcloud components install "
    "gke-gcloud-auth-plugin`, or the google-cloud-cli-gke-gcloud-auth-plugin package "
    "(apt/dnf)",
}


def deploy_blockers(r: Any) -> list[str]:
    """What would make a deployed stack unusable though it plans fine: `up` refuses these (a preview
    does not, so placeholder stacks still plan). Authorizing only documentation ranges (the placeholder
    in stacks/prod.yaml) locks everyone out of the API server, the Kubernetes provider included."""
    docs = documentation_ranges(r.authorized_networks)
    if docs and len(docs) == len(r.authorized_networks) and not r.private_endpoint:
        return [
            f"cluster.authorized_networks lists only documentation ranges ({', '.join(docs)}): nobody, "
            "llmcloud included, could reach the API server; put your office/VPN/CI egress ranges there"
        ]
    return []
