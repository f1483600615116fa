"""Labels and tags on every cloud resource that takes them: one mechanism for all three clouds.

The program registers one stack transformation (`register`) before it declares anything; it adds the
stack's labels (llmcloud-stack, llmcloud-environment, llmcloud-owner, llmcloud-expires when the stack
expires, and the stack file's `labels:`) to every resource whose SDK class has a labels/tags argument,
in that cloud's format. Keys a component sets itself are kept. Which resources "accept labels" is read
from the installed SDK (the arguments of each resource class), so a new resource type is covered
without a list to maintain.

Pure functions first (sanitizers, the SDK table, merging) so tests call them directly; pulumi is
imported only inside `register`, so `resolve` (and `llmcloud validate`) can use the sanitizers.
Rules: GCP https://cloud.google.com/compute/docs/labeling-resources#requirements,
AWS https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions,
Azure https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

STACK_KEY = "llmcloud-stack"
ENVIRONMENT_KEY = "llmcloud-environment"
OWNER_KEY = "llmcloud-owner"
EXPIRES_KEY = "llmcloud-expires"
REQUIRED_KEYS = (STACK_KEY, ENVIRONMENT_KEY, OWNER_KEY)

GCP_MAX_LABELS = 64
AWS_MAX_TAGS = 50
AZURE_MAX_TAGS = 50

# The argument that carries the cloud's labels, per cloud, in the SDKs' snake_case. GCP names it
# `labels` on most resources and `resource_labels` on GKE clusters (whose `labels` do not exist) and
# inside node configs (where `labels` are Kubernetes node labels, not GCP labels).
LABEL_ARGS: dict[str, tuple[str, ...]] = {"gcp": ("labels", "resource_labels"), "aws": ("tags",),
                                          "azure": ("tags",)}
NESTED_ARGS: dict[str, tuple[tuple[str, str], ...]] = {"gcp": (("node_config", "resource_labels"),)}
SDK_MODULE = {"gcp": "pulumi_gcp", "aws": "pulumi_aws", "azure": "pulumi_azure_native"}
TOKEN_PREFIX = {"gcp": "gcp", "aws": "aws", "azure-native": "azure"}

_GCP_BAD = re.compile(r"[^a-z0-9_-]")
_AWS_BAD = re.compile(r"[^\w .:/=+\-@]", re.UNICODE)
_AZURE_BAD = re.compile(r"[<>%&\\?/]")


# ---- sanitizers: a label a cloud would reject becomes one it accepts (never an error at deploy)

def gcp_key(key: str) -> str:
    """Lowercase letters, digits, _ and -; starts with a letter; at most 63 characters."""
    key = _GCP_BAD.sub("-", key.lower())
    if not key or not key[0].isalpha():
        key = "l" + key
    return key[:63]


def gcp_value(value: str) -> str:
    """Lowercase letters, digits, _ and -; may be empty; at most 63 characters."""
    return _GCP_BAD.sub("-", str(value).lower())[:63]


def aws_key(key: str) -> str:
    """At most 128 characters of letters, digits, spaces and _.:/=+-@; the aws: prefix is reserved."""
    key = _AWS_BAD.sub("_", key)
    if key.lower().startswith("aws:"):
        key = "x-" + key
    return key[:128] or "_"


def aws_value(value: str) -> str:
    return _AWS_BAD.sub("_", str(value))[:256]


def azure_key(key: str) -> str:
    """At most 512 characters, none of < > % & \\ ? /."""
    return _AZURE_BAD.sub("-", key)[:512] or "-"


def azure_value(value: str) -> str:
    return str(value)[:256]


SANITIZERS: dict[str, tuple[Callable[[str], str], Callable[[str], str], int]] = {
    "gcp": (gcp_key, gcp_value, GCP_MAX_LABELS),
    "aws": (aws_key, aws_value, AWS_MAX_TAGS),
    "azure": (azure_key, azure_value, AZURE_MAX_TAGS),
}


def sanitize(labels: Mapping[str, str], cloud: str) -> dict[str, str]:
    """Labels in the cloud's format. llmcloud's own keys come first so a limit never drops them."""
    key_fn, value_fn, limit = SANITIZERS[cloud]
    ordered = sorted(labels.items(), key=lambda kv: (not kv[0].startswith("llmcloud-"), kv[0]))
    out: dict[str, str] = {}
    for key, value in ordered:
        if len(out) >= limit:
            break
        out.setdefault(key_fn(key), value_fn(value))
    return out


def valid(labels: Mapping[str, str], cloud: str) -> list[str]:
    """What the cloud would reject in `labels` (empty: all accepted). Tests use this on plans."""
    problems = []
    limit = SANITIZERS[cloud][2]
    if len(labels) > limit:
        problems.append(f"{len(labels)} labels, more than {limit}")
    for key, value in labels.items():
        if not isinstance(value, str):
            problems.append(f"{key}: value {value!r} is not a string")
        elif cloud == "gcp" and (not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key)
                                 or not re.fullmatch(r"[a-z0-9_-]{0,63}", value)):
            problems.append(f"{key}={value}: not a GCP label")
        elif cloud == "aws" and (len(key) > 128 or len(value) > 256 or key.lower().startswith("aws:")):
            problems.append(f"{key}={value}: not an AWS tag")
        elif cloud == "azure" and (len(key) > 512 or len(value) > 256 or _AZURE_BAD.search(key)):
            problems.append(f"{key}={value}: not an Azure tag")
    return problems


def expiry_value(when: datetime) -> str:
    """A deadline in a format every cloud accepts as a label value: 2026-12-01t1800z (UTC, minutes)."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when  # naive: UTC, as the stack file says
    return when.astimezone(UTC).strftime("%Y-%m-%dt%H%Mz")


def parse_expiry_value(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.upper(), "%Y-%m-%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None


# ---- which resource types accept labels: read from the installed SDK

def cloud_of(type_token: str) -> str | None:
    return TOKEN_PREFIX.get(type_token.split(":", 1)[0])


def class_for(type_token: str) -> type | None:
    """The SDK class of a Pulumi type token: gcp:storage/bucket:Bucket -> pulumi_gcp.storage.Bucket."""
    cloud = cloud_of(type_token)
    parts = type_token.split(":")
    if cloud is None or len(parts) != 3:
        return None
    module = parts[1].split("/")[0]
    try:
        mod = importlib.import_module(f"{SDK_MODULE[cloud]}.{module}" if module != "index" else SDK_MODULE[cloud])
    except ImportError:
        return None
    return getattr(mod, parts[2], None)


def _map_params(cls: type) -> dict[str, Any]:
    """The resource's arguments whose type is a map of strings (how every cloud types labels/tags)."""
    init = getattr(cls, "_internal_init", None) or cls.__init__
    try:
        params = inspect.signature(init).parameters
    except (TypeError, ValueError):
        return {}
    return {name: p.annotation for name, p in params.items()}


@functools.cache
def label_fields(type_token: str) -> tuple[str, ...]:
    """Where `type_token` takes the cloud's labels: ("labels",), ("tags",), ("resource_labels",
    "node_config.resource_labels"), ... or () when it takes none. Built from the SDK once per type."""
    cloud = cloud_of(type_token)
    cls = class_for(type_token) if cloud else None
    if cls is None or cloud is None:
        return ()
    params = _map_params(cls)
    fields = [name for name in LABEL_ARGS[cloud] if name in params and "Mapping" in str(params[name])]
    for outer, inner in NESTED_ARGS.get(cloud, ()):
        if outer in params:
            args_cls = _args_class(cls, outer, params[outer])
            if args_cls is not None and inner in _map_params(args_cls):
                fields.append(f"{outer}.{inner}")
    return tuple(fields)


def _args_class(cls: type, name: str, annotation: Any) -> type | None:
    match = re.search(r"'(\w+Args)'", str(annotation))
    if not match:
        return None
    module = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    inputs = getattr(module, "_inputs", None)
    return getattr(inputs, match.group(1), None) or getattr(module, match.group(1), None)


def sdk_table(type_tokens: list[str]) -> dict[str, tuple[str, ...]]:
    """label_fields for several types: the table tests compare plans against."""
    return {t: label_fields(t) for t in sorted(set(type_tokens))}


# ---- applying them

def merge(existing: Any, labels: Mapping[str, str]) -> dict[str, str]:
    """The stack's labels added to a resource's own: keys the resource already sets are kept."""
    return {**labels, **dict(existing or {})}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def apply(props: dict[str, Any], fields: tuple[str, ...], labels: Mapping[str, str]) -> dict[str, Any]:
    """`props` (a resource's snake_case arguments) with `labels` merged into each of `fields`.
    Values that are Outputs are merged when they resolve; list-shaped values are left alone."""
    out = dict(props)
    for field in fields:
        if "." in field:
            outer, inner = field.split(".", 1)
            value = out.get(outer)
            if value is None:
                continue  # no block: the resource uses the cloud's defaults, which carry no labels
            out[outer] = _apply_nested(value, inner, labels)
        else:
            out[field] = _merged(out.get(field), labels)
    return out


def _merged(existing: Any, labels: Mapping[str, str]) -> Any:
    if existing is None or isinstance(existing, Mapping):
        return merge(existing, labels)
    if isinstance(existing, (list, tuple, str)):
        return existing
    import pulumi

    frozen = dict(labels)
    return pulumi.Output.from_input(existing).apply(lambda value: merge(value, frozen))


def _apply_nested(value: Any, inner: str, labels: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {**value, inner: _merged(value.get(inner), labels)}
    if hasattr(value, inner):
        clone = copy.copy(value)
        clone.__dict__ = dict(value.__dict__)  # input types keep their values in __dict__
        setattr(clone, inner, _merged(getattr(value, inner), labels))
        return clone
    return value  # an Output of a block: its labels are the component's business


def transformation(labels: Mapping[str, str]) -> Callable[[Any], Any]:
    """The stack transformation: labels onto every resource whose type accepts them."""
    import pulumi

    frozen = dict(labels)

    def transform(args: Any) -> Any:
        fields = label_fields(args.type_)
        if not fields:
            return None
        return pulumi.ResourceTransformationResult(apply(dict(args.props), fields, frozen), args.opts)

    return transform


def register(labels: Mapping[str, str]) -> None:
    """Call at the start of the program, before any resource is declared. Stack transformations run
    under the mock runtime too (register_resource_transform does not), so offline plans show them."""
    import pulumi

    pulumi.runtime.register_stack_transformation(transformation(labels))
