"""Kept code (components/kept_code.py): a dataclass defined through it gets methods with the same code and the
same behaviour as `@dataclass` gives it, a forward reference the same code as `typing` compiles, a regular
expression a Pattern equal to the one `re` compiles, the second run compiles nothing, and a broken or
switched-off cache changes nothing but speed."""

from __future__ import annotations

import json
import os
import sys

import pytest
from llmcloud.components import kept_code

from tests.helpers import fresh_python

pytestmark = pytest.mark.skipif(
    sys.version_info[:2] not in kept_code.VERIFIED, reason="another Python: the cache is not installed"
)

# Defines dataclasses of every kind of option, then prints what identifies their methods (the code objects'
# bytecode, constants, names and argument names) and what they do.
_PROBE = r"""
import dataclasses, json, os, sys
from dataclasses import InitVar, dataclass, field
from typing import ClassVar
from llmcloud.components import kept_code

installed = kept_code.install() if os.environ.get("PROBE_INSTALL") == "1" else False

@dataclass(frozen=True)
class Frozen:
    name: str
    size: int = 3
    tags: tuple = ()

@dataclass(order=True)
class Ordered:
    a: int
    b: list = field(default_factory=list, repr=False)
    c: ClassVar[int] = 7

@dataclass(kw_only=True, slots=True)
class KwSlots:
    x: float
    y: str = "y"

@dataclass
class Post:
    total: int = 0
    scale: InitVar[int] = 2
    def __post_init__(self, scale):
        self.total *= scale

def ident(fn):
    code = fn.__code__
    return [code.co_code.hex(), repr(code.co_consts), list(code.co_names), list(code.co_varnames),
            repr(fn.__annotations__), repr(fn.__defaults__), repr(fn.__kwdefaults__), fn.__qualname__]

methods = {}
for cls in (Frozen, Ordered, KwSlots, Post):
    for name in ("__init__", "__repr__", "__eq__", "__lt__", "__setattr__", "__delattr__", "__hash__"):
        fn = cls.__dict__.get(name)
        if callable(fn) and hasattr(fn, "__code__"):
            methods[f"{cls.__name__}.{name}"] = ident(fn)
f = Frozen("n")
try:
    f.name = "m"
    frozen = "assigned"
except dataclasses.FrozenInstanceError:
    frozen = "refused"
behaviour = [
    repr(f), f == Frozen("n", 3), hash(f) == hash(Frozen("n")), frozen,
    repr(Ordered(1, [2])), Ordered(1) < Ordered(2), sorted(dataclasses.asdict(Ordered(5)).items()),
    repr(KwSlots(x=1.5)), hasattr(KwSlots(x=1.0), "__dict__"),
    Post(3, 4).total, [f.name for f in dataclasses.fields(Post)], Frozen.__doc__,
]
import typing
refs = {}
for text in ("int", "Optional[typing.List[str]]", "*Ts", "dict[str, 'Frozen']"):
    ref = typing.ForwardRef(text)
    code = ref.__forward_code__
    refs[text] = [code.co_code.hex(), repr(code.co_consts), list(code.co_names), code.co_filename, code.co_flags]
try:
    typing.ForwardRef("1 +")
    refs["error"] = "none"
except SyntaxError as exc:
    refs["error"] = str(exc)
def hinted(a: "Optional[int]" = None) -> "Frozen": ...
refs["hints"] = repr(typing.get_type_hints(hinted, {"Optional": typing.Optional, "Frozen": Frozen}))
import re, re._compiler
sre_compile = kept_code._RE.get("compile", re._compiler.compile)  # re's own, when the hook is in place
regex = []
samples = {str: "ab abbbc Ann@mail.example 12  Bob straSSe ĀāĂ xxxxx # note", bytes: b"\x00abc\xff\x00"}
for pattern in (r"a(b)+c", r"(?P<name>\w+)@(?P<host>[\w.]+)", r"(?i)straße", rb"\x00[^\xff]*", r"(?<=\d)\s+(?=[A-Z])",
                r"^\s*#.*$", "[\u0100-\u017f]+", r"x{2,5}", r"(unclosed"):
    for flags in (0, int(re.M), int(re.X | re.S)):
        try:
            ours = re._compiler.compile(pattern, flags)
        except re.error as exc:
            regex.append(["error", str(exc)])
            continue
        theirs = sre_compile(pattern, flags)
        found = ours.findall(samples[type(pattern)])
        regex.append([ours == theirs, ours.flags, ours.groups, dict(ours.groupindex), repr(found)])
kept_code.save()
print(json.dumps({"installed": installed, "methods": methods, "behaviour": behaviour, "refs": refs,
                  "regex": regex}))
"""


def _probe(tmp_path, install: bool, **extra: str) -> dict:
    env = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache"), "PROBE_INSTALL": "1" if install else "0"}
    env.update(extra)
    return json.loads(fresh_python("-c", _PROBE, env=env))


def _cache_files(tmp_path) -> list:
    directory = tmp_path / "cache" / "code"
    return sorted(directory.iterdir()) if directory.exists() else []


def test_classes_references_and_patterns_through_the_cache_are_the_ones_python_makes(tmp_path):
    plain = _probe(tmp_path, install=False)
    first = _probe(tmp_path, install=True)  # compiles and keeps
    assert _cache_files(tmp_path), "the first run kept its code"
    second = _probe(tmp_path, install=True)  # reads back
    assert not plain["installed"] and first["installed"] and second["installed"]
    assert len(plain["methods"]) >= 15  # init, repr, eq of each; order, frozen and hash methods
    assert first["methods"] == plain["methods"] == second["methods"]
    assert first["behaviour"] == plain["behaviour"] == second["behaviour"]
    assert first["refs"] == plain["refs"] == second["refs"]
    assert first["regex"] == plain["regex"] == second["regex"]
    assert all(r[0] is True for r in second["regex"] if r[0] != "error")  # equal Patterns: flags, text and code
    assert ["error", "missing ), unterminated subpattern at position 0"] in plain["regex"]
    assert sum(1 for r in plain["regex"] if r[0] is True and r[4] != "[]") >= 8  # the samples match something
    assert "Forward reference must be an expression" in plain["refs"]["error"]
    assert plain["behaviour"][3] == "refused" and plain["behaviour"][9] == 12  # the probe checks something


def test_the_second_run_compiles_nothing_and_a_broken_cache_is_rebuilt(tmp_path):
    import marshal

    probe = (
        "from llmcloud.components import kept_code as d; import dataclasses, json, typing;"
        "ok = d.install();"
        "C = dataclasses.make_dataclass('C', [('a', int), ('b', str, dataclasses.field(default='b'))], frozen=True);"
        "typing.ForwardRef('Optional[Frozen]'); import re; r = re.compile(r'(?P<x>a+)b', re.M).match('aab');"
        "compiled = d._STATE['added']; d.save();"
        "print(json.dumps([ok, compiled, len(d._STATE['used']), C(1).b + r.group('x')]))"
    )
    env = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache")}
    ok, compiled, used, value = json.loads(fresh_python("-c", probe, env=env))
    assert (ok, compiled, value) == (True, True, "baa") and used >= 6  # __init__, ..., the reference, the regex
    (kept,) = _cache_files(tmp_path)
    written = kept.stat().st_mtime_ns
    assert json.loads(fresh_python("-c", probe, env=env)) == [True, False, used, "baa"]  # all read back
    assert kept.stat().st_mtime_ns == written  # nothing new: not written again
    kept.write_bytes(b"\x00not marshal")
    assert json.loads(fresh_python("-c", probe, env=env)) == [True, True, used, "baa"]  # rebuilt, the same
    assert len(marshal.loads(kept.read_bytes())) == used  # and kept again
    damaged = {key: 1 for key in marshal.loads(kept.read_bytes())}  # readable, but no code in it
    kept.write_bytes(marshal.dumps(damaged))
    assert json.loads(fresh_python("-c", probe, env=env)) == [True, True, used, "baa"]  # compiled again


def test_off_when_asked_or_when_nothing_may_be_kept(tmp_path, monkeypatch):
    assert not _probe(tmp_path, install=True, LLMCLOUD_KEPT_CODE="0")["installed"]
    assert not _probe(tmp_path, install=True, LLMCLOUD_CACHE_DIR="off")["installed"]
    assert _cache_files(tmp_path) == []
    monkeypatch.setattr(sys, "version_info", (3, 99, 0))
    assert kept_code.install() is False  # a Python whose dataclasses module was not read


def test_the_cli_output_is_the_same_with_and_without_it(tmp_path):
    from tests.helpers import ROOT

    base = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache"), "LLMCLOUD_OWNER": "t"}
    args = ["-m", "llmcloud.cli.entry", "preview", str(ROOT / "stacks" / "dev.yaml"), "--offline", "--json"]
    off = fresh_python(*args, env={**base, "LLMCLOUD_KEPT_CODE": "0"})
    writing = fresh_python(*args, env=base)
    reading = fresh_python(*args, env=base)
    assert _cache_files(tmp_path)
    assert json.loads(off)["steps"] and off == writing == reading
