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
# The Kubernetes node label that names a node's pool: model servers select by it, device plugins and the
# cluster autoscaler place themselves by it, the cost engine finds a node pool's stack key by it.
POOL_LABEL = "llmcloud.dev/pool"
SYSTEM_POOL = "system"  # the pool value of the cluster's system (CPU) nodes

# Each cloud's rules (which arguments carry labels, key and value formats, the limit) are members of its
# Cloud object (components/<cloud>/__init__.py); this module applies them.


def _cloud(cloud: str) -> Any:
    from . import registry

    return registry.cloud(cloud)


# ---- sanitizers: a label a cloud would reject becomes one it accepts (never an error at deploy)


def sanitize(labels: Mapping[str, str], cloud: str) -> dict[str, str]:
    """Labels in the cloud's format. llmcloud's own keys come first so a limit never drops them."""
    door = _cloud(cloud)
    ordered = sorted(labels.items(), key=lambda kv: (not kv[0].startswith("llmcloud-"), kv[0]))
    out: dict[str, str] = {}
    for key, value in ordered:
        if len(out) >= door.max_labels:
            break
        out.setdefault(door.label_key(key), door.label_value(value))
    return out


def valid(labels: Mapping[str, str], cloud: str) -> list[str]:
    """What the cloud would reject in `labels` (empty: all accepted). Tests use this on plans."""
    door = _cloud(cloud)
    problems = []
    if len(labels) > door.max_labels:
        problems.append(f"{len(labels)} labels, more than {door.max_labels}")
    for key, value in labels.items():
        if not isinstance(value, str):
            problems.append(f"{key}: value {value!r} is not a string")
            continue
        problem = door.label_problem(key, value)
        if problem:
            problems.append(problem)
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


def class_for(type_token: str) -> type | None:
    """The SDK class of a Pulumi type token: gcp:storage/bucket:Bucket -> pulumi_gcp.storage.Bucket."""
    from . import registry

    door = registry.by_token(type_token)
    parts = type_token.split(":")
    if door is None or len(parts) != 3:
        return None
    module = parts[1].split("/")[0]
    try:
        mod = importlib.import_module(f"{door.sdk_module}.{module}" if module != "index" else door.sdk_module)
    except ImportError:
        return None
    return getattr(mod, parts[2], None)


def _map_params(cls: type) -> dict[str, Any]:
    """The resource's arguments whose type is a map of strings (how every cloud types labels/tags)."""
    init = getattr(cls, "_internal_init", None) or cls.__init__  # type: ignore[misc]
    try:
        params = inspect.signature(init).parameters
    except (TypeError, ValueError):
        return {}
    return {name: p.annotation for name, p in params.items()}


@functools.cache
def label_fields(type_token: str) -> tuple[str, ...]:
    """Where `type_token` takes the cloud's labels: ("labels",), ("tags",), ("resource_labels",
    "node_config.resource_labels"), ... or () when it takes none. Built from the SDK once per type."""
    from . import registry

    door = registry.by_token(type_token)
    cls = class_for(type_token) if door else None
    if cls is None or door is None:
        return ()
    params = _map_params(cls)
    fields = [name for name in door.label_fields if name in params and "Mapping" in str(params[name])]
    for outer, inner in door.nested_label_fields:
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


# ---- applying them


def merge(existing: Any, labels: Mapping[str, str]) -> dict[str, str]:
    """The stack's labels added to a resource's own: keys the resource already sets are kept."""
    return {**labels, **dict(existing or {})}


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
