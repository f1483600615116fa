"""Load a stack file: YAML with positions, `extends:` merged, defaults, pydantic validation and the
cloud-neutral cross-field checks. Every problem found is reported at once, each with file:line:col.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import stat
import types
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from . import secrets
from .errors import Location, Path, StackError, StackErrors, did_you_mean, dotted
from .model import StackSpec
from .secrets import looks_secret, redact
from .yamlpos import MAX_FILE_BYTES, Parsed, Positions, parse

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

MAX_EXTENDS_DEPTH = 8
MAX_NAME_BYTES = 255  # one path component (the file systems' NAME_MAX)
MAX_PATH_CHARS = 1024
EXTENDS_ROOTS_ENV = "LLMCLOUD_EXTENDS_ROOTS"  # more directories `extends:` may read from (os.pathsep-separated)


@dataclass(frozen=True)
class LoadedStack:
    spec: StackSpec
    file: str
    positions: Positions

    def error(self, path: Path, message: str, allowed: str = "", *, key: bool = False) -> StackError:
        return StackError(path, redact(message), redact(allowed), self.positions.find(path, key=key))


class PartialStackErrors(StackErrors):
    """StackErrors from the loader, with what did validate once the bad values were left out, so that
    later checks (resolve) can still report their problems in the same run."""

    partial: LoadedStack | None = None
    pruned: frozenset[Path] = frozenset()

    def stale(self, *paths: Path) -> bool:
        return _stale(self.pruned, *paths)


def _stale(pruned: frozenset[Path] | set[Path], *paths: Path) -> bool:
    """Whether a check on `paths` would only repeat (or invent) a problem already reported: one of them
    is, contains or lies inside a value that was left out."""
    for path in paths:
        for p in pruned:
            n = min(len(p), len(path))
            if tuple(p[:n]) == tuple(path[:n]):
                return True
    return False


def _name_problem(name: str) -> str | None:
    """Why `name` cannot be a file name, checked before the file system sees it."""
    if not name.strip():
        return "is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character (a NUL byte or a newline?)"
    if len(name) > MAX_PATH_CHARS:
        return f"is {len(name)} characters long (at most {MAX_PATH_CHARS})"
    try:
        parts = [len(part.encode("utf-8")) for part in name.replace("\\", "/").split("/")]
    except UnicodeEncodeError:
        return "is not valid text (lone surrogate characters)"
    if max(parts) > MAX_NAME_BYTES:
        return f"has a part {max(parts)} bytes long (file names have at most {MAX_NAME_BYTES})"
    return None


def find_repository(start: FsPath) -> FsPath | None:
    """The nearest directory at or above `start` holding Pulumi.yaml (the repository root)."""
    try:
        here = start.resolve()
    except (OSError, RuntimeError):
        return None
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return None


def stack_path(stack: str, root: str | os.PathLike[str] | None = None) -> FsPath:
    """`dev` -> stacks/dev.yaml (under `root`; by default the working directory's stacks/, else the
    stacks/ of the repository that holds the working directory); a path stays a path."""
    problem = _name_problem(stack)
    if problem:
        raise StackErrors(
            [
                StackError(
                    (),
                    f"the stack name {problem}",
                    "give an environment name (dev) or a path to a .yaml file",
                    Location("<command line>", 1, 1),
                )
            ]
        )
    candidate = FsPath(stack)
    if candidate.suffix in (".yaml", ".yml") or os.sep in stack or "/" in stack:
        return candidate
    if root is not None:
        return FsPath(root) / "stacks" / f"{stack}.yaml"
    if not FsPath("stacks").is_dir():
        repo = find_repository(FsPath.cwd())
        if repo is not None:
            return repo / "stacks" / f"{stack}.yaml"
    return FsPath("stacks") / f"{stack}.yaml"


def _missing_file(path: FsPath) -> StackErrors:
    stacks_dir = path.parent
    try:
        known = sorted(p.stem for p in stacks_dir.glob("*.yaml")) if stacks_dir.is_dir() else []
    except OSError:
        known = []
    allowed = f"known stacks in {stacks_dir}: {', '.join(known)}" if known else "give an environment name or a path"
    hint = did_you_mean(path.stem, known)
    return StackErrors([StackError((), f"stack file not found{hint}", allowed, Location(str(path), 1, 1))])


_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def read_bounded(path: FsPath, shown: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES, read without ever holding more than that;
    a FIFO, a device or a directory is refused before it is opened."""
    where = Location(shown, 1, 1)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _missing_file(path) from None
    except OSError as exc:
        raise StackErrors([StackError((), f"cannot read the file ({exc.strerror or exc})", "", where)]) from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise StackErrors([StackError((), f"is {kind}, not a stack file", "give a .yaml file", where)])
    if st.st_size > MAX_FILE_BYTES:
        raise _too_big(st.st_size, shown)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise StackErrors([StackError((), f"cannot read the file ({exc.strerror or exc})", "", where)]) from None
    if len(raw) > MAX_FILE_BYTES:  # it grew since stat
        raise _too_big(len(raw), shown)
    return raw


def _too_big(size: int, shown: str) -> StackErrors:
    return StackErrors(
        [
            StackError(
                (),
                f"file is {size} bytes, larger than the {MAX_FILE_BYTES} bytes a stack file may have",
                "split it or remove generated content",
                Location(shown, 1, 1),
            )
        ]
    )


@dataclass
class _Read:
    value: dict[str, Any]
    positions: Positions
    errors: list[StackError]
    invalid: set[Path]


def _roots(top: FsPath) -> list[FsPath]:
    """Where `extends:` may read: the repository of the top stack file (or its directory) and the
    directories named in LLMCLOUD_EXTENDS_ROOTS."""
    repo = find_repository(top.parent)
    roots = [repo] if repo else []
    with contextlib.suppress(OSError, RuntimeError):
        roots.append(top.parent.resolve())
    for extra in os.environ.get(EXTENDS_ROOTS_ENV, "").split(os.pathsep):
        if extra and not _name_problem(extra):
            try:
                roots.append(FsPath(extra).expanduser().resolve())
            except (OSError, RuntimeError):
                continue
    return roots


def _read(path: FsPath, chain: tuple[FsPath, ...], roots: list[FsPath]) -> _Read:
    shown = str(path)
    raw = read_bounded(path, shown)
    parsed = parse(raw, shown)
    value, positions = parsed.value, parsed.positions
    errors = list(parsed.errors) + scan_secrets(parsed)
    if value is None:
        raise StackErrors(
            [
                StackError(
                    (), "the file is empty", "a stack file is a YAML map; see stacks/dev.yaml", Location(shown, 1, 1)
                )
            ]
        )
    if not isinstance(value, dict):
        kind = type(value).__name__.replace("str", "text").replace("list", "a list")
        raise StackErrors(
            [
                *errors,
                StackError(
                    (),
                    f"the top level is {kind}, not a map",
                    "a stack file is a YAML map of keys such as cloud:, node_pools:, models:",
                    positions.find(()),
                ),
            ]
        )
    invalid = set(parsed.invalid)
    base_ref = value.pop("extends", None)
    if base_ref is None:
        return _Read(value, positions, errors, invalid)
    at = positions.find(("extends",))

    def problem(message: str, allowed: str) -> _Read:
        errors.append(StackError(("extends",), message, allowed, at))
        return _Read(value, positions, errors, invalid)

    if not isinstance(base_ref, str):
        return problem("must be a file name", "e.g. extends: base.yaml")
    bad = _name_problem(base_ref)
    if bad:
        return problem(f"the file name {bad}", "e.g. extends: base.yaml")
    if FsPath(base_ref).suffix not in (".yaml", ".yml"):
        return problem(f"{_quoted(base_ref)} is not a stack file", "extends: names a .yaml file, e.g. base.yaml")
    try:
        base_path = (path.parent / base_ref).resolve()
    except (OSError, RuntimeError) as exc:
        return problem(f"cannot follow {_quoted(base_ref)} ({getattr(exc, 'strerror', None) or exc})", "")
    if not any(base_path.is_relative_to(r) for r in roots):
        where = ", ".join(dict.fromkeys(str(r) for r in roots[:2]))
        return problem(
            f"{_quoted(base_ref)} is outside the repository ({where})",
            f"extends: reads stack files inside the repository, or in a directory listed in {EXTENDS_ROOTS_ENV}",
        )
    here = path.resolve()
    if base_path in chain or base_path == here:
        loop = " → ".join(p.name for p in (*chain, here, base_path))
        return problem(f"extends cycle: {loop}", "a base file may not extend the files that extend it")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        return problem("extends chain too long", f"at most {MAX_EXTENDS_DEPTH} levels")
    if not base_path.is_file():
        return problem(f"base file {_quoted(base_ref)} not found", f"a path relative to {path.parent}")
    base = _read(path.parent / base_ref, (*chain, here), roots)
    merged = deep_merge(base.value, value)
    return _Read(
        merged,
        positions.merged_over(base.positions),
        base.errors + errors,
        _merge_invalid(base.invalid, invalid, value),
    )


def _merge_invalid(base: set[Path], child: set[Path], child_value: dict[str, Any]) -> set[Path]:
    """Values left out of a base file stay out unless the child file sets them."""

    def set_in_child(path: Path) -> bool:
        current: Any = child_value
        for part in path:
            if not isinstance(current, dict) or part not in current:
                return False
            current = current[part]
        return True

    return {p for p in base if not set_in_child(p)} | child


def _quoted(text: str) -> str:
    text = redact(text)
    return json.dumps(text if len(text) <= 60 else text[:57] + "...", ensure_ascii=False)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Maps merge key by key; anything else in `override` replaces the base value."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------- literal secrets


_SECRET_HELP = (
    "secrets go by reference: put it in an environment variable and name that variable (e.g. hf_token_env: HF_TOKEN)"
)


def scan_secrets(parsed: Parsed) -> list[StackError]:
    """Credentials anywhere in one file: the text as written (keys, values, comments), then the decoded
    keys and values (escapes such as \\x68f_...) and decoded !!binary. Never quotes what it found."""
    file = parsed.positions.values[()].file if () in parsed.positions.values else "<stack>"
    by_line: dict[int, list[tuple[int, Path]]] = {}
    for table in (parsed.positions.values, parsed.positions.keys):
        for p, loc in table.items():
            by_line.setdefault(loc.line, []).append((loc.column, p))
    errors: list[StackError] = []
    flagged: set[int] = set()
    line_starts = [0]
    for i, ch in enumerate(parsed.text):
        if ch == "\n":
            line_starts.append(i + 1)
    for start, _end, what in secrets.find(parsed.text):
        line = bisect.bisect_right(line_starts, start)
        column = start - line_starts[line - 1] + 1
        if line in flagged:
            continue
        flagged.add(line)
        before = parsed.text[line_starts[line - 1] : start]
        candidates = [(c, p) for c, p in by_line.get(line, []) if c <= column]
        path = max(candidates, key=lambda cp: (cp[0], len(cp[1])))[1] if candidates else ()
        where = " in a comment" if "#" in before and not candidates else ""
        errors.append(
            StackError(path, f"looks like a literal secret ({what}){where}", _SECRET_HELP, Location(file, line, column))
        )
    decoded = [(p, k, False) for p, k in _walk_keys(parsed.value)]
    decoded += [(p, v, True) for p, v in _walk(parsed.value) if isinstance(v, str)]
    decoded += [(p, b.decode("utf-8", "replace"), True) for p, b in parsed.binary]
    for p, text, is_value in decoded:
        found = secrets.first(text)
        if found is None:
            continue
        at = parsed.positions.find(p, key=not is_value)
        if at is not None and at.line in flagged:
            continue
        if at is not None:
            flagged.add(at.line)
        errors.append(StackError(p, f"looks like a literal secret ({found})", _SECRET_HELP, at))
    return errors


def _walk_keys(value: Any, path: Path = ()) -> typing.Iterator[tuple[Path, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, k), str(k)
            yield from _walk_keys(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_keys(v, (*path, i))


# ---------------------------------------------------------------- load: every problem at once


MAX_ROUNDS = 6


def load_stack(stack: str, root: str | os.PathLike[str] | None = None) -> LoadedStack:
    """Read, merge and validate a stack file; raise StackErrors listing every problem.

    Values that fail are left out and the rest validated again, so the cross-field checks still run
    on what did parse: one run reports every problem (and none that only a left-out value caused)."""
    path = stack_path(stack, root)
    read = _read(path, (), _roots(path))
    data, positions, errors = read.value, read.positions, list(read.errors)
    pruned: set[Path] = set(read.invalid)
    data.setdefault("environment", path.stem)
    _prepare(data)
    spec = None
    for _ in range(MAX_ROUNDS):
        try:
            spec = StackSpec.model_validate(data, strict=True)
            break
        except ValidationError as exc:
            raw = exc.errors(include_url=False)
        converted, to_prune = _convert_all(raw, positions, pruned)
        errors += converted
        if not to_prune:
            break
        for loc in to_prune:
            _prune(data, loc)
            pruned.add(loc)
    loaded = LoadedStack(spec, str(path), positions) if spec is not None else None
    if any(e.path == ("extends",) for e in errors):
        loaded = None  # without its base the stack is mostly missing: further checks would only guess
    if loaded is not None:
        errors += check_neutral(loaded, frozenset(pruned))
        if not errors:
            return loaded
    failure = PartialStackErrors(_sorted(errors))
    failure.partial, failure.pruned = loaded, frozenset(pruned)
    raise failure


def _prepare(data: dict[str, Any]) -> None:
    """The one conversion strict validation does not do: an ISO 8601 text deadline to a datetime."""
    value = data.get("expires_at")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            data["expires_at"] = datetime.fromisoformat(value)


def _prune(data: Any, loc: Path) -> None:
    current = data
    for part in loc[:-1]:
        if not isinstance(current, dict) or part not in current:
            return
        current = current[part]
    if isinstance(current, dict):
        current.pop(loc[-1], None)


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


_TYPE_NAMES = {
    bool: "true/false",
    int: "a number",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "a map",
    type(None): "null",
    datetime: "a date and time",
    date: "a date",
}

# Patterns in words: what the user sees instead of a regular expression.
_PATTERN_HELP = {
    "source": "hf://org/model, gs://bucket/path, s3://bucket/path, az://container/path or bucket://<bucket>/<path>",
    "kubernetes_version": 'a quoted minor version such as "1.31"',
    "hf_token_env": "the NAME of an environment variable, e.g. HF_TOKEN (never the token itself)",
    "project": "a Google Cloud project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter",
    "tpu_topology": 'a topology such as "2x2", "2x4" or "4x4"',
    "environment": "lowercase letters, digits and hyphens, starting with a letter, at most 30 characters",
    "ttl": 'a number from 1 to 9999 followed by m (minutes), h (hours), d (days) or w (weeks), e.g. "8h" or "3d"',
    "domain": "a lowercase host name such as api.example.com: labels of letters, digits and hyphens, "
    "separated by dots, ending in a top-level domain of letters",
    "reservation": "a Compute Engine reservation name (lowercase letters, digits and hyphens, starting with a "
    "letter, at most 63 characters), or projects/<project>/reservations/<name> for one shared from another "
    "project",
    "capacity_reservation": "an EC2 capacity reservation id (cr- and 17 hexadecimal digits) or the ARN of a "
    "capacity reservation resource group",
    "name": "text without control characters, at most 128 characters",
}
_NAME_HELP = "names are lowercase letters, digits and hyphens, starting with a letter, at most 30 characters"
_WANTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list",
    "dict": "a map",
    "model": "a map",
    "string": "text",
    "datetime": "a date and time (ISO 8601, e.g. 2026-12-01T18:00:00Z)",
    "date": "a date",
    "literal": "one of the listed values",
    "finite": "a finite number",
}


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = redact(value)
        text = text if len(text) <= 60 else text[:57] + "..."
        return json.dumps(text, ensure_ascii=False).replace('"', "'") if text.isprintable() else repr(text)
    if isinstance(value, dict | list):
        return _TYPE_NAMES[type(value)]
    if isinstance(value, date):  # datetime too: YAML read an unquoted date/time; show it as written
        return value.isoformat()
    return redact(repr(value))


def _union_tags_stripped(loc: Path) -> tuple[Path, bool]:
    """pydantic adds the union member to the location (`tensor_parallel.int`,
    `tensor_parallel.literal['auto']`); the user wrote `tensor_parallel`. Returns the location without
    those parts and whether any was removed."""
    out: list[str | int] = []
    current: Any = StackSpec
    skip = removed = False
    tag_next = False
    for part in loc:
        if tag_next:
            tag_next, removed = False, True
            continue
        out.append(part)
        if skip:
            skip = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            current = None
            continue
        f = current.model_fields.get(str(part))
        if f is None:
            current = None
            continue
        tp = _unwrap_optional(f.annotation)
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            tag_next = True
            current = None
            continue
        current = tp
        if typing.get_origin(current) in (dict, list):
            current, skip = _unwrap_optional(typing.get_args(current)[-1]), True
    return tuple(out), removed


def _convert_all(
    raw: list[ErrorDetails], positions: Positions, pruned: set[Path]
) -> tuple[list[StackError], list[Path]]:
    """pydantic's errors as one line each (a union's alternatives merged into one), and the locations
    to leave out before validating again."""
    groups: dict[Path, list[ErrorDetails]] = {}
    for err in raw:
        loc, _ = _union_tags_stripped(tuple(err["loc"]))
        groups.setdefault(loc, []).append(err)
    errors, to_prune = [], []
    for loc, errs in groups.items():
        key_error = bool(loc) and loc[-1] == "[key]"
        target = loc[:-1] if key_error else loc
        if errs[0]["type"] == "missing":
            target = loc[:-1]
        cut = next((i for i, part in enumerate(target) if isinstance(part, int)), None)
        if cut is not None:  # a bad list item: leave the whole list out
            target = target[:cut]
        if errs[0]["type"] == "missing" and _stale(pruned, loc):
            pass  # missing only because its bad value was left out: already reported
        else:
            errors.append(_convert(errs, loc, positions))
        if target and target not in pruned:
            to_prune.append(target)
    return errors, to_prune


def _convert(errs: list[ErrorDetails], loc: Path, positions: Positions) -> StackError:
    err = errs[0]
    kind: str = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a map key failed its pattern: point at the key
        loc = loc[:-1]
        return StackError(loc, f"{_show(loc[-1])} is not a valid name", _NAME_HELP, positions.find(loc, key=True))
    where = positions.find(loc)
    field_name = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if len(errs) > 1:  # a union (e.g. a whole number or auto): one line naming every alternative
        wanted = []
        for e in errs:
            if e["type"] == "literal_error":
                wanted.append(str((e.get("ctx") or {}).get("expected", "")).replace("'", ""))
            else:
                wanted.append(_WANTED.get(e["type"].split("_")[0], e["type"].split("_")[0]))
        got = _TYPE_NAMES.get(type(value), type(value).__name__)
        shown = "" if isinstance(value, dict | list) or value is None else f" {_show(value)}"
        return StackError(
            loc,
            f"expected {' or '.join(dict.fromkeys(wanted))}, got {got}{shown}",
            f"allowed: {' or '.join(dict.fromkeys(wanted))}",
            where,
        )
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        return StackError(
            loc,
            f"unknown key {_show(str(loc[-1]))}{did_you_mean(str(loc[-1]), allowed)}",
            f"allowed: {', '.join(allowed)}" if allowed else "",
            positions.find(loc, key=True),
        )
    if kind == "missing":
        return StackError(loc, "required key is missing", f"add {loc[-1]}:", positions.find(loc[:-1]))
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        choices = [c.strip() for c in expected.replace(" or ", ", ").split(",") if c.strip()]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        if value is None:
            hint = " (an empty value or null means nothing; write one of the values)"
        return StackError(loc, f"{_show(value)} is not allowed{hint}", f"allowed: {', '.join(choices)}", where)
    if kind == "string_pattern_mismatch":
        help_text = _PATTERN_HELP.get(
            field_name, "a value in the format the field's description gives (`llmcloud schema`)"
        )
        return StackError(loc, f"{_show(value)} is not valid", f"allowed: {help_text}", where)
    base = kind.split("_")[0]
    if kind.endswith("_type") or kind.endswith("_parsing") or base in ("int", "float", "bool", "datetime"):
        wanted_type = _WANTED.get(base, base)
        got = _TYPE_NAMES.get(type(value), type(value).__name__)
        shown = "" if isinstance(value, dict | list) or value is None else f" {_show(value)}"
        hint = ""
        if wanted_type == "text" and isinstance(value, int | float | bool):
            written = positions.raw.get(loc, _show(value))
            hint = f' (YAML read {written} as {got} {_show(value)}: quote it, "{written}")'
        if kind == "int_from_float":
            hint = " (a fraction)"
        return StackError(loc, f"expected {wanted_type}, got {got}{shown}{hint}", f"allowed: {wanted_type}", where)
    bounds = {
        "greater_than_equal": "≥ {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "≤ {le}",
        "less_than": "< {lt}",
        "string_too_long": "at most {max_length} characters",
        "too_long": "at most {max_length} items",
        "too_short": "at least {min_length} items",
        "string_too_short": "at least {min_length} characters",
    }
    if kind in bounds:
        with contextlib.suppress(KeyError, IndexError, ValueError):
            return StackError(loc, f"{_show(value)} is out of range", "allowed: " + bounds[kind].format(**ctx), where)
    if kind == "finite_number":
        return StackError(loc, f"{_show(value)} is not a finite number", "allowed: a number such as 100", where)
    message = str(err.get("msg", "invalid value")).splitlines()[0]
    return StackError(loc, redact(message[0].lower() + message[1:] if message else "invalid value"), "", where)


# ---------------------------------------------------------------- cross-field checks, cloud-neutral


def check_neutral(stack: LoadedStack, pruned: frozenset[Path] = frozenset()) -> list[StackError]:
    """Checks across fields. A check that involves a value left out (already reported) is skipped."""
    spec = stack.spec
    errors: list[StackError] = []

    def fresh(*paths: Path) -> bool:
        return not _stale(pruned, *paths)

    pools = spec.node_pools
    for name, pool in pools.items():
        path = ("node_pools", name)
        if pool.min_nodes > pool.max_nodes and fresh((*path, "min_nodes"), (*path, "max_nodes")):
            errors.append(
                stack.error(
                    (*path, "min_nodes"),
                    f"min_nodes ({pool.min_nodes}) is greater than max_nodes ({pool.max_nodes})",
                    "min_nodes ≤ max_nodes",
                )
            )
        if pool.accelerator == "none" and pool.tpu_topology:
            errors.append(
                stack.error((*path, "tpu_topology"), "set on a pool without a TPU", "only TPU pools take tpu_topology")
            )
    for name, model in spec.models.items():
        path = ("models", name)
        pool_path = ("node_pools", model.node_pool)
        model_pool = pools.get(model.node_pool)
        if model_pool is None and fresh(pool_path, (*path, "node_pool")):
            known = sorted(pools)
            errors.append(
                stack.error(
                    (*path, "node_pool"),
                    f"no node pool named {_show(model.node_pool)}{did_you_mean(model.node_pool, known)}",
                    f"defined pools: {', '.join(known)}" if known else "define it under node_pools:",
                )
            )
        if model_pool is not None and not fresh(pool_path):
            model_pool = None  # the pool had a bad value: checks against it would guess
        if model.replicas.min > model.replicas.max and fresh((*path, "replicas")):
            errors.append(
                stack.error(
                    (*path, "replicas", "min"),
                    f"replicas.min ({model.replicas.min}) is greater than replicas.max ({model.replicas.max})",
                    "min ≤ max",
                )
            )
        tp = model.tensor_parallel
        if isinstance(tp, int) and tp < 1:
            errors.append(stack.error((*path, "tensor_parallel"), f"{tp} is out of range", "allowed: ≥ 1 or auto"))
        elif (
            model_pool is not None
            and model_pool.accelerator != "auto"
            and isinstance(tp, int)
            and tp > model_pool.accelerators_per_node
        ):
            errors.append(
                stack.error(
                    (*path, "tensor_parallel"),
                    f"tensor_parallel {tp} exceeds the "
                    f"{model_pool.accelerators_per_node} accelerators per node of pool {model.node_pool}",
                    f"allowed: 1..{model_pool.accelerators_per_node} (use pipeline_parallel across nodes)",
                )
            )
        if model_pool is not None and model_pool.accelerator == "none" and model.quantization == "fp8":
            errors.append(
                stack.error((*path, "quantization"), "fp8 needs an accelerator", "use a GPU pool or no quantization")
            )
        if model.source.startswith("bucket://"):
            bucket = model.source.removeprefix("bucket://").split("/", 1)[0]
            if bucket not in spec.buckets and fresh(("buckets", bucket), ("buckets",)):
                known = sorted(spec.buckets)
                errors.append(
                    stack.error(
                        (*path, "source"),
                        f"no bucket named {_show(bucket)}{did_you_mean(bucket, known)}",
                        f"defined buckets: {', '.join(known) or 'none'}",
                    )
                )
    if spec.expires_at is not None:
        try:
            deadline = spec.expires_at if spec.expires_at.tzinfo else spec.expires_at.replace(tzinfo=UTC)
            year = deadline.astimezone(UTC).year
        except (OverflowError, ValueError):
            year = 10_000
        if not 2000 <= year <= 9998:
            errors.append(
                stack.error(
                    ("expires_at",),
                    f"{spec.expires_at.isoformat()} is out of range",
                    "allowed: a deadline between the years 2000 and 9998",
                )
            )
    return errors


__all__ = [
    "LoadedStack",
    "PartialStackErrors",
    "deep_merge",
    "dotted",
    "find_repository",
    "load_stack",
    "looks_secret",
    "read_bounded",
    "redact",
    "stack_path",
]
