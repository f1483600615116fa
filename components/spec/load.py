"""Load a stack file: YAML with positions, `extends:` merged, defaults, pydantic validation and the
cloud-neutral cross-field checks. Every problem found is reported at once, each with file:line:col.
"""

from __future__ import annotations

import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Location, Path, StackError, StackErrors, did_you_mean, dotted
from .model import StackSpec
from .yamlpos import Positions, parse_yaml

MAX_EXTENDS_DEPTH = 8

# Shapes of real credentials. A match anywhere in a stack file is refused (secrets go by reference),
# and is never echoed back in an error message.
SECRET_PATTERNS = [
    re.compile(r"hf_[A-Za-z0-9]{30,}"),  # Hugging Face user access token
    re.compile(r"sk-[A-Za-z0-9_-]{20,}"),  # OpenAI-style API key
    re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}"),  # AWS access key id
    re.compile(r"AIza[0-9A-Za-z_-]{35}"),  # Google API key
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"),  # GitHub token
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)AccountKey=[A-Za-z0-9+/=]{20,}"),  # Azure storage connection string
]


def looks_secret(value: str) -> bool:
    return any(p.search(value) for p in SECRET_PATTERNS)


def redact(text: str) -> str:
    for p in SECRET_PATTERNS:
        text = p.sub("[redacted]", text)
    return text


@dataclass(frozen=True)
class LoadedStack:
    spec: StackSpec
    file: str
    positions: Positions

    def error(self, path: Path, message: str, allowed: str = "", *, key: bool = False) -> StackError:
        return StackError(path, redact(message), redact(allowed), self.positions.find(path, key=key))


def stack_path(stack: str, root: str | os.PathLike[str] | None = None) -> FsPath:
    """`dev` -> stacks/dev.yaml (under `root`, default the working directory); a path stays a path."""
    candidate = FsPath(stack)
    if candidate.suffix in (".yaml", ".yml") or os.sep in stack or "/" in stack:
        return candidate
    return FsPath(root or ".") / "stacks" / f"{stack}.yaml"


def _missing_file(path: FsPath) -> StackErrors:
    stacks_dir = path.parent
    known = sorted(p.stem for p in stacks_dir.glob("*.yaml")) if stacks_dir.is_dir() else []
    allowed = f"known stacks in {stacks_dir}: {', '.join(known)}" if known else "give an environment name or a path"
    hint = did_you_mean(path.stem, known)
    return StackErrors([StackError((), f"stack file not found{hint}", allowed, Location(str(path), 1, 1))])


def _read(path: FsPath, chain: tuple[str, ...]) -> tuple[dict[str, Any], Positions]:
    if not path.is_file():
        raise _missing_file(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problem = StackError((), f"cannot read the file ({exc.strerror})", "", Location(shown, 1, 1))
        raise StackErrors([problem]) from None
    value, positions = parse_yaml(raw, shown)
    if value is None:
        raise StackErrors([StackError((), "the file is empty", "a stack file is a YAML map; see stacks/dev.yaml",
                                      Location(shown, 1, 1))])
    if not isinstance(value, dict):
        kind = type(value).__name__.replace("str", "text").replace("list", "a list")
        raise StackErrors([StackError((), f"the top level is {kind}, not a map",
                                      "a stack file is a YAML map of keys such as cloud:, node_pools:, models:",
                                      positions.find(()))])
    base_ref = value.pop("extends", None)
    if base_ref is None:
        return value, positions
    if not isinstance(base_ref, str):
        raise StackErrors([StackError(("extends",), "must be a file name", "e.g. extends: base.yaml",
                                      positions.find(("extends",)))])
    base_path = (path.parent / base_ref).resolve()
    if str(base_path) in chain or base_path == path.resolve():
        raise StackErrors([StackError(("extends",), f"{base_ref} extends itself (cycle)",
                                      "a base file may not extend its child", positions.find(("extends",)))])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise StackErrors([StackError(("extends",), "extends chain too long",
                                      f"at most {MAX_EXTENDS_DEPTH} levels", positions.find(("extends",)))])
    if not base_path.is_file():
        raise StackErrors([StackError(("extends",), f"base file {base_ref} not found",
                                      f"a path relative to {path.parent}", positions.find(("extends",)))])
    base_value, base_positions = _read(path.parent / base_ref, (*chain, str(path.resolve())))
    return deep_merge(base_value, value), positions.merged_over(base_positions)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Maps merge key by key; anything else in `override` replaces the base value."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_stack(stack: str, root: str | os.PathLike[str] | None = None) -> LoadedStack:
    """Read, merge and validate a stack file; raise StackErrors listing every problem."""
    path = stack_path(stack, root)
    data, positions = _read(path, ())
    data.setdefault("environment", path.stem)
    errors = [
        StackError(p, "looks like a literal secret (token or key)",
                   "secrets go by reference: put it in an environment variable and name that variable "
                   "(e.g. hf_token_env: HF_TOKEN)", positions.find(p))
        for p, v in _walk(data) if isinstance(v, str) and looks_secret(v)
    ]
    spec = None
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as exc:
        errors += [_convert(e, positions, str(path)) for e in exc.errors(include_url=False)]
    if spec is not None and not errors:
        loaded = LoadedStack(spec, str(path), positions)
        errors += check_neutral(loaded)
        if not errors:
            return loaded
    raise StackErrors(_sorted(errors))


def _walk(value: Any, path: Path = ()) -> typing.Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))
    else:
        yield path, value


def _sorted(errors: list[StackError]) -> list[StackError]:
    def key(e: StackError) -> tuple[str, int, int]:
        loc = e.location
        return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)

    seen: set[str] = set()
    out = []
    for e in sorted(errors, key=key):
        text = e.render()
        if text not in seen:
            seen.add(text)
            out.append(e)
    return out


# ---------------------------------------------------------------- pydantic error -> one clear line


def _model_at(loc: Path) -> type[BaseModel] | None:
    """The pydantic model whose fields live at `loc`; map keys and list indexes are stepped over."""
    current: Any = StackSpec
    skip = False
    for part in loc:
        if skip:  # `part` is a map key or list index: the value type stays
            skip = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _unwrap_optional(field.annotation)
        if typing.get_origin(current) in (dict, list):
            current, skip = _unwrap_optional(typing.get_args(current)[-1]), True
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


_TYPE_NAMES = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a map",
               type(None): "null"}

_PATTERN_HELP = {
    "source": "hf://org/model, gs://bucket/path, s3://bucket/path, az://container/path or bucket://<bucket>/<path>",
    "kubernetes_version": 'a quoted minor version such as "1.31"',
    "hf_token_env": "the NAME of an environment variable, e.g. HF_TOKEN (never the token itself)",
    "project": "a Google Cloud project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter",
    "tpu_topology": 'a topology such as "2x2", "2x4" or "4x4"',
    "environment": "lowercase letters, digits and hyphens, starting with a letter, at most 30 characters",
}
_NAME_HELP = "names are lowercase letters, digits and hyphens, starting with a letter, at most 30 characters"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(redact(text))
    if isinstance(value, dict | list):
        return _TYPE_NAMES[type(value)]
    return repr(value)


def _convert(err: dict[str, Any], positions: Positions, file: str) -> StackError:
    loc: Path = tuple(err["loc"])
    kind: str = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a map key failed its pattern: point at the key
        loc = loc[:-1]
        return StackError(loc, f"{_show(loc[-1])} is not a valid name", _NAME_HELP, positions.find(loc, key=True))
    where = positions.find(loc)
    field_name = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        return StackError(loc, f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), allowed)}",
                          f"allowed: {', '.join(allowed)}" if allowed else "", positions.find(loc, key=True))
    if kind == "missing":
        return StackError(loc, "required key is missing", f"add {loc[-1]}:", positions.find(loc[:-1]))
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        choices = [c.strip() for c in expected.replace(" or ", ", ").split(",") if c.strip()]
        return StackError(loc, f"{_show(value)} is not allowed{did_you_mean(str(value), choices)}",
                          f"allowed: {', '.join(choices)}", where)
    if kind == "string_pattern_mismatch":
        return StackError(loc, f"{_show(value)} is not valid",
                          f"allowed: {_PATTERN_HELP.get(field_name, 'pattern ' + str(ctx.get('pattern')))}", where)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = {"int": "a whole number", "float": "a number", "bool": "true or false", "list": "a list",
                  "dict": "a map", "model": "a map", "string": "text"}.get(kind.split("_")[0], kind.split("_")[0])
        got = _TYPE_NAMES.get(type(value), type(value).__name__)
        shown = "" if isinstance(value, dict | list) or value is None else f" {_show(value)}"
        hint = ""
        if wanted == "text" and isinstance(value, int | float | bool):
            hint = f' (YAML read {value!r}: quote it, e.g. "{value}")'
        return StackError(loc, f"expected {wanted}, got {got}{shown}{hint}", f"allowed: {wanted}", where)
    bounds = {"greater_than_equal": "≥ {ge}", "greater_than": "> {gt}", "less_than_equal": "≤ {le}",
              "less_than": "< {lt}", "string_too_long": "at most {max_length} characters"}
    if kind in bounds:
        return StackError(loc, f"{_show(value)} is out of range", "allowed: " + bounds[kind].format(**ctx), where)
    return StackError(loc, redact(err.get("msg", "invalid value")), "", where)


# ---------------------------------------------------------------- cross-field checks, cloud-neutral


def check_neutral(stack: LoadedStack) -> list[StackError]:
    spec = stack.spec
    errors: list[StackError] = []
    pools = spec.node_pools
    for name, pool in pools.items():
        path = ("node_pools", name)
        if pool.min_nodes > pool.max_nodes:
            errors.append(stack.error((*path, "min_nodes"), f"min_nodes ({pool.min_nodes}) is greater than "
                                      f"max_nodes ({pool.max_nodes})", "min_nodes ≤ max_nodes"))
        if pool.accelerator == "none" and pool.tpu_topology:
            errors.append(stack.error((*path, "tpu_topology"), "set on a pool without a TPU",
                                      "only TPU pools take tpu_topology"))
    for name, model in spec.models.items():
        path = ("models", name)
        pool = pools.get(model.node_pool)
        if pool is None:
            known = sorted(pools)
            errors.append(stack.error((*path, "node_pool"), f"no node pool named {model.node_pool!r}"
                                      f"{did_you_mean(model.node_pool, known)}",
                                      f"defined pools: {', '.join(known)}" if known else "define it under node_pools:"))
        if model.replicas.min > model.replicas.max:
            errors.append(stack.error((*path, "replicas", "min"), f"replicas.min ({model.replicas.min}) is greater "
                                      f"than replicas.max ({model.replicas.max})", "min ≤ max"))
        tp = model.tensor_parallel
        if isinstance(tp, int) and tp < 1:
            errors.append(stack.error((*path, "tensor_parallel"), f"{tp} is out of range", "allowed: ≥ 1 or auto"))
        elif (pool is not None and pool.accelerator != "auto" and isinstance(tp, int)
              and tp > pool.accelerators_per_node):
            errors.append(stack.error((*path, "tensor_parallel"), f"tensor_parallel {tp} exceeds the "
                                      f"{pool.accelerators_per_node} accelerators per node of pool {model.node_pool}",
                                      f"allowed: 1..{pool.accelerators_per_node} (use pipeline_parallel across nodes)"))
        if pool is not None and pool.accelerator == "none" and model.quantization == "fp8":
            errors.append(stack.error((*path, "quantization"), "fp8 needs an accelerator",
                                      "use a GPU pool or no quantization"))
        if model.source.startswith("bucket://"):
            bucket = model.source.removeprefix("bucket://").split("/", 1)[0]
            if bucket not in spec.buckets:
                known = sorted(spec.buckets)
                errors.append(stack.error((*path, "source"), f"no bucket named {bucket!r}{did_you_mean(bucket, known)}",
                                          f"defined buckets: {', '.join(known) or 'none'}"))
    return errors


__all__ = ["LoadedStack", "deep_merge", "dotted", "load_stack", "redact", "stack_path"]
