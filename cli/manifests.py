"""llmcloud render: the Kubernetes manifests of the serving layer as YAML, from the offline plan.

Every plan step whose type starts with `kubernetes:` and whose inputs are an object (apiVersion,
kind, metadata) is written as it would be applied. Values known only after deploy appear as
"<computed>", secrets as "[secret]", always as placeholders inside the structure the API expects (a map
whose contents are unknown becomes a map with one placeholder entry, never a string), so the output
passes schema validation and `kubectl apply --dry-run`; the real values come with `up`.
Helm releases (KEDA, LeaderWorkerSet) are not objects; they are listed on stderr.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from .common import FAILED, INVALID, fail, load, notice, require_sdk

# Keys in the order people read a manifest.
_ORDER = (
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "type",
    "data",
    "stringData",
    "rules",
    "roleRef",
    "subjects",
)


# Fields whose value is a map of strings: an unknown one is rendered as a map holding one placeholder.
MAP_FIELDS = frozenset({"annotations", "labels", "data", "stringData", "matchLabels", "nodeSelector"})
PLACEHOLDER_KEY = "llmcloud.dev/known-after-deploy"


def placeholders_inside_maps(value: Any, key: str = "") -> Any:
    from llmcloud.components.engine.plan import COMPUTED, SECRET

    if isinstance(value, dict):
        return {k: placeholders_inside_maps(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholders_inside_maps(v, key) for v in value]
    if value in (COMPUTED, SECRET) and key in MAP_FIELDS:
        return {PLACEHOLDER_KEY if key in ("annotations", "labels") else "value": value}
    return value


def objects(plan: Any) -> list[dict[str, Any]]:
    """The Kubernetes objects of a plan, in plan order, with placeholders inside maps."""
    out = []
    for step in plan.steps:
        if not step.type.startswith("kubernetes:") or not step.custom:
            continue
        inputs = step.inputs
        if "apiVersion" in inputs and "kind" in inputs:
            ordered = {k: inputs[k] for k in _ORDER if k in inputs}
            ordered.update({k: v for k, v in inputs.items() if k not in ordered})
            out.append(placeholders_inside_maps(ordered))
    return out


def helm_releases(plan: Any) -> list[str]:
    return [
        f"{s.inputs.get('chart')} {s.inputs.get('version')} (namespace {s.inputs.get('namespace')})"
        for s in plan.steps
        if s.type == "kubernetes:helm.sh/v3:Release"
    ]


def file_name(obj: dict[str, Any], taken: set[str]) -> str:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", "unnamed"))
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{obj['kind']}-{name}")
    candidate = f"{base}.yaml"
    if candidate in taken and meta.get("namespace"):
        candidate = f"{base}-{meta['namespace']}.yaml"
    n = 2
    while candidate in taken:
        candidate = f"{base}-{n}.yaml"
        n += 1
    taken.add(candidate)
    return candidate


def to_yaml(obj: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=120)


def run(stack: str, cloud: str | None, out_dir: str | None) -> None:
    _, r = load(stack, cloud)
    require_sdk(r.cloud)
    from llmcloud.components.engine import offline
    from llmcloud.components.k8s.serving import missing_secrets

    for var in missing_secrets(r):
        notice(f"{var} is not set: its Secret renders empty")
    plan = offline.run(r)
    objs = objects(plan)
    for release in helm_releases(plan):
        notice(f"Helm release not rendered: {release}")
    if out_dir is None:
        sys.stdout.write("".join(f"---\n{to_yaml(o)}" for o in objs))
        return
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        fail(INVALID, f"-o {target}: exists and is not a directory; give a directory (it is created if missing)")
    taken: set[str] = set()
    try:
        target.mkdir(parents=True, exist_ok=True)
        for obj in objs:
            (target / file_name(obj, taken)).write_text(to_yaml(obj), encoding="utf-8")
    except OSError as exc:
        fail(FAILED, f"-o {target}: cannot write the manifests ({exc.strerror or exc})")
    notice(f"wrote {len(objs)} manifests to {target}")
