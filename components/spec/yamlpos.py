"""YAML to plain Python values, remembering where every key and value came from.

PyYAML's constructors drop positions, accept duplicate keys silently and expand aliases without
limit (a "billion laughs" file exhausts memory). Building values from the composed node tree
ourselves fixes all three, and costs little: stack files are small.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .errors import Location, Path, StackError, StackErrors

MAX_FILE_BYTES = 1024 * 1024  # a stack file is a few KiB; anything near this is not a stack file
MAX_NODES = 50_000  # values built, aliases counted each time they are used
MAX_DEPTH = 64

try:  # libyaml parses ~10x faster; pure Python is the fallback on platforms without it
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_TAG = "tag:yaml.org,2002:"
# Numbers: at most 18 digits (every bounded field fits; Python refuses ints of 4,301+ digits anyway).
MAX_NUMBER_DIGITS = 18


class Invalid:
    """Stands for a value that could not be read; the loader drops it (its error is already reported)."""

    def __repr__(self) -> str:  # pragma: no cover
        return "<invalid>"


INVALID = Invalid()


@dataclass
class Positions:
    """dotted path -> where its value starts; `keys` -> where its key starts (for key errors);
    `raw` -> the scalar as written (to quote what the user typed: `1.30`, not the float 1.3)."""

    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)
    raw: dict[Path, str] = field(default_factory=dict)

    def find(self, path: Path, *, key: bool = False) -> Location | None:
        """The location of `path`, or of its nearest ancestor that the file spells out."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get(())

    def merged_over(self, base: Positions) -> Positions:
        """Positions after `extends:`: this file's entries win, the base's fill the gaps."""
        return Positions({**base.values, **self.values}, {**base.keys, **self.keys}, {**base.raw, **self.raw})


def _loc(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _short(text: str) -> str:
    from .secrets import redact

    text = redact(text)
    return json.dumps(text if len(text) <= 40 else text[:37] + "...", ensure_ascii=False)


_TAG_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "timestamp": "a date or time (ISO 8601, e.g. 2026-12-01T18:00:00Z)",
    "str": "text",
    "binary": "base64 data",
}


class _Builder:
    """Node tree -> plain values. Problems that leave the rest of the file readable are collected in
    `errors` (the value becomes INVALID and the loader drops it), so one run reports them all."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions = Positions()
        self.scalars = SafeConstructor()
        self.count = 0
        self.errors: list[StackError] = []
        self.binary: list[tuple[Path, bytes]] = []  # decoded !!binary values, for the secret scan
        self.invalid: set[Path] = set()

    def fail(self, node: yaml.Node, path: Path, message: str, allowed: str = "") -> StackErrors:
        return StackErrors([StackError(path, message, allowed, _loc(self.file, node.start_mark))])

    def soft(self, node: yaml.Node, path: Path, message: str, allowed: str = "") -> Invalid:
        self.errors.append(StackError(path, message, allowed, _loc(self.file, node.start_mark)))
        self.invalid.add(path)
        return INVALID

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag = node.tag
        short = tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
        typed = f"!!{short} " if not node.style and tag.startswith(_TAG) and _explicit(node) else ""
        if (
            short in ("int", "float")
            and sum(c.isdigit() for c in node.value) > MAX_NUMBER_DIGITS
            and not (short == "float" and re.search(r"[eE]", node.value))
        ):
            return self.soft(
                node,
                path,
                f"{typed}{_short(node.value)} is out of range "
                f"(a number of {sum(c.isdigit() for c in node.value)} digits)",
                f"allowed: numbers of at most {MAX_NUMBER_DIGITS} digits",
            )
        try:
            value = self.scalars.construct_object(node)
        except Exception as exc:  # SafeConstructor raises ValueError, TypeError, binascii.Error, OverflowError...
            problem = getattr(exc, "problem", None) or ""
            if "could not determine a constructor" in problem:
                return self.soft(
                    node,
                    path,
                    f"unsupported YAML tag {tag}",
                    "use plain YAML values (text, numbers, true/false, lists, maps)",
                )
            wanted = _TAG_WORDS.get(short, short)
            return self.soft(
                node,
                path,
                f"{typed}{_short(node.value)} cannot be read as {wanted}",
                f"allowed: {wanted}, or remove the !!{short} tag",
            )
        finally:
            self.scalars.recursive_objects.pop(node, None)
        if isinstance(value, bytes):  # !!binary: scanned for secrets, then refused
            self.binary.append((path, value))
            return self.soft(
                node, path, "binary data (!!binary) is not allowed in a stack file", "write the value as plain text"
            )
        if isinstance(value, float) and not math.isfinite(value):
            return self.soft(
                node,
                path,
                f"{_short(node.value)} is not a finite number",
                "allowed: a number such as 100 or 2.5 (.inf and .nan are not numbers here)",
            )
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_NUMBER_DIGITS:
            return self.soft(
                node,
                path,
                f"{_short(node.value)} is out of range",
                f"allowed: numbers of at most {MAX_NUMBER_DIGITS} digits",
            )
        if isinstance(value, float) and abs(value) >= 1e18:
            return self.soft(node, path, f"{_short(node.value)} is out of range", "allowed: numbers below 1e18")
        if not node.style:  # plain scalars: remember the spelling (1.30 read as the number 1.3)
            self.positions.raw[path] = node.value
        return value

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                path,
                f"the file expands to more than {MAX_NODES} values (YAML aliases used as a bomb?)",
                "stack files are small: write values out",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels", "stack files nest a few levels deep")
        self.positions.values.setdefault(path, _loc(self.file, node.start_mark))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            # Scalars with tags go through SafeConstructor (which refuses unsafe ones); collections are
            # built here, so a tag such as !!python/object/apply or !!set must be refused here too.
            return self.soft(
                node, path, f"cannot read this value (unsupported YAML tag {node.tag})", "use plain YAML lists and maps"
            )
        if isinstance(node, yaml.MappingNode):
            try:
                self.scalars.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
            except yaml.constructor.ConstructorError as exc:
                self.soft(
                    node,
                    path,
                    f"cannot merge here ({exc.problem})",
                    "`<<:` takes a map or a list of maps, e.g. <<: *defaults",
                )
                node.value = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.soft(key_node, path, "a key must be a plain name, not a list or a map")
                    continue
                if key_node.tag != "tag:yaml.org,2002:str" and _explicit(key_node):
                    self.soft(
                        key_node, path, f"a key may not carry a YAML tag ({key_node.tag})", "keys are plain names"
                    )
                    continue
                key = str(key_node.value)  # `1: x` or `true: x`: keys are names, kept as written
                if key in out or (*path, key) in self.invalid:
                    first = self.positions.keys.get((*path, key))
                    self.soft(
                        key_node,
                        (*path, key),
                        "duplicate key",
                        f"first defined at line {first.line}" if first else "define it once",
                    )
                    continue
                self.positions.keys[(*path, key)] = _loc(self.file, key_node.start_mark)
                value = self.build(value_node, (*path, key), depth + 1)
                if value is not INVALID:
                    out[key] = value
                else:
                    self.invalid.add((*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            items = [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
            if any(v is INVALID for v in items):
                self.invalid.add(path)
                return INVALID
            return items
        return self.scalar(node, path)


_RESOLVER = yaml.resolver.Resolver()


def _explicit(node: yaml.ScalarNode) -> bool:
    """Whether the tag was written (`!!int 5`) rather than resolved from a plain scalar (`5`)."""
    return node.tag != _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))


@dataclass
class Parsed:
    """One file's values, positions, the problems that did not stop the reading, and what to scan."""

    value: Any
    positions: Positions
    errors: list[StackError] = field(default_factory=list)
    text: str = ""
    binary: list[tuple[Path, bytes]] = field(default_factory=list)
    invalid: set[Path] = field(default_factory=set)


def parse_yaml(text: str | bytes, file: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain values plus their positions; errors are StackErrors."""
    parsed = parse(text, file)
    if parsed.errors:
        raise StackErrors(parsed.errors)
    return parsed.value, parsed.positions


def parse(text: str | bytes, file: str) -> Parsed:
    """Parse one YAML document. A file that cannot be read at all raises StackErrors; problems with
    single values are collected in `Parsed.errors` (those values are left out of `Parsed.value`)."""
    if len(text) > MAX_FILE_BYTES:
        raise StackErrors(
            [
                StackError(
                    (),
                    f"file is {len(text)} bytes, larger than the {MAX_FILE_BYTES} bytes a stack file may have",
                    "split it or remove generated content",
                    Location(file, 1, 1),
                )
            ]
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StackErrors(
                [
                    StackError(
                        (),
                        f"not UTF-8 text (byte {exc.start} is {text[exc.start]:#04x})",
                        "stack files are UTF-8 YAML",
                        Location(file, 1, 1),
                    )
                ]
            ) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.composer.ComposerError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise StackErrors(
            [
                StackError(
                    (),
                    exc.problem or "invalid YAML",
                    "one YAML document per stack file",
                    _loc(file, mark) if mark else Location(file, 1, 1),
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StackErrors(
            [
                StackError(
                    (),
                    f"invalid YAML: {problem}",
                    "fix the YAML syntax",
                    _loc(file, mark) if mark else Location(file, 1, 1),
                )
            ]
        ) from None
    except (RecursionError, MemoryError):
        raise StackErrors(
            [
                StackError(
                    (), "invalid YAML: nested too deeply", "stack files nest a few levels deep", Location(file, 1, 1)
                )
            ]
        ) from None
    if node is None:
        return Parsed(None, Positions({(): Location(file, 1, 1)}), text=text)
    builder = _Builder(file)
    try:
        value = builder.build(node, ())
    except RecursionError:
        raise StackErrors(
            [StackError((), "nesting too deep", "stack files nest a few levels deep", Location(file, 1, 1))]
        ) from None
    if value is INVALID:
        value = {}
    return Parsed(value, builder.positions, builder.errors, text, builder.binary, builder.invalid)
