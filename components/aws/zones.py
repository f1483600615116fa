"""Which availability zones an EKS stack uses, by AZ ID (pure Python: `checks` and `platform` share it).

AZ names (us-east-1a) map to physical zones differently in every account; AZ IDs (use1-az1) do not, so
the catalog lists offerings per ID and subnets are placed with `availability_zone_id`.
https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html
- IDs where EKS places no control plane (catalog `eks_excluded_zone_ids`, e.g. use1-az3) get no subnet:
  the cluster is given every private subnet, and one there fails with UnsupportedAvailabilityZoneException.
- At most three AZs: each one costs a NAT gateway in prod and a subnet pair everywhere, and three already
  survive one zone's outage. The AZs are chosen so that every pool has one (fewest AZs that cover every
  pool first, then the AZs serving most pools), padded to the two AZs EKS needs.
"""

from __future__ import annotations

from typing import Any

from .. import catalog
from . import aws_options

MAX_AZS = 3
MIN_AZS = 2


def excluded_zone_ids(region: str) -> set[str]:
    return set(catalog.load("aws").service("eks_excluded_zone_ids", region, []) or [])


def network_azs(r: Any) -> tuple[str, ...]:
    """The AZ IDs of the VPC's subnets for `r` (a ResolvedStack on aws), two or three, sorted."""
    cat = catalog.load("aws")
    excluded = excluded_zone_ids(r.region)
    preferred = [z for z in (aws_options(r).zones or []) if z not in excluded]
    order = preferred + [z for z in sorted(cat.regions.get(r.region, {})) if z not in excluded and z not in preferred]
    pools = [set(p.zones) - excluded for p in r.node_pools.values()]
    pools = [p for p in pools if p]

    def rank(zone: str, among: list[set[str]]) -> tuple[int, int]:
        return sum(zone in p for p in among), -order.index(zone)

    chosen: list[str] = []
    uncovered = list(pools)
    while uncovered and len(chosen) < MAX_AZS:
        best = max((z for z in order if z not in chosen), key=lambda z: rank(z, uncovered), default=None)
        if best is None or rank(best, uncovered)[0] == 0:
            break
        chosen.append(best)
        uncovered = [p for p in uncovered if best not in p]
    for zone in sorted((z for z in order if z not in chosen), key=lambda z: rank(z, pools), reverse=True):
        if len(chosen) >= MAX_AZS or (len(chosen) >= MIN_AZS and rank(zone, pools)[0] == 0):
            break
        chosen.append(zone)
    return tuple(sorted(chosen))


def pool_azs(r: Any, pool: Any) -> tuple[str, ...]:
    """The network AZs a pool's node group spans: those of the pool's zones that have subnets."""
    azs = set(network_azs(r))
    return tuple(z for z in pool.zones if z in azs)
