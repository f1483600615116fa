"""EKS Kubernetes versions: the default of a stack that pins none, and the warning before a pin leaves
standard support (pure Python; the dated facts are the catalog's `eks_versions`, checked 2026-12-01 against
https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).

A cluster on the STANDARD upgrade policy (every environment but prod) is upgraded by EKS itself the day its
version leaves standard support; on EXTENDED (prod) it starts paying $0.60 instead of $0.10 an hour. Either
way the owner wants to know beforehand: `support_warning` says so from 60 days before that day.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from .. import catalog

WARN_DAYS = 60
TODAY_ENV = "LLMCLOUD_TODAY"  # the injectable today of the rehearsal (components/clock.py), read the same way


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def today() -> dt.date:
    value = os.environ.get(TODAY_ENV)
    if value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC).date()


def eks_versions(region: str | None = None) -> dict[str, Any]:
    return catalog.load("aws").service("eks_versions", region, {}) or {}


def cluster_version(r: Any) -> str | None:
    """The version the cluster is created with: the stack's pin, else the newest in standard support."""
    if r.kubernetes_version:
        return str(r.kubernetes_version)
    newest = eks_versions(r.region).get("newest")
    return str(newest) if newest else None


def support_warning(version: str | None, versions: dict[str, Any], on: dt.date, prod: bool) -> str | None:
    """A one-line warning when `version` leaves standard support within WARN_DAYS of `on`, else None."""
    until = versions.get("standard_min_until")
    standard_min = versions.get("standard_min")
    if not version or not until or not standard_min or _minor(version) != _minor(str(standard_min)):
        return None
    end = dt.date.fromisoformat(str(until))
    days = (end - on).days
    if days < 0 or days > WARN_DAYS:
        return None
    then = (
        "the cluster moves to extended support ($0.60 instead of $0.10 per cluster-hour)"
        if prod
        else "EKS upgrades the cluster itself (upgrade policy STANDARD)"
    )
    newest = versions.get("newest")
    advice = f'; set cluster.kubernetes_version to "{newest}"' if newest else ""
    return (
        f"EKS standard support for Kubernetes {version} ends on {end.isoformat()} (in {days} days): then {then}{advice}"
    )
