"""The clouds llmcloud knows: one line per cloud, each naming its `Cloud` object (components/cloud.py).

Cloud-neutral code reaches a cloud only through `cloud(name)`. A cloud package's `__init__` imports
nothing heavy, so looking a cloud up is cheap; its SDK is imported only by the members that build
resources, so `llmcloud --help`, `validate` and a user with one cloud's SDK installed never import
another cloud's SDK (each is 250-350 MB of modules).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cloud import Cloud

# name -> "module:attribute" of its Cloud object. Adding a cloud is one line here.
_CLOUDS: dict[str, str] = {
    "gcp": "llmcloud.components.gcp:CLOUD",
    "aws": "llmcloud.components.aws:CLOUD",
    "azure": "llmcloud.components.azure:CLOUD",
}

CLOUDS: tuple[str, ...] = tuple(_CLOUDS)  # the list of clouds: every other module reads it from here

_LOADED: dict[str, Cloud] = {}


class MissingPrerequisite(Exception):
    """Something outside llmcloud is needed first (an SDK extra, the pulumi CLI, credentials): exit 4."""


class NotImplementedForCloud(Exception):
    """The capability has no implementation on this cloud yet (or ever): the message says which and why."""


class UnknownCloud(KeyError):
    """A cloud name no registered cloud has; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def names() -> tuple[str, ...]:
    """Every registered cloud, the real ones first (a test may register more with `register`)."""
    return tuple(_CLOUDS) + tuple(n for n in _LOADED if n not in _CLOUDS)


def cloud(name: str) -> Cloud:
    """The Cloud object of `name`; UnknownCloud (listing the valid names) for any other name."""
    found = _LOADED.get(name)
    if found is not None:
        return found
    target = _CLOUDS.get(name)
    if target is None:
        raise UnknownCloud(f"unknown cloud {name!r}; known: {', '.join(names())}")
    module, attribute = target.split(":")
    found = getattr(importlib.import_module(module), attribute)
    _LOADED[name] = found
    return found


def clouds() -> list[Cloud]:
    return [cloud(n) for n in names()]


def by_token(type_token: str) -> Cloud | None:
    """The cloud whose provider owns a Pulumi type token (gcp:storage/bucket:Bucket -> gcp), else None."""
    prefix = type_token.split(":", 1)[0]
    return next((c for c in clouds() if c.token_prefix == prefix), None)


def register(obj: Cloud) -> None:
    """Register one more cloud through the same door (tests plug in a fake cloud this way)."""
    _LOADED[obj.name] = obj


def unregister(name: str) -> None:
    if name not in _CLOUDS:
        _LOADED.pop(name, None)


def data_resource_types() -> frozenset[str]:
    """Every cloud's Pulumi types that hold data (the weights): the real engine keeps them on destroy, policy
    requires them protected in prod."""
    return frozenset(t for c in clouds() for t in c.data_resource_types)


def unsupported() -> dict[tuple[str, str], str]:
    """The one table of what a cloud cannot do: {(cloud, feature): reason}, from each Cloud's `unsupported`."""
    return {(c.name, feature): reason for c in clouds() for feature, reason in c.unsupported.items()}


def require_sdk(name: str) -> None:
    """MissingPrerequisite, with the pip command, unless `name`'s Pulumi SDK is installed."""
    import importlib.util

    c = cloud(name)
    if importlib.util.find_spec(c.sdk_module) is None:
        raise MissingPrerequisite(
            f"the {name} SDK ({c.sdk_module.replace('_', '-')}) is not installed: pip install 'llmcloud[{c.pip_extra}]'"
        )
