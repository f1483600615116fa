"""Pieces of the Pulumi runtime, done with less work and the same result, while the offline engine runs.

Each replaces functions of the Pulumi Python SDK (or, for the first, the event loop's default executor),
read in their source at the version in `VERIFIED` (sdk/python/lib/pulumi); with any other installed
version nothing is replaced, so an upgrade costs speed, never correctness. They are in place only inside
`applied()` (components/engine/offline.py wraps the program run in it), and `LLMCLOUD_ENGINE_FAST_PATHS=0`
turns them off; tests/unit/test_engine_fastpaths.py checks that the plans are byte-identical either way.

1. **The resource monitor is called on the same thread.** For every registration and provider function the
   SDK hands the monitor call to the event loop's default executor (`loop.run_in_executor(None, ...)`, a
   thread pool). The offline monitor answers from memory, so the thread hop per resource only cost a
   thread switch and the GIL handover. Here the default executor runs the call at once and returns its
   finished future.
2. **The dependency-cycle check walks a list** (`runtime/resource_cycle_breaker._reachable`). Every
   dependency the SDK records asks whether the new edge closes a cycle, by a depth-first search over the
   edges recorded so far, written as nested generators: one generator frame per resource on the path, for
   every resource visited. Here the search runs over explicit stacks from both ends, forward from the
   dependency and backward from the declaring resource (through the edges `_add_dep` recorded, reversed),
   one resource from each side in turn, and answers the same; on the 50-model stack it was the largest
   single cost of the runtime. A resource nothing depends on yet is reachable only from itself, which
   answers most checks at once.
3. **A property's type is resolved when that property is looked up** (`_types.resource_types`,
   `output_type_types`, `input_type_types`). The SDK resolves the annotations of every property of a class
   (`typing.get_type_hints` on each getter) the first time it translates one value of that class: for a
   GKE `Cluster`, about 100 properties and the classes their annotations name, while a plan sets a few. The
   mapping here resolves a property, exactly as the SDK does (the class's globals, `Output`/`T` as locals,
   `Optional`/`Output` unwrapped, a bare `Output` left out), on its first lookup, and keeps it. Getters whose
   annotations are the same text naming the same objects (`Optional[_builtins.str]` in every SDK module)
   share one `get_type_hints` evaluation.
4. **Unset arguments are left out before serialization** (`runtime/rpc.serialize_properties`). A resource's
   arguments hold every property of its class, None where unset, and the SDK looks up each one's type before
   finding that None serializes to None, which it then drops (no wire field, no dependency entry). Leaving
   the Nones out first gives the same message without resolving types nobody set.
5. **Plain values are answered at once** (`runtime/rpc.serialize_property`, `translate_output_properties`,
   `contains_unknowns`). Each walks a value tree node by node; at a str, int, float, bool or None, after a
   dozen type checks and unwrapping a type it then does not use, the SDK's functions return the value as it
   is (translation: unless the type is an enum class, or int for a float) and find no unknown in it. The
   replacements answer those leaves first and hand every other value to the SDK's function.
6. **A resource's properties are worked out when they are first read** (`runtime/rpc.transfer_properties`,
   `resolve_outputs`). At registration the SDK gives every property of the resource an `Output` (four futures and
   a task that gathers them), and when the answer arrives it turns every property's wire value back into Python
   (deserialize, then translate to the class's output types: for a Deployment, its whole pod spec) and resolves
   each one. In a preview most are never read: the program reads a few (a name, a namespace) and a plan reads none.
   Here each property's `Output` gets its data when something first asks for it: the answer is kept, and the
   property's value is built from it then, by the SDK's own functions, with the same result (value, known,
   secret, resources); one asked for before the answer waits for it, as before. A translation error of the SDK's
   own round trip (which would fail every offline preview of the program) surfaces where that value is used.
7. **Finished Outputs are not taken out of the runtime's list one by one** (`Output._track`). The SDK keeps every
   Output in `SETTINGS.outputs` until it finishes, by a done callback that takes it out again: one event loop
   callback per Output, some 10,000 on the 50-model stack. Here Outputs are added without the callback, and the
   list answers the SDK's questions (its length, its items, asked at the end of the program) without those that
   finished with a value: what the callbacks would have left (unfinished, failed or cancelled ones).
8. **A type annotation is unwrapped once** (`_types.unwrap_type`: `Optional[Input[T]]` and the like to `T`). The
   SDK works it out from the annotation for every value it serializes or translates; the answer depends on the
   annotation alone, so it is kept per annotation for the run.
9. **A registration's stand-in URN is written at once** (`runtime/resource.create_urn`). `do_register` asks for it
   on every registration, through an Output chain (`from_input`, `apply`, `all`, `apply`), and uses it only
   when there is no monitor, which the offline engine always has. For text arguments and a parent given as a
   URN (or none), the replacement writes the same text and hands it back as an Output, known and not secret as
   the chain's; any other call goes to the SDK.
10. **A registration's inputs stay Python values** (`runtime/rpc.serialize_properties` when `prepare_resource`
   calls it, `RegisterResourceRequest`). The SDK puts each serialized input into a protobuf Struct (a Python
   function call per value of the whole tree: for a Deployment, its pod spec), copies the Struct into the
   request, and the offline monitor walks it back into Python for the plan. Here the same serialized values stay
   in a `_WireStruct`, the request is a plain object with the SDK's fields, and the monitor reads the values as
   they are. Anything that reads them as protobuf (a property the program reads, `getResource`, another request)
   gets exactly the Struct the SDK would have built, made then.
11. **A plain value tree is serialized in one walk** (`runtime/rpc.serialize_property` on a dict, list or tuple that
   holds only str, int, float, bool, None and more such containers). The SDK awaits itself once per value of the
   tree and runs its dozen type checks on each container; nothing in such a tree can be awaited, so the same
   branches (element types, key translation by the input type's names) run here without the awaits.
12. **Explicit dependencies are resolved without Outputs** (`_depends_on._resolve_depends_on`, `rpc._add_dependency`,
   `resource_cycle_breaker._add_dep`). A `depends_on` list of resources is wrapped, with each of its items, in an
   Output that is awaited at once; here it is the set of those resources. The walk that expands a component into
   its children no longer imports a class for every resource it visits, and the cycle breaker's set of a
   resource's dependencies grows in place instead of being copied for each new one.
13. **Alias URNs are worked out when read** (`runtime/resource.collapse_alias_to_urn`, as `Resource.__init__` calls
   it). Every resource computes a URN for each of its aliases through a chain of Outputs (about five event-loop
   tasks each); the Kubernetes SDK gives most classes aliases for older API versions. They are read only for
   children's aliases on an engine without alias specs, which the offline monitor is not; here each is that same
   chain, made when something first asks for it.
14. **Debug messages nobody hears are not sent** (`pulumi.log.debug`): with the mock engine and a logger that drops
   debug messages, about five per registration.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

VERIFIED = "3.272.0"  # pulumi's version whose source these replacements were read against
_MISSING = object()


def enabled() -> bool:
    if os.environ.get("LLMCLOUD_ENGINE_FAST_PATHS", "1") == "0":
        return False
    from pulumi import _version

    return getattr(_version, "_VERSION", None) == VERIFIED


class _SameThread(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor: runs each call at once, on the calling thread."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)  # no thread starts until a task is submitted, and none is

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller awaits the future and sees it, as from a thread
            future.set_exception(exc)
        return future


# id of a resource -> the resources with a recorded dependency on it (this run): the cycle breaker's edges, reversed
_DEPENDENTS: dict[int, set[Any]] = {}


def _noting_depended_on(add_dep: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """resource_cycle_breaker._add_dep, also noting that `from_resource` now depends on `to_resource`. The SDK
    replaces the resource's dependency set by a copy with the new one in (a resource that depends on a component
    gets a copy per child); the set is only read by `_reachable`, which here copies what it reads, so the new
    dependency is added to the set in place (12.)."""

    def _add_dep(from_resource: Any, to_resource: Any) -> None:
        dependents = _DEPENDENTS.get(id(to_resource))
        if dependents is None:
            dependents = _DEPENDENTS[id(to_resource)] = set()
        dependents.add(from_resource)
        recorded = from_resource.__dict__.get(_DEPENDENCIES)
        if type(recorded) is set:
            recorded.add(to_resource)
        else:
            add_dep(from_resource, to_resource)

    return _add_dep


_DEPENDENCIES = "_direct_computed_dependencies"  # resource_cycle_breaker._DEPENDENCIES_PROPERTY


def _adding_dependency() -> Callable[..., Any]:
    """rpc._add_dependency (12.), its walk as the SDK's (breadth first, components expanded to their children,
    every resource declared to the cycle breaker, then each custom or remote one's URN awaited, its errors worded as
    the SDK words them), without the import it repeated for every resource walked: on the 50-model preview, 8% of
    all instructions (3.16 G with the SDK's, 2.92 G with this)."""
    from pulumi import ComponentResource, Resource
    from pulumi.runtime import rpc

    async def _add_dependency(deps: dict[str, Any], res: Any, from_resource: Any) -> None:
        walk = [res]
        awaitable: list[Any] = []
        index = 0
        while index < len(walk):
            res = walk[index]
            index += 1
            if not isinstance(res, Resource):
                raise TypeError(f"'depends_on' was passed a value {res} that was not a Resource.")
            no_cycles = rpc.declare_dependency(from_resource, res) if from_resource else True
            if not no_cycles:
                error_on_cycles = os.getenv(rpc.ERROR_ON_DEPENDENCY_CYCLES_VAR, "true").lower() == "true"
                if not error_on_cycles:
                    continue
                raise RuntimeError(
                    "We have detected a circular dependency involving a resource of type"
                    + f" {res._type} named {res._name}.\n"
                    + "Please review any `depends_on`, `parent` or other dependency relationships between your "
                    + "resources to ensure no cycles have been introduced in your program."
                )
            if isinstance(res, ComponentResource) and not res._remote:
                walk.extend(res._childResources.copy())
            else:
                awaitable.append(res)
        for res in awaitable:
            urn = await res.urn.future()
            if urn:
                deps[urn] = res

    return _add_dependency


def _plain_depends_on(original: Callable[..., Any]) -> Callable[..., Any]:
    """_depends_on._resolve_depends_on (12.): a list of resources, as `ResourceOptions._depends_on_list` gives it,
    resolves to the set of those resources (the SDK wraps the list and each item in an Output, each known, with no
    resources of its own, and awaits them); a list holding anything else, or an Output, goes to the SDK."""
    from pulumi import Resource

    async def _resolve_depends_on(depends_on: Any) -> set[Any]:
        if type(depends_on) is list and all(isinstance(item, Resource) for item in depends_on):
            return set(depends_on)
        return await original(depends_on)  # type: ignore[no-any-return]

    return _resolve_depends_on


def _reachable(from_resource: Any, to_resource: Any) -> bool:
    """pulumi.runtime.resource_cycle_breaker._reachable: whether `to_resource` is among `from_resource`'s dependencies,
    transitively (or is it). The SDK searches forward from `from_resource`, through everything it depends on: when
    a resource declares its dependencies, that is the whole infrastructure under each of them (provider, cluster,
    network), for every one. Here the search also runs backward from `to_resource`, through what depends on it
    (the edges `_add_dep` noted, reversed), one resource from each side in turn: the two meet where a path joins
    them, and the side that runs out first proves there is none, so the cost is about twice the smaller side. A
    resource nothing depends on yet is reachable only from itself: the common case, answered at once."""
    if from_resource is to_resource:
        return True
    if id(to_resource) not in _DEPENDENTS:
        return False
    ahead, ahead_seen = [from_resource], {from_resource}
    behind, behind_seen = [to_resource], {to_resource}
    while ahead and behind:
        for dependency in getattr(ahead.pop(), _DEPENDENCIES, ()):
            if dependency in behind_seen:
                return True
            if dependency not in ahead_seen:
                ahead_seen.add(dependency)
                ahead.append(dependency)
        for dependent in _DEPENDENTS.get(id(behind.pop()), ()):
            if dependent in ahead_seen:
                return True
            if dependent not in behind_seen:
                behind_seen.add(dependent)
                behind.append(dependent)
    return False


class _PropertyTypes(Mapping[str, Any]):
    """Pulumi name -> type of one class's properties, each resolved on its first lookup.

    Same entries as pulumi._types._types_from_py_properties(cls); with `fallback` (a resource class's
    annotation types), the same as resource_types(cls): a property's own type wins, else the annotation's.
    """

    def __init__(self, cls: type, fallback: Mapping[str, Any] | None = None) -> None:
        from pulumi import _types

        self._cls = cls
        # later definitions win, as in the SDK's dict built from the same sequence
        self._getters = {pulumi_name: prop.fget for _, pulumi_name, prop in _types._py_properties(cls)}
        self._fallback = fallback or {}
        self._resolved: dict[str, Any] = {}
        self._globalns: dict[str, Any] | None = None
        self._modules: tuple[str, ...] | None = None

    def _own(self, key: str) -> Any:
        value = self._resolved.get(key, _MISSING)
        if value is not _MISSING:
            return value
        getter = self._getters.get(key)
        if getter is None:
            return _MISSING
        from pulumi import Output, _types

        hint = self._hints(getter).get("return")
        value = _MISSING if hint is None else _types.unwrap_type(hint)
        if value is Output:  # a non-generic Output: the SDK leaves it out
            value = _MISSING
        self._resolved[key] = value
        return value

    def _hints(self, getter: Callable[..., Any]) -> dict[str, Any]:
        """typing.get_type_hints(getter) against the class's globals, as the SDK calls it, evaluated once per
        distinct question (`_hints_key`)."""
        from pulumi import Output, _types

        localns = {"Output": Output, "T": type(None)}
        annotations = getattr(getter, "__annotations__", None)
        key = None
        if isinstance(annotations, dict):
            if all(isinstance(value, str) for value in annotations.values()):
                if self._globalns is None:
                    self._globalns = _types._globals_for_cls(self._cls)
                key = _text_key(annotations, self._globalns or {}, localns)
            if key is None:
                if self._modules is None:
                    self._modules = tuple(base.__module__ for base in self._cls.__mro__)
                key = (tuple(annotations.items()), self._modules)
            try:
                hash(key)
            except TypeError:  # unhashable annotations: evaluate them as they are
                key = None
        hints = _HINTS.get(key) if key is not None else None
        if hints is None:
            if self._globalns is None:
                self._globalns = _types._globals_for_cls(self._cls)
            hints = typing.get_type_hints(getter, globalns=self._globalns, localns=localns)
            if key is not None:
                _HINTS[key] = hints
        return hints

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        value = self._own(key)
        if value is _MISSING:
            return self._fallback.get(key, default)
        return value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        own = [key for key in self._getters if self._own(key) is not _MISSING]
        return iter(dict.fromkeys([*self._fallback, *own]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


_TYPES: dict[type, _PropertyTypes] = {}
# A getter's type hints, by what decides them: its annotations and the objects their names stand for
# (`_text_key`), else its annotations and the modules of its class's globals.
_HINTS: dict[Any, dict[str, Any]] = {}
_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)")  # a name that starts a (dotted) reference


def _text_key(annotations: dict[str, str], globalns: dict[str, Any], localns: dict[str, Any]) -> Any:
    """What decides the evaluation of annotations kept as text: the text, and the object each name in it (quoted
    forward references included) stands for in the locals, then the globals. Two getters that agree on both
    evaluate to the same types, whichever modules they are in: `Optional[_builtins.str]` in every SDK module,
    `pulumi.Output['outputs.ClusterNodeConfig']` wherever `outputs` is the same module. None when a name is
    found in neither (it would come from the module's builtins): then the modules decide, as before."""
    names: list[Any] = []
    for text in annotations.values():
        for name in dict.fromkeys(_NAME.findall(text)):
            if name in localns:
                names.append((name, localns[name]))
            elif name in globalns:
                names.append((name, globalns[name]))  # the object itself: modules and classes hash by identity
            else:
                return None
    return (tuple(annotations.items()), tuple(names))


def _property_types(cls: type) -> _PropertyTypes:
    types = _TYPES.get(cls)
    if types is None:
        types = _TYPES[cls] = _PropertyTypes(cls)
    return types


def _resource_types(cls: type) -> _PropertyTypes:
    types = _TYPES.get(cls)
    if types is None:
        from pulumi import _types

        types = _TYPES[cls] = _PropertyTypes(cls, fallback=_types._types_from_annotations(cls))
    return types


def _input_type_types(cls: type) -> _PropertyTypes:
    from pulumi import _types

    assert _types.is_input_type(cls)  # the SDK's own check
    return _property_types(cls)


def _output_type_types(cls: type) -> _PropertyTypes:
    from pulumi import _types

    assert _types.is_output_type(cls)
    return _property_types(cls)


def _without_unset(original: Callable[..., Any]) -> Callable[..., Any]:
    async def serialize_properties(inputs: Any, property_deps: Any, *args: Any, **kwargs: Any) -> Any:
        present = {key: inputs[key] for key in inputs if inputs[key] is not None}  # indexing, as the SDK does
        return await original(present, property_deps, *args, **kwargs)

    return serialize_properties


# Values that every branch of the SDK's serialize_property and (with no type, or a type that is neither an enum nor
# int) translate_output_properties hand back unchanged: exact types, so a str-based enum member is not one.
_LEAVES = frozenset((str, int, float, bool, type(None)))


def _leaves_serialize_as_themselves(original: Callable[..., Any]) -> Callable[..., Any]:
    """rpc.serialize_property, answering a plain value at once. For a str, int, float, bool or None the SDK's
    function walks its branches (sequence, unknown, resource, asset, archive, awaitable, output, input type,
    mapping, protobuf Value) and returns the value, having unwrapped the type it never uses; asked for a
    protobuf Value (`return_protobuf_value`), it wraps it, so that question still goes to the SDK.

    A dict, list or tuple holding only such values, at any depth (11.), is serialized here in one synchronous
    walk, the SDK's sequence and mapping branches without an await per value: nothing in it can be waited for."""

    serialize_plain = _plain_serializer()

    async def serialize_property(value: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(value)
        if kind in _LEAVES and len(args) < 8 and not kwargs.get("return_protobuf_value"):
            return value
        if kind in _CONTAINERS and _plain(value):
            input_transformer, typ, protobuf = _transformer_and_type(*args, **kwargs)
            if not protobuf:
                return serialize_plain(value, input_transformer, typ)
        return await original(value, *args, **kwargs)

    return serialize_property


_CONTAINERS = frozenset((dict, list, tuple))


def _plain(value: Any) -> bool:
    """The value is a str, int, float, bool or None, or an exact dict, list or tuple of plain values."""
    kind = type(value)
    if kind in _LEAVES:
        return True
    if kind is dict:
        return all(_plain(item) for item in value.values())
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def _transformer_and_type(
    deps: Any = None,
    property_key: Any = None,
    resource_obj: Any = None,
    input_transformer: Any = None,
    typ: Any = None,
    keep_output_values: bool = False,
    exclude_resource_refs_from_deps: bool = False,
    return_protobuf_value: bool = False,
) -> tuple[Any, Any, bool]:
    """What of rpc.serialize_property's arguments decides how a plain value serializes (deps, keys, resource and
    the two flags only concern Outputs and resources, which a plain value holds none of)."""
    return input_transformer, typ, return_protobuf_value


def _plain_serializer() -> Callable[[Any, Any, Any], Any]:
    """rpc.serialize_property of a plain value (11.), branch for branch: the type unwrapped (Any as none), a sequence
    element by element with the list's element type, a mapping key by key, translated as the SDK translates them
    (the input type's names, none for a dict type, else `input_transformer`), a leaf as itself."""
    from typing import get_args, get_origin

    from pulumi import _types, log
    from pulumi.runtime import rpc, settings

    dict_types = [dict, typing.Dict, Mapping, typing.Mapping]  # noqa: UP006  (the SDK's list)

    def serialize(value: Any, input_transformer: Any, typ: Any) -> Any:
        typ = _types.unwrap_type(typ) if typ else typ
        if typ is Any:
            typ = None
        kind = type(value)
        if kind is list or kind is tuple:
            element_type = rpc._get_list_element_type(typ)
            return [
                item if type(item) in _LEAVES else serialize(item, input_transformer, element_type) for item in value
            ]
        if kind is not dict:
            return value
        get_type: Callable[[Any], Any] = _no_type
        translate = input_transformer
        if typ is not None:
            case = _types.reduce_discriminated_union(typ, value, _types._py_name_for)
            if case is not None:
                typ = case
            if _types.is_input_type(typ):
                py_name_to_pulumi_name = _types.input_type_py_to_pulumi_names(typ)
                translate = lambda k: py_name_to_pulumi_name.get(k) or k  # noqa: E731  (the SDK's shape)
                get_type = _types.input_type_types(typ).get
            elif typ is dict or get_origin(typ) in dict_types:
                args = get_args(typ)
                if len(args) == 2 and args[0] is str:
                    get_type = lambda k: args[1]  # noqa: E731
                    translate = None
            else:
                translate = None
        obj = {}
        for k in value:
            transformed_key = k
            if translate is not None:
                transformed_key = translate(k)
                if settings.excessive_debug_output:
                    log.debug(f"transforming input property: {k} -> {transformed_key}")
            item = value[k]
            obj[transformed_key] = (
                item if type(item) in _LEAVES else serialize(item, input_transformer, get_type(transformed_key))
            )
        return obj

    return serialize


def _no_type(key: Any) -> None:
    return None


def _leaves_hold_no_unknowns(original: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """rpc.contains_unknowns, answering False at once for a str, int, float, bool or None: the SDK asks whether the
    value is an `Unknown` (an instance of that class, which none of them is) and, for a dict or list, its items.
    Every `Output`'s data asks it of its value."""

    def contains_unknowns(val: Any) -> bool:
        if type(val) in _LEAVES:
            return False
        return original(val)

    return contains_unknowns


def _leaves_translate_as_themselves(original: Callable[..., Any]) -> Callable[..., Any]:
    """rpc.translate_output_properties, answering a plain value at once when its type would not change it. The SDK
    returns a str, int, float, bool or None as it is unless the type (Optional unwrapped) is an enum class (it
    builds the member) or, for a float, int (it truncates); None stays None whatever the type. What a type asks
    for is decided once per type."""
    from enum import Enum
    from inspect import isclass

    from pulumi import _types

    plain: dict[Any, tuple[bool, bool]] = {}  # type -> (an enum class, int), Optional unwrapped

    def translate_output_properties(
        output: Any, output_transformer: Any, typ: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        kind = type(output)
        if kind in _LEAVES:
            if output is None or typ is None:
                return output
            try:
                known = plain.get(typ)
            except TypeError:  # an unhashable type: ask the SDK
                known = (True, True)
            if known is None:
                unwrapped = _types.unwrap_optional_type(typ)
                known = plain[typ] = (isclass(unwrapped) and issubclass(unwrapped, Enum), unwrapped is int)
            is_enum, is_int = known
            if not is_enum and not (is_int and kind is float):
                return output
        return original(output, output_transformer, typ, *args, **kwargs)

    return translate_output_properties


class _Pending:
    """One resource property's value, as the registration answers it: the SDK's resolver (called with the value at
    once, or by `resolve_outputs` with a function that works it out on first use)."""

    __slots__ = ("answer", "future", "resource")

    def __init__(self, resource: Any) -> None:
        self.resource = resource
        self.future: asyncio.Future[Any] | None = None  # made when the property's Output is first asked for its data
        self.answer: Callable[[], tuple[Any, bool, bool, Any, BaseException | None]] | None = None

    def __call__(self, value: Any, is_known: bool, is_secret: bool, deps: Any, failed: BaseException | None) -> None:
        """The SDK's resolver: (value, is_known, is_secret, dependencies, failure)."""
        self.later(lambda: (value, is_known, is_secret, deps, failed))

    def later(self, answer: Callable[[], tuple[Any, bool, bool, Any, BaseException | None]]) -> None:
        self.answer = answer
        if self.future is not None:  # someone is waiting: answer now
            self.settle(self.future)

    def settle(self, future: asyncio.Future[Any]) -> None:
        """What rpc.transfer_properties' resolver and Output.__init__'s gathering give the property's data."""
        from pulumi.output import _OutputData

        assert self.answer is not None
        try:
            value, is_known, is_secret, deps, failed = self.answer()
        except Exception as exc:  # the SDK's translation refused the value: this Output fails with it
            future.set_exception(exc)
            return
        if failed is not None:
            future.set_exception(failed)
            return
        resources = set(deps) if deps else set()
        resources.add(self.resource)
        future.set_result(_OutputData(resources=resources, value=value, is_known=is_known, is_secret=is_secret))


class _Resolvers(dict):  # type: ignore[type-arg]
    """rpc.transfer_properties' answer, property name -> resolver, made by `_transfer_properties`."""


_PROPERTY_OUTPUT: list[type] = []


def _property_data(output: Any) -> asyncio.Future[Any]:
    """PropertyOutput._data: its property's future, made on first use (answered at once when the registration
    has answered)."""
    pending = output.__dict__["_pending"]
    if pending.future is None:
        pending.future = asyncio.get_event_loop().create_future()
        if pending.answer is not None:
            pending.settle(pending.future)
        elif not output.__dict__.get("_untracked"):
            output._track()  # as the SDK tracks every property's Output until it resolves
    return pending.future  # type: ignore[no-any-return]


def _set_property_data(output: Any, future: asyncio.Future[Any]) -> None:
    output.__dict__["_pending"].future = future


def _property_output(pending: _Pending) -> Any:
    """An Output of the SDK's class whose data is made on first use."""
    if not _PROPERTY_OUTPUT:
        from pulumi import Output

        class PropertyOutput(Output):  # type: ignore[type-arg, misc]
            """A resource property's Output: its data future is made when first asked for."""

            _data = property(_property_data, _set_property_data)  # type: ignore[assignment]

            def _untrack(self) -> None:
                """A derived Output takes over (Output.apply, under the SDK's lock): one whose future is not made
                yet was never tracked, and will not be."""
                if self.__dict__["_pending"].future is None:
                    self.__dict__["_untracked"] = True
                    return
                super()._untrack()

        _PROPERTY_OUTPUT.append(PropertyOutput)
    out: Any = object.__new__(_PROPERTY_OUTPUT[0])
    out.__dict__["_pending"] = pending
    return out


def _transfer_properties(res: Any, props: Any, custom: bool) -> _Resolvers:
    """rpc.transfer_properties: the same names get an Output on `res` and a resolver, none of them made yet."""
    resolvers = _Resolvers()
    for name in props:
        if name == "urn" or (name == "id" and custom):  # the SDK's own: handled elsewhere
            continue
        pending = _Pending(res)
        resolvers[name] = pending
        res.__dict__[name] = _property_output(pending)
    return resolvers


def _resolve_when_read(original: Callable[..., None]) -> Callable[..., None]:
    """rpc.resolve_outputs for the resolvers of `_transfer_properties` in a preview: each property keeps a function
    that builds its value as the SDK's function does (deserialize the wire value, translate it to the class's
    type, unwrap a secret; known when not None; a value that deserializes to None is a missing one). Any other
    case goes to the SDK's function."""
    from pulumi import _types
    from pulumi.runtime import rpc, settings

    def resolve_outputs(
        res: Any,
        serialized_props: Any,
        outputs: Any,
        deps: Mapping[str, Any],
        resolvers: Any,
        custom: bool,
        transform_using_type_metadata: bool = False,
        keep_unknowns: bool = False,
        resolve_missing_as_unknown: bool = False,
    ) -> None:
        if (
            type(resolvers) is not _Resolvers
            or not settings.is_dry_run()
            or settings.is_legacy_apply_enabled()  # the SDK then merges the inputs in
            or rpc._special_sig_key in outputs.fields  # the whole answer is an asset, a secret, ...
        ):
            original(
                res,
                as_message(serialized_props),
                as_message(outputs),
                deps,
                resolvers,
                custom,
                transform_using_type_metadata,
                keep_unknowns,
                resolve_missing_as_unknown,
            )
            return
        types = _types.resource_types(type(res))
        translate: Callable[[str], str]
        if transform_using_type_metadata:
            py_names = _types.resource_pulumi_to_py_names(type(res))
            translate, passed = (lambda prop: py_names.get(prop) or prop), (lambda prop: prop)
        else:
            translate = passed = res.translate_output_property
        wire_keys: dict[str, list[str]] = {}  # Python name -> its wire names, in the answer's order
        for key in outputs.fields:
            wire_keys.setdefault(translate(key), []).append(key)
        translated_deps = {translate(key): value for key, value in deps.items()}

        def answer(name: str, keys: list[str]) -> tuple[Any, bool, bool, Any, None]:
            property_deps = translated_deps.get(name)
            for key in reversed(keys):  # the last wire name whose value is not None wins, as in the SDK's dict
                value = rpc.deserialize_property(outputs[key], keep_unknowns, True)
                if value is None:
                    continue
                value = rpc.translate_output_properties(
                    value,
                    passed,
                    types.get(key),
                    transform_using_type_metadata,
                    path=rpc._Path(name, resource=f"{res._name}"),
                )
                unwrapped = rpc.unwrap_rpc_secret(value)
                return unwrapped, unwrapped is not None, rpc.is_rpc_secret(value), property_deps, None
            return None, False, False, property_deps, None  # missing: unknown in a preview

        for name, pending in resolvers.items():
            keys = wire_keys.get(name)
            if keys is None:
                pending(None, False, False, translated_deps.get(name), None)
            elif name == "urn" or (name == "id" and custom):
                continue  # never resolved by the SDK either (no resolver has these names)
            else:
                pending.later(lambda name=name, keys=keys: answer(name, keys))

    return resolve_outputs


class _Unfinished:
    """SETTINGS.outputs while the fast paths are in place (7.): what the SDK reads of it (len, iteration) leaves out
    the Outputs that finished with a value, as the SDK's done callbacks would have taken them out. Only the set
    operations the SDK uses on it are there (add, discard, remove, clear): another would fail, not go unnoticed."""

    def __init__(self, items: Any = ()) -> None:
        self._items: set[Any] = set(items)

    def add(self, item: Any) -> None:
        self._items.add(item)

    def discard(self, item: Any) -> None:
        self._items.discard(item)

    def remove(self, item: Any) -> None:
        self._items.remove(item)

    def clear(self) -> None:
        self._items.clear()

    def __iter__(self) -> Iterator[Any]:
        return (future for future in list(self._items) if _still_tracked(future))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _still_tracked(future: Any) -> bool:
    """What Output._track's callback leaves in the list: not finished, cancelled, or failed."""
    return not future.done() or future.cancelled() or future.exception() is not None


def _tracking_into(unfinished: _Unfinished, lock: Any) -> Callable[[Any], None]:
    """Output._track without the done callback, into this run's list (SETTINGS.outputs, under SETTINGS.lock)."""

    def _track(output: Any) -> None:
        with lock:
            unfinished.add(output._data)

    return _track


def _unwrapping_once(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """_types.unwrap_type, answered from what it answered for the same annotation before (8.)."""
    answers: dict[Any, Any] = {}

    def unwrap_type(val: Any) -> Any:
        try:
            return answers[val]
        except KeyError:
            answer = answers[val] = original(val)
            return answer
        except TypeError:  # an unhashable annotation: ask the SDK every time
            return original(val)

    return unwrap_type


def _urn_at_once(original: Callable[..., Any]) -> Callable[..., Any]:
    """runtime/resource.create_urn for text arguments, its URN written here (9.)."""
    from pulumi import Output
    from pulumi.runtime import settings

    def create_urn(name: Any, type_: Any, parent: Any = None, project: Any = None, stack: Any = None) -> Any:
        texts = (name, type_, parent, project, stack)
        if type(name) is not str or type(type_) is not str or any(v is not None and type(v) is not str for v in texts):
            return original(name, type_, parent, project, stack)
        if parent is not None:  # the SDK's prefix from a parent URN
            prefix = parent[0 : parent.rfind("::")] + "$"
        else:
            stack = settings.get_stack() if stack is None else stack
            project = settings.get_project() if project is None else project
            prefix = "urn:pulumi:" + stack + "::" + project + "::"
        return Output.from_input(prefix + type_ + "::" + name)

    return create_urn


class _WireStruct:
    """The inputs of one registration as the SDK's serialize_properties would put them into a protobuf Struct (10.),
    kept as Python values: name -> serialized value, in the order the SDK would set them. Read as protobuf (one
    field, or the whole message) it is exactly that Struct, built then."""

    __slots__ = ("_message", "_read", "values")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._message: Any = None
        self._read: dict[str, Any] = {}

    @property
    def fields(self) -> dict[str, Any]:
        """The field names, as Struct.fields answers `in` and iteration."""
        return self.values

    def __getitem__(self, key: str) -> Any:
        """Struct.__getitem__: the field as the Struct holds it (a number as a float, a dict as a Struct, ...)."""
        read = self._read.get(key)
        if read is None:
            from google.protobuf import struct_pb2

            one = struct_pb2.Struct()
            one[key] = self.values[key]
            read = self._read[key] = (one, one[key])  # the one-field Struct owns what it answers
        return read[1]

    def message(self) -> Any:
        """The whole Struct the SDK would have built."""
        if self._message is None:
            from google.protobuf import struct_pb2

            message = struct_pb2.Struct()
            for key, value in self.values.items():
                message[key] = value
            self._message = message
        return self._message


def as_message(value: Any) -> Any:
    """A `_WireStruct` as the protobuf Struct it stands for; anything else as it is."""
    return value.message() if type(value) is _WireStruct else value


class _Request:
    """resource_pb2.RegisterResourceRequest for the offline monitor (10.): the fields the SDK sets, as attributes,
    no message built. A field the SDK did not set is read from the message the arguments make (its default)."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.message(), name)

    def message(self) -> Any:
        from pulumi.runtime.proto import resource_pb2

        fields = {key: as_message(value) for key, value in self.__dict__.items()}
        return resource_pb2.RegisterResourceRequest(**fields)


class _Answer:
    """resource_pb2.RegisterResourceResponse of an echoed registration (10.): what do_register reads of it."""

    __slots__ = ("id", "object", "propertyDependencies", "result", "unknown", "urn")

    def __init__(self, urn: str, id_: str, state: Any) -> None:
        from pulumi.runtime.proto import resource_pb2

        self.urn, self.id, self.object = urn, id_, state
        self.propertyDependencies: dict[str, Any] = {}  # the mock answer names none
        self.result = resource_pb2.Result.SUCCESS
        self.unknown = False


def _messages_with_python_requests(real: Any) -> Any:
    """runtime/resource's view of resource_pb2 (10.): RegisterResourceRequest is `_Request` (its nested message
    classes kept); the other requests that carry a registration's inputs get them as the Struct."""
    view = types.ModuleType(real.__name__)
    view.__dict__.update(vars(real))

    def converting(message_class: Any) -> Callable[..., Any]:
        def build(**fields: Any) -> Any:
            return message_class(**{key: as_message(value) for key, value in fields.items()})

        return build

    request = type(
        "RegisterResourceRequest",
        (_Request,),
        {
            nested.name: getattr(real.RegisterResourceRequest, nested.name)
            for nested in real.RegisterResourceRequest.DESCRIPTOR.nested_types
        },
    )
    view.__dict__["RegisterResourceRequest"] = request
    for name in ("ReadResourceRequest", "ExistsResourceRequest"):
        setattr(view, name, converting(getattr(real, name)))
    return view


def _inputs_stay_python(original: Callable[..., Any], prepare_resource: Callable[..., Any]) -> Callable[..., Any]:
    """rpc.serialize_properties (10.): called by `prepare_resource`, the SDK's loop (its error messages too) with the
    results kept in a `_WireStruct` (and unset arguments left out, 4.); called by anything else, `original`."""
    from pulumi import _types, log
    from pulumi.runtime import rpc, settings

    preparing = prepare_resource.__code__

    async def serialize_properties(
        inputs: Any,
        property_deps: Any,
        resource_obj: Any = None,
        input_transformer: Any = None,
        typ: Any = None,
        keep_output_values: bool = False,
        exclude_resource_refs_from_deps: bool = False,
    ) -> Any:
        if sys._getframe(1).f_code is not preparing:
            return await original(
                inputs,
                property_deps,
                resource_obj,
                input_transformer,
                typ,
                keep_output_values,
                exclude_resource_refs_from_deps,
            )
        get_type: Callable[[str], Any] = lambda k: None  # noqa: E731  (the SDK's shape)
        translate = input_transformer
        if typ is not None:
            py_name_to_pulumi_name = _types.input_type_py_to_pulumi_names(typ)
            types_ = _types.input_type_types(typ)
            translate = lambda k: py_name_to_pulumi_name.get(k) or k  # noqa: E731
            get_type = lambda k: types_.get(translate(k))  # type: ignore[misc]  # noqa: E731
        wire = _WireStruct()
        for k in inputs:
            v = inputs[k]
            if v is None:  # 4.: serializes to None, which the SDK drops
                continue
            deps: list[Any] = []
            try:
                result = await rpc.serialize_property(
                    v,
                    deps,
                    k,
                    resource_obj,
                    input_transformer,
                    get_type(k),
                    keep_output_values,
                    exclude_resource_refs_from_deps,
                )
            except ValueError as e:
                raise ValueError(
                    f"While processing input: {k!r}, type {type(k)}, value {v!r}\n" + f"ValueError has risen: {e}"
                ) from e
            except AssertionError as e:
                raise AssertionError(
                    f"While processing input: {k!r}, type {type(k)}, value {v!r}\n" + f"AssertionError has risen: {e}"
                ) from e
            if result is not None:
                translated_name = k
                if translate is not None:
                    translated_name = translate(k)
                    if settings.excessive_debug_output:
                        log.debug(f"top-level input property translated: {k} -> {translated_name}")
                wire.values[translated_name] = result
                property_deps[translated_name] = deps
        return wire

    return serialize_properties


_DEFERRED_OUTPUT: list[type] = []


def _deferred_output(make: Callable[[], Any]) -> Any:
    """An Output of the SDK's class that is `make()`'s Output, made when something first asks for its data (13.)."""
    if not _DEFERRED_OUTPUT:
        from pulumi import Output

        def data(output: Any) -> Any:
            real = output.__dict__.get("_made")
            if real is None:
                real = output.__dict__["_made"] = output.__dict__.pop("_make")()
            return real._data

        class DeferredOutput(Output):  # type: ignore[type-arg, misc]
            """`make()`'s Output, made on first use."""

            _data = property(data)  # type: ignore[assignment]

        _DEFERRED_OUTPUT.append(DeferredOutput)
    out: Any = object.__new__(_DEFERRED_OUTPUT[0])
    out.__dict__["_make"] = make
    return out


def _alias_urns_when_read(original: Callable[..., Any]) -> Callable[..., Any]:
    """runtime/resource.collapse_alias_to_urn, as `Resource.__init__` calls it for every alias a resource has (13.):
    the same Output chain, made when first read. The resource keeps these URNs only for its children's aliases on
    an engine without alias specs; the offline monitor has them (`MockMonitor.GetDeploymentInfo`), so a preview
    never reads one, and each was about five tasks on the event loop (the Kubernetes SDK gives most of its classes
    aliases for their older API versions)."""

    def collapse_alias_to_urn(alias: Any, defaultName: Any, defaultType: Any, defaultParent: Any) -> Any:
        return _deferred_output(lambda: original(alias, defaultName, defaultType, defaultParent))

    return collapse_alias_to_urn


def _debug_when_heard(original: Callable[..., None]) -> Callable[..., None]:
    """pulumi.log.debug (14.): with the mock engine, whose logger would drop a debug message, the message is not
    sent (the SDK builds a LogRequest per message, or for one about a resource a task that waits for its URN, and
    the runtime sends about five per registration); otherwise, the SDK's."""
    import logging

    from pulumi import log
    from pulumi.runtime import mocks

    def debug(msg: str, resource: Any = None, stream_id: Any = None, ephemeral: Any = None) -> None:
        engine = log.get_engine()
        if type(engine) is mocks.MockEngine and not engine.logger.isEnabledFor(logging.DEBUG):
            return
        original(msg, resource, stream_id, ephemeral)

    return debug


@contextlib.contextmanager
def applied(loop: asyncio.AbstractEventLoop) -> Iterator[bool]:
    """Put the replacements in place for the run on `loop`; yields whether they are (see `enabled`)."""
    if not enabled():
        yield False
        return
    from pulumi import _types, log
    from pulumi import resource as resource_module
    from pulumi.output import Output
    from pulumi.runtime import _depends_on as depends_on
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime import resource_cycle_breaker, rpc
    from pulumi.runtime.settings import SETTINGS

    _DEPENDENTS.clear()
    tracked = SETTINGS.outputs
    unfinished = _Unfinished(tracked)
    replaced = [
        (resource_cycle_breaker, "_add_dep", _noting_depended_on(resource_cycle_breaker._add_dep)),
        (rpc, "_add_dependency", _adding_dependency()),
        (depends_on, "_resolve_depends_on", _plain_depends_on(depends_on._resolve_depends_on)),
        (
            rpc,
            "serialize_properties",
            _inputs_stay_python(_without_unset(rpc.serialize_properties), runtime_resource.prepare_resource),
        ),
        (runtime_resource, "resource_pb2", _messages_with_python_requests(runtime_resource.resource_pb2)),
        (rpc, "serialize_property", _leaves_serialize_as_themselves(rpc.serialize_property)),
        (rpc, "translate_output_properties", _leaves_translate_as_themselves(rpc.translate_output_properties)),
        (rpc, "contains_unknowns", _leaves_hold_no_unknowns(rpc.contains_unknowns)),
        (rpc, "transfer_properties", _transfer_properties),
        (rpc, "resolve_outputs", _resolve_when_read(rpc.resolve_outputs)),
        (resource_cycle_breaker, "_reachable", _reachable),
        (_types, "resource_types", _resource_types),
        (_types, "input_type_types", _input_type_types),
        (_types, "output_type_types", _output_type_types),
        (_types, "unwrap_type", _unwrapping_once(_types.unwrap_type)),
        (Output, "_track", _tracking_into(unfinished, SETTINGS.lock)),
        (runtime_resource, "create_urn", _urn_at_once(runtime_resource.create_urn)),
        (resource_module, "collapse_alias_to_urn", _alias_urns_when_read(resource_module.collapse_alias_to_urn)),
        (log, "debug", _debug_when_heard(log.debug)),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _ in replaced]
    executor = getattr(loop, "_default_executor", None)
    for module, name, replacement in replaced:
        setattr(module, name, replacement)
    loop.set_default_executor(_SameThread())
    SETTINGS.outputs = unfinished
    try:
        yield True
    finally:
        SETTINGS.outputs = tracked
        for module, name, original in originals:
            setattr(module, name, original)
        _DEPENDENTS.clear()
        loop._default_executor = executor  # type: ignore[attr-defined]  # set_default_executor refuses None
