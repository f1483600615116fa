"""AWS-only checks on a resolved stack: what the generic catalog look-ups in resolve cannot say.

Pure Python (no pulumi, no SDK): `validate` runs these. Call after `resolve` for cloud aws:

    if r.cloud == "aws":
        from .aws.checks import check
        errors += check(loaded, r)

Each problem is a StackError pinned to the stack file, so the CLI exits 2 before anything runs.
- The catalog lists accelerators per AZ, instance types per region (their price rows): a type
  whose accelerator a region has may still be missing there (p5e.48xlarge in us-east-1).
- Spot is sold per region: a type may be spot-capable elsewhere but not here.
- EKS versions: older than the catalog's `extended_min` cannot be created; between it and
  `standard_min` only with the EXTENDED upgrade policy, which llmcloud uses in prod only.
- Existing networks: EKS needs subnets in two AZs; a VPC id alone does not say which subnets.
- Capacity Blocks: p5e.48xlarge, p5en.48xlarge, trn2.48xlarge launch only into a reservation
  (node_pools.<p>.capacity_reservation).
- Zones are AZ IDs; the network gets at most three, none where EKS places no control plane.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .. import catalog
from ..spec.errors import StackError

_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def check(loaded: Any, r: Any) -> list[StackError]:
    """Problems with `r` (a ResolvedStack for aws) that only AWS has; empty when none."""
    cat = catalog.load("aws")
    errors: list[StackError] = []
    errors += _instance_types(loaded, r, cat)
    errors += _kubernetes_version(loaded, r, cat)
    errors += _endpoint(loaded, r)
    errors += _existing_network(loaded)
    errors += _capacity_blocks(loaded, r, cat)
    errors += _zones(loaded, r)
    errors += _dns_zone(loaded)
    errors += _node_group_names(loaded, r)
    return errors


# EKS refuses node group names over 63 characters (the installed pulumi_aws eks.NodeGroup docs: "The node group
# name can't be longer than 63 characters"). llmcloud leaves them to Pulumi's autonaming of the logical name
# llm-<environment>-<pool> (components/aws/platform.py); pulumi-aws allows up to 255 for this name, so nothing
# shortens it.
NODE_GROUP_NAME_MAX = 63


def _node_group_names(loaded: Any, r: Any) -> list[StackError]:
    from ..cloud import autonamed_pool_errors

    return autonamed_pool_errors(loaded, r, service="EKS", what="node group", limit=NODE_GROUP_NAME_MAX)


_HOSTED_ZONE_ID = re.compile(r"^(/hostedzone/)?Z[A-Z0-9]{1,31}$")


def _dns_zone(loaded: Any) -> list[StackError]:
    zone = loaded.spec.gateway.dns_zone
    if zone is None or _HOSTED_ZONE_ID.match(zone):
        return []
    return [
        loaded.error(
            ("gateway", "dns_zone"),
            f"{zone!r} is not a Route 53 hosted zone id",
            "the zone's id, e.g. Z0123456789ABCDEFGHIJ (`aws route53 list-hosted-zones-by-name "
            "--dns-name example.com`); or leave it out to look the zone up by the domain's name",
        )
    ]


def capacity_block_only(instance_type: str, region: str | None = None) -> bool:
    """Sold only as EC2 Capacity Blocks for ML (catalog `capacity_block_only`)."""
    return instance_type in (catalog.load("aws").service("capacity_block_only", region, []) or [])


def _capacity_blocks(loaded: Any, r: Any, cat: catalog.CloudCatalog) -> list[StackError]:
    errors = []
    for name, pool in r.node_pools.items():
        reservation = getattr(pool, "capacity_reservation", None)
        if capacity_block_only(pool.machine_type, r.region) and not reservation:
            errors.append(
                loaded.error(
                    ("node_pools", name, "accelerator"),
                    f"{pool.machine_type} is sold as EC2 Capacity Blocks for ML: a managed node group launches it only "
                    "into a reservation (capacity_type CAPACITY_BLOCK), never from On-Demand or Spot",
                    f"buy a Capacity Block in {r.region} and set node_pools.{name}.capacity_reservation: cr-... "
                    "(or a capacity reservation resource group ARN)",
                )
            )
        elif reservation and pool.spot:
            errors.append(
                loaded.error(
                    ("node_pools", name, "spot"),
                    "a pool launches into its capacity reservation or from Spot, not both",
                    "set spot: false",
                )
            )
    return errors


def _zones(loaded: Any, r: Any) -> list[StackError]:
    """Every pool needs one of the (at most three) AZs the network gets; EKS-excluded IDs get none."""
    from .zones import MAX_AZS, excluded_zone_ids, network_azs

    if loaded.spec.aws.subnet_ids:
        return []
    errors = []
    excluded = excluded_zone_ids(r.region)
    for i, zone in enumerate(loaded.spec.aws.zones or []):
        if zone in excluded:
            errors.append(
                loaded.error(
                    ("aws", "zones", i),
                    f"EKS places no control plane in {zone}: a cluster "
                    "subnet there fails with UnsupportedAvailabilityZoneException",
                    "drop it; the pools use the stack's other zones",
                )
            )
    azs = network_azs(r)
    for name, pool in r.node_pools.items():
        if not set(pool.zones) & set(azs):
            errors.append(
                loaded.error(
                    ("node_pools", name, "accelerator"),
                    f"the pools' accelerators need more than {MAX_AZS} AZs; this one is offered "
                    f"in {', '.join(pool.zones)} but the network has {', '.join(azs)}",
                    "set aws.zones to at most three AZ IDs that every pool's accelerator has",
                )
            )
    return errors


def _instance_types(loaded: Any, r: Any, cat: catalog.CloudCatalog) -> list[StackError]:
    errors = []
    for name, pool in r.node_pools.items():
        overridden = bool(loaded.spec.node_pools[name].machine_type.get("aws"))
        path = ("node_pools", name, *(("machine_type", "aws") if overridden else ("accelerator",)))
        if pool.accelerator == "none":
            machine = cat.cpu_machine(pool.machine_type)
            same_shape = cat.cpu_machines
        else:
            same_shape = cat.machines_for(pool.accelerator, pool.accelerators_per_node)
            machine = next((m for m in same_shape if m.machine_type == pool.machine_type), None)
        if machine is None:
            continue  # resolve reported it
        price = cat.machine_price(r.region, machine)
        if price is None:
            here = [m.machine_type for m in same_shape if m.serving and cat.machine_price(r.region, m)]
            elsewhere = sorted(region for region in cat.regions if cat.machine_price(region, machine))
            shape = f"{pool.accelerators_per_node} × {pool.accelerator}"
            if pool.accelerator == "none":
                shape = "CPU"
            hint = f"no {shape} instance type in {r.region}"
            if here:
                hint = (
                    f"instance types with {shape} in {r.region}: {', '.join(here)} "
                    f"(set node_pools.{name}.machine_type.aws)"
                )
            where = f" (it is in {', '.join(elsewhere)})" if elsewhere else ""
            errors.append(loaded.error(path, f"{pool.machine_type} is not offered in {r.region}{where}", hint))
        elif pool.spot and price.spot is None:
            errors.append(
                loaded.error(
                    ("node_pools", name, "spot"),
                    f"{pool.machine_type} has no spot capacity in {r.region}",
                    "set spot: false (on-demand), or another region",
                )
            )
    system = r.system_machine_type
    system_row = cat.cpu_machine(system)
    if system_row is not None and cat.machine_price(r.region, system_row) is None:
        offered = [m.machine_type for m in cat.cpu_machines if cat.machine_price(r.region, m)]
        errors.append(
            loaded.error(
                ("cluster", "system_machine_type", "aws"),
                f"{system} is not offered in {r.region}",
                "allowed: " + ", ".join(offered),
            )
        )
    return errors


def _kubernetes_version(loaded: Any, r: Any, cat: catalog.CloudCatalog) -> list[StackError]:
    versions = cat.service("eks_versions", r.region, {}) or {}
    if not r.kubernetes_version or not versions:
        return []
    path = ("cluster", "kubernetes_version")
    current = _minor(r.kubernetes_version)
    standard, extended = str(versions["standard_min"]), str(versions["extended_min"])
    if current < _minor(extended):
        return [
            loaded.error(
                path,
                f"Kubernetes {r.kubernetes_version} is no longer offered by EKS (catalog as of {cat.as_of})",
                f'kubernetes_version: "{standard}" or newer',
            )
        ]
    if current < _minor(standard) and r.environment != "prod":
        # Non-prod clusters use the STANDARD upgrade policy (no extended-support fee), which EKS refuses
        # for a version already in extended support.
        return [
            loaded.error(
                path,
                f"Kubernetes {r.kubernetes_version} is in EKS extended support "
                f"(catalog as of {cat.as_of}); non-prod environments use the STANDARD upgrade "
                "policy, which cannot start on it",
                f'kubernetes_version: "{standard}" or newer',
            )
        ]
    return []


def _endpoint(loaded: Any, r: Any) -> list[StackError]:
    errors = []
    if r.private_endpoint and r.authorized_networks:
        errors.append(
            loaded.error(
                ("cluster", "authorized_networks"),
                "EKS applies authorized_networks to the public endpoint only, and private_endpoint: true removes it",
                "drop authorized_networks, or set private_endpoint: false",
            )
        )
    for i, cidr in enumerate(r.authorized_networks):
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            errors.append(
                loaded.error(
                    ("cluster", "authorized_networks", i),
                    f"{cidr!r} is not a CIDR block",
                    "an IPv4 network such as 203.0.113.0/24 (host bits zero)",
                )
            )
            continue
        if net.version != 4:
            errors.append(
                loaded.error(
                    ("cluster", "authorized_networks", i),
                    f"{cidr} is IPv6; EKS public access CIDRs are IPv4",
                    "an IPv4 network such as 203.0.113.0/24",
                )
            )
    return errors


def _existing_network(loaded: Any) -> list[StackError]:
    spec = loaded.spec.aws
    errors = []
    if spec.vpc_id and not spec.subnet_ids:
        errors.append(
            loaded.error(
                ("aws", "vpc_id"),
                "a VPC id alone does not say where nodes go",
                "add aws.subnet_ids: private subnets of that VPC in two or more AZs",
            )
        )
    if spec.vpc_id and not _VPC_ID.match(spec.vpc_id):
        errors.append(loaded.error(("aws", "vpc_id"), f"{spec.vpc_id!r} is not a VPC id", "vpc-0123456789abcdef0"))
    if spec.subnet_ids is not None:
        if len(set(spec.subnet_ids)) < 2:
            errors.append(
                loaded.error(
                    ("aws", "subnet_ids"),
                    f"EKS needs subnets in at least two availability zones, got {len(set(spec.subnet_ids))} subnet(s)",
                    "list private subnets in two or more AZs",
                )
            )
        for i, subnet in enumerate(spec.subnet_ids):
            if not _SUBNET_ID.match(subnet):
                errors.append(
                    loaded.error(("aws", "subnet_ids", i), f"{subnet!r} is not a subnet id", "subnet-0123456789abcdef0")
                )
    return errors


# Programs outside Python that `preview` and `up` need on this machine, with how to get them. The kubeconfig
# llmcloud hands the Kubernetes provider gets its token from `aws eks get-token` (components/aws/cluster.py).
TOOLS = {
    "aws": "the Kubernetes provider signs in to EKS with `aws eks get-token`: install the AWS CLI v2, "
    "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
}
