"""Provider SDK type modules (`_inputs.py`, `outputs.py`) define a class when it is first used.

A generated sub-package keeps the input and output types of all its resources in two files: about 1,950
classes and 4.8 MB in `pulumi_gcp/compute/_inputs.py`. Defining them is most of a Pulumi Python program's
start-up (each class builds typing objects for every property), while a program needs a few of them: those
its resources' arguments and results name, and what those name in turn.

`TypesLoader` runs the module's header (its imports and `__all__`) and leaves the classes undefined. A
class is defined when it is first looked up: as an attribute (`outputs.ClusterNodeConfig`, the module's
`__getattr__`) or as a global name, by the module's code or by an annotation evaluated against its globals
(`typing.get_type_hints`, which Pulumi uses to translate property names): the module's `__builtins__` is a
copy of the real builtins whose `__missing__` defines the class asked for. Only the classes a program
touches are ever built, each exactly as the file would have built it. A resource module next to an
`_inputs.py` (`ResourceLoader`) gets the same builtins, so its `from ._inputs import *` may bind only what
is defined so far (`__all__` is withheld while it runs) and the rest still resolves on first use. Anyone
else asking for `__all__` gets every class defined, as from the SDK itself. A resource module runs statement
by statement from the cache (`resource_module_code`). Class statements but `TypedDict`s and enums are
compiled with their annotations kept as text (`annotations_can_wait`): a GKE `Cluster` took 25 ms to define,
most of it typing objects for parameters nothing reads at run time.

The split is textual and checked: a header, then only top-level classes with their decorators; any other
top-level statement after the first class, a duplicate name, or an `__all__` naming something that is not a
class of the file makes the module run whole (`EAGER` lists it), so an unusual file costs time, never
correctness. The classes are the SDK's own code, compiled with the file's name and line numbers.

The class statements are compiled once and kept, with the file's list of classes, in llmcloud's cache
(components/cachedir.py: `sdk/`), keyed by the source file's path, size and modification time and the
interpreter's bytecode version; anything unreadable there is ignored and rebuilt.
"""

from __future__ import annotations

import builtins
import importlib
import marshal
import os
import re
import sys
import threading
import types
from typing import Any

from . import cachedir

CACHE_VERSION = 2
_PEP563 = 0x1000000  # __future__.annotations.compiler_flag (CO_FUTURE_ANNOTATIONS), without importing __future__
_COL0 = re.compile(r"^[^\s#]", re.M)  # a line that starts a top-level statement (or sits in a string)
_CLASS = re.compile(r"class (\w+)\s*[:(]")
EAGER: list[str] = []  # type modules that had to run whole (tests assert which)
_state = threading.local()  # .quiet > 0 while this thread's resource module runs `from ._inputs import *`
_DEFINING = threading.RLock()  # one class statement at a time (re-entrant: a class names another)


def _quiet() -> int:
    return int(getattr(_state, "quiet", 0))


Chunk = tuple[str, int, int, int]  # class name, start offset, end offset, first line


def split(source: str) -> tuple[str, list[Chunk]] | None:
    """(header, classes) of a generated type module; None when it has any other shape."""
    chunks: list[list[Any]] = []
    pending: tuple[int, int] | None = None  # decorators waiting for their class: offset, line
    line, previous = 1, 0
    for match in _COL0.finditer(source):
        start = match.start()
        line += source.count("\n", previous, start)
        previous = start
        if source.startswith("@", start):
            pending = pending or (start, line)
            continue
        named = _CLASS.match(source, start)
        if named:
            begin, begin_line = pending or (start, line)
            pending = None
            if chunks:
                chunks[-1][2] = begin
            chunks.append([named.group(1), begin, len(source), begin_line])
        elif chunks or pending:
            return None  # a statement between or after the classes: not a shape this loader knows
    if pending or not chunks:
        return None
    return source[: chunks[0][1]], [(c[0], c[1], c[2], c[3]) for c in chunks]


class _Cache:
    """One file per source file: a marshalled dict, replaced atomically."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.path: str | None = None
        try:
            stat = os.stat(origin)
        except OSError:
            return
        import importlib.util  # here, not at the top: `llmcloud --help` imports this module and never gets here

        parts = [origin, stat.st_size, stat.st_mtime_ns, importlib.util.MAGIC_NUMBER.hex(), sys.flags.optimize]
        self.path = cachedir.entry("sdk", [*parts, CACHE_VERSION], ".bin")

    def read(self) -> dict[str, Any]:
        return cachedir.read_marshalled(self.path)

    def write(self, data: dict[str, Any]) -> None:
        if self.path is not None:
            cachedir.write_atomically(self.path, marshal.dumps(data))


def _read(origin: str) -> str:
    with open(origin, encoding="utf-8") as handle:
        return handle.read()


_BASES = re.compile(r"^class \w+\s*(?:\((.*?)\))?\s*:", re.M)  # a class statement's line, after its decorators


def annotations_can_wait(text: str) -> bool:
    """Whether a class statement of the SDK may be compiled with its annotations kept as text (PEP 563).

    Generated SDK classes are of five kinds: resources (`pulumi.CustomResource`), their `Args` and `_State`
    input types, input types, output types (`dict`), `TypedDict`s and enums. Only a `TypedDict` reads its
    own class annotations when it is defined (`NotRequired[...]` decides its required keys), and an enum
    keeps members, not annotations: those two are compiled as the file is. Every other kind declares its
    properties as getters, whose return annotations Pulumi reads through `typing.get_type_hints` (which
    evaluates text in the class's globals to the same objects), and annotates parameters nothing reads at
    run time. Kept as text, defining them builds no typing objects: GKE's `Cluster` took 25 ms, `ClusterArgs`
    12 ms."""
    match = _BASES.search(text)
    bases = (match.group(1) or "") if match else "TypedDict"  # no class line found: compile it as it is
    return "TypedDict" not in bases and "Enum" not in bases


def _compile(text: str, origin: str, first_line: int, deferred_annotations: bool = False) -> types.CodeType:
    # dont_inherit: this module's `from __future__ import annotations` must not change the SDK's code
    flags = _PEP563 if deferred_annotations else 0
    return compile("\n" * (first_line - 1) + text, origin, "exec", flags=flags, dont_inherit=True)


class _LazyTypes:
    """The state behind one lazily defined type module."""

    def __init__(
        self,
        module: types.ModuleType,
        origin: str,
        cache: _Cache,
        data: dict[str, Any],
        split_source: tuple[str, list[Chunk]] | None = None,  # the file as read and split, when it was
    ) -> None:
        self.module = module
        self.namespace = vars(module)
        self.origin = origin
        self.cache = cache
        self.data = data  # names (in source order), all (its __all__), header and code {name: bytes}
        self.names = frozenset(data["names"])
        self._chunks: dict[str, Chunk] | None = None
        self._source = ""
        if split_source is not None:
            self._source, chunks = split_source
            self._chunks = {c[0]: c for c in chunks}

    def chunks(self) -> dict[str, Chunk]:
        if self._chunks is None:
            self._source = _read(self.origin)
            parts = split(self._source)
            found = {c[0]: c for c in parts[1]} if parts else {}
            if list(found) != self.data["names"]:  # the file changed under a live process
                raise ImportError(f"{self.origin} changed while it was in use")
            self._chunks = found
        return self._chunks

    def code(self, name: str) -> tuple[types.CodeType, bool]:
        """The class statement's code, and whether it was compiled now (the cache must be written)."""
        blob = self.data["code"].get(name)
        if blob is not None:
            try:
                return marshal.loads(blob), False
            except (EOFError, ValueError, TypeError):
                pass
        _, start, end, first_line = self.chunks()[name]
        text = self._source[start:end]
        code = _compile(text, self.origin, first_line, deferred_annotations=annotations_can_wait(text))
        self.data["code"][name] = marshal.dumps(code)
        return code, True

    def define(self, name: str) -> Any:
        """Run the class statement of `name` (once); a class it names is defined when its code looks it up."""
        namespace = self.namespace
        if name not in namespace:
            with _DEFINING:  # two threads asking at once must get the same class object
                if name not in namespace:
                    code, compiled = self.code(name)
                    exec(code, namespace)  # the SDK's own class statement
                    if compiled:
                        self.cache.write(self.data)
        return namespace[name]

    def getattr(self, name: str) -> Any:
        if name in self.names:
            return self.define(name)
        if name == "__all__":
            if _quiet():
                raise AttributeError(name)  # a resource module's star import: bind what is defined
            for each in self.data["names"]:  # source order, as the file itself runs them
                self.define(each)
            self.namespace["__all__"] = list(self.data["all"])
            return self.namespace["__all__"]
        raise AttributeError(f"module {self.module.__name__!r} has no attribute {name!r}")


class _Builtins(dict):  # type: ignore[type-arg]
    """The builtins of a lazily loaded SDK module: a name its code (or an annotation evaluated against its
    globals) looks up and does not find is a class of the type module, defined then."""

    def __init__(self, types_state: _LazyTypes) -> None:
        super().__init__(vars(builtins))
        self.types_state = types_state

    def __missing__(self, name: str) -> Any:
        if name in self.types_state.names:
            return self.types_state.define(name)
        raise KeyError(name)


def lazy_state(module: types.ModuleType) -> _LazyTypes | None:
    state = vars(module).get("__llmcloud_lazy__")
    return state if isinstance(state, _LazyTypes) else None


class TypesLoader:
    """Loader for `_inputs.py` / `outputs.py` of a provider sub-package (duck-typed importlib loader)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def create_module(self, spec: Any) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        origin = module.__spec__.origin if module.__spec__ else None
        if not origin:
            self.real.exec_module(module)
            return
        cache = _Cache(origin)
        data = cache.read()
        split_source: tuple[str, list[Chunk]] | None = None
        if not {"names", "all", "header", "code"} <= data.keys():
            try:
                source = _read(origin)
            except (OSError, UnicodeDecodeError):
                return self._eager(module)
            parts = split(source)
            names = [c[0] for c in parts[1]] if parts else []
            if parts is None or len(set(names)) != len(names):
                return self._eager(module)
            header = _compile(parts[0], origin, 1)
            data = {"names": names, "all": None, "header": marshal.dumps(header), "code": {}}
            split_source = (source, parts[1])
        namespace = vars(module)
        state = _LazyTypes(module, origin, cache, data, split_source)
        namespace["__builtins__"] = _Builtins(state)
        exec(marshal.loads(data["header"]), namespace)  # the SDK's own imports and __all__
        exported = namespace.pop("__all__", None)
        if not isinstance(exported, list) or not set(exported) <= set(data["names"]):
            return self._eager(module)
        if data["all"] != exported:
            data["all"] = exported
            cache.write(data)
        namespace["__llmcloud_lazy__"] = state
        namespace["__getattr__"] = state.getattr

    def _eager(self, module: types.ModuleType) -> None:
        EAGER.append(module.__name__)
        vars(module).pop("__builtins__", None)  # the file runs whole, with the real builtins
        self.real.exec_module(module)


def resource_module_code(origin: str) -> list[types.CodeType] | None:
    """The statements of a resource module, in file order: its header, then each class, compiled with its
    annotations kept as text where they can wait (`annotations_can_wait`): the resource class's `__init__`
    overloads, `_internal_init` and `get` annotate a hundred-odd parameters each that nothing reads at run
    time. None when the file has another shape (the module then runs as it is; the cache remembers the shape).
    Kept in llmcloud's cache like the type modules' classes."""
    cache = _Cache(origin)
    data = cache.read()
    if data.get("whole"):  # another shape, found on an earlier run: not read and split again
        return None
    blobs = data.get("statements")
    if not isinstance(blobs, list):
        try:
            source = _read(origin)
        except (OSError, UnicodeDecodeError):
            return None
        parts = split(source)
        if parts is None:
            cache.write({"whole": True})
            return None
        header, chunks = parts
        codes = [_compile(header, origin, 1)]
        for _, start, end, first_line in chunks:
            text = source[start:end]
            codes.append(_compile(text, origin, first_line, deferred_annotations=annotations_can_wait(text)))
        blobs = [marshal.dumps(code) for code in codes]
        cache.write({"statements": blobs})
        return codes
    try:
        return [marshal.loads(blob) for blob in blobs]
    except (EOFError, ValueError, TypeError):
        return None


class ResourceLoader:
    """Loader for a provider module next to an `_inputs.py` (resources, data sources): a class of `_inputs` its
    code names is defined when looked up, its `from ._inputs import *` binds only what is defined, and its
    resource class keeps its annotations as text (`resource_module_code`)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def create_module(self, spec: Any) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        package = module.__name__.rpartition(".")[0]
        state = lazy_state(importlib.import_module(f"{package}._inputs"))
        if state is None:
            self.real.exec_module(module)
            return
        namespace = vars(module)
        namespace["__builtins__"] = _Builtins(state)
        origin = module.__spec__.origin if module.__spec__ else None
        codes = resource_module_code(origin) if origin else None
        _state.quiet = _quiet() + 1
        try:
            if codes is None:
                self.real.exec_module(module)
            else:
                for code in codes:
                    exec(code, namespace)  # the SDK's own statements, in the file's order
        finally:
            _state.quiet -= 1


def loader_for(fullname: str, origin: str, real: Any) -> Any | None:
    """The lazy loader for a provider SDK module file, or None to leave it alone."""
    leaf = fullname.rpartition(".")[2]
    if leaf in ("_inputs", "outputs"):
        return TypesLoader(real)
    if leaf.startswith("_"):  # _utilities, _enums: nothing to defer
        return None
    if os.path.exists(os.path.join(os.path.dirname(origin), "_inputs.py")):
        return ResourceLoader(real)
    return None
