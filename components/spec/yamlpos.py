"""YAML to plain Python values, remembering where every key and value came from.

PyYAML's constructors drop positions, accept duplicate keys silently and expand aliases without
limit (a "billion laughs" file exhausts memory). Building values from the composed node tree
ourselves fixes all three, and costs little: stack files are small.
"""

from __future__ import annotations

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


@dataclass
class Positions:
    """dotted path -> where its value starts; `keys` -> where its key starts (for key errors)."""

    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)

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
        return Positions({**base.values, **self.values}, {**base.keys, **self.keys})


def _loc(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions = Positions()
        self.scalars = SafeConstructor()
        self.count = 0

    def fail(self, node: yaml.Node, path: Path, message: str, allowed: str = "") -> StackErrors:
        return StackErrors([StackError(path, message, allowed, _loc(self.file, node.start_mark))])

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, path, f"the file expands to more than {MAX_NODES} values "
                            "(YAML aliases used as a bomb?)", "stack files are small: write values out")
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels",
                            "stack files nest a few levels deep")
        self.positions.values.setdefault(path, _loc(self.file, node.start_mark))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            # Scalars with tags go through SafeConstructor (which refuses unsafe ones); collections are
            # built here, so a tag such as !!python/object/apply must be refused here too.
            raise self.fail(node, path, f"cannot read this value (unsupported YAML tag {node.tag})",
                            "use plain YAML scalars, lists and maps")
        if isinstance(node, yaml.MappingNode):
            self.scalars.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, path, "a key must be a plain name, not a list or a map")
                key = self.scalars.construct_object(key_node)
                if not isinstance(key, str):
                    # `1: x` or `true: x`: keys are names; say so instead of coercing silently
                    key = str(key_node.value)
                if key in out:
                    first = self.positions.keys.get((*path, key))
                    raise self.fail(key_node, (*path, key), "duplicate key",
                                    f"first defined at line {first.line}" if first else "define it once")
                self.positions.keys[(*path, key)] = _loc(self.file, key_node.start_mark)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.scalars.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            raise self.fail(node, path, f"cannot read this value ({exc.problem})",
                            "use plain YAML scalars, lists and maps") from None


def parse_yaml(text: str | bytes, file: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain values plus their positions; errors are StackErrors."""
    if len(text) > MAX_FILE_BYTES:
        raise StackErrors([StackError((), f"file is {len(text)} bytes, larger than the "
                                          f"{MAX_FILE_BYTES} bytes a stack file may have",
                                      "split it or remove generated content", Location(file, 1, 1))])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StackErrors([StackError((), f"not UTF-8 text (byte {exc.start} is {text[exc.start]:#04x})",
                                          "stack files are UTF-8 YAML", Location(file, 1, 1))]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.composer.ComposerError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise StackErrors([StackError((), exc.problem or "invalid YAML", "one YAML document per stack file",
                                      _loc(file, mark) if mark else Location(file, 1, 1))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StackErrors([StackError((), f"invalid YAML: {problem}", "fix the YAML syntax",
                                      _loc(file, mark) if mark else Location(file, 1, 1))]) from None
    except (RecursionError, MemoryError):
        raise StackErrors([StackError((), "invalid YAML: nested too deeply", "stack files nest a few levels deep",
                                      Location(file, 1, 1))]) from None
    if node is None:
        return None, Positions({(): Location(file, 1, 1)})
    builder = _Builder(file)
    try:
        value = builder.build(node, ())
    except RecursionError:
        raise StackErrors([StackError((), "nesting too deep", "stack files nest a few levels deep",
                                      Location(file, 1, 1))]) from None
    return value, builder.positions
