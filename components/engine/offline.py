"""The offline engine: the real program under Pulumi's mock runtime, in preview mode.

Every resource registration is captured (type, name, parent, inputs, protect, retainOnDelete) into
the plan of contract 3. No Pulumi CLI, no credentials, no network. Values a real deploy would
compute are unknown here, exactly as in a real preview, and appear as "<computed>"; secrets as
"[secret]".
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pulumi.runtime.resource
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, sync_await
from pulumi.runtime.proto import resource_pb2

from . import fastpaths
from .plan import COMPUTED, SECRET, Plan, Step

PROJECT = "llmcloud"
# Sentinels of Pulumi's wire format (pulumi/sdk/python/lib/pulumi/runtime/rpc.py)
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig

# One program run at a time per process: the Pulumi runtime's settings are global.
_LOCK = threading.Lock()


class _Answers(pulumi.runtime.Mocks):
    """What the engine would answer: resources echo their inputs (as in a preview, where unset
    outputs stay unknown); provider functions are answered by the cloud that owns the token
    (Cloud.mock_call: plausible placeholders), else with nothing."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        from .. import registry

        cloud = registry.by_token(args.token)
        answer = cloud.mock_call(args.token, dict(args.args)) if cloud is not None else None
        # [] not None: this pulumi's MockMonitor iterates the failures list.
        return (answer or {}), []


class _Registration:
    """MockMonitor.ResourceRegistration's shape for an echoed resource: its state is read back from the wire
    form only when asked (the `pulumi:pulumi:getResource` function, which rebuilds resource references)."""

    def __init__(self, urn: str, id_: str, state: Any) -> None:
        self.urn, self.id, self._state = urn, id_, state

    @property
    def state(self) -> dict[str, Any]:
        return dict(rpc.deserialize_properties(fastpaths.as_message(self._state)))

    def _asdict(self) -> dict[str, Any]:
        return {"urn": self.urn, "id": self.id, "state": self.state}


class _CapturingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, echo: bool = False) -> None:
        super().__init__(mocks)
        self.steps: list[Step] = []
        # echo: answer a registration with its own inputs, as the mocks' new_resource does, without taking them
        # off the wire and putting them back on it (the same bytes: tests/unit/test_engine_fastpaths.py)
        self.echo = echo

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        self.steps.append(
            Step(
                op="create",
                urn=urn,
                type=request.type,
                inputs=_plan_struct(request.object),
                parent=request.parent,
                custom=bool(request.custom),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
                # The SDK sends what the engine orders by: explicit depends_on plus every resource an input came from.
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={
                    key: sorted(set(deps.urns))
                    for key, deps in sorted(request.propertyDependencies.items())
                    if deps.urns
                },
            )
        )
        if not self.echo or request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        id_ = f"{request.name}-id"  # what _Answers.new_resource answers
        self.resources[urn] = _Registration(urn, id_, request.object)  # type: ignore[assignment]
        if type(request.object) is fastpaths._WireStruct:
            return fastpaths._Answer(urn, id_, request.object)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=request.object)


def _plan_value(value: Any) -> Any:
    """Wire value (struct_pb2.Value) -> plan value: unknowns as <computed>, secrets as [secret], resource references
    as their URN, integral numbers as integers (the wire format has only doubles; counts and sizes read better
    as integers). One walk over the message, where json_format.MessageToDict's generic walk and a cleaning pass
    over its result were two."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return COMPUTED if text == rpc.UNKNOWN else text
    if kind == "struct_value":
        return _plan_struct(value.struct_value)
    if kind == "list_value":
        return [_plan_value(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):  # what MessageToDict refuses
            raise ValueError(f"a resource input is {number}, which the engine's wire format cannot carry")
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or unset


def _plan_python(value: Any) -> Any:
    """A serialized input still in Python (fast path 10) -> the plan value `_plan_value` gives for the protobuf
    Value the SDK would have made of it. The exact types the SDK's serializer hands back are read directly; any
    other (a subclass, a protobuf message) goes through that Value, so it reads, or fails, as before."""
    kind = type(value)
    if kind is str:
        return COMPUTED if value == rpc.UNKNOWN else value
    if kind is dict:
        return _plan_python_struct(value)
    if kind is list or kind is tuple:
        return [
            (COMPUTED if item == rpc.UNKNOWN else item) if type(item) is str else _plan_python(item) for item in value
        ]
    if kind is bool or value is None:
        return value
    if kind is int or kind is float:
        number = float(value)  # the wire format has only doubles
        if math.isinf(number) or math.isnan(number):
            raise ValueError(f"a resource input is {number}, which the engine's wire format cannot carry")
        return int(number) if number.is_integer() else number
    return _plan_value(_as_value(value))


def _as_value(value: Any) -> Any:
    """The protobuf Value a Struct field holding `value` is."""
    from google.protobuf import struct_pb2

    holder = struct_pb2.Struct()
    holder["v"] = value
    return holder.fields["v"]


def _plan_python_struct(values: dict[Any, Any]) -> Any:
    sig = values.get(_SIG)
    urn = values.get("urn")
    if (
        any(type(key) is not str for key in values)  # a Struct's keys are text
        or (sig is not None and type(sig) is not str and isinstance(sig, str))  # a str subclass: read as the wire would
        or (sig == _RESOURCE_SIG and "urn" in values and type(urn) is not str)
    ):
        return _plan_value(_as_value(values))  # read, or refused, as the Struct would be
    if type(sig) is str:
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return COMPUTED if "urn" not in values else urn
    plan = {}
    for key in sorted(values):
        value = values[key]
        plan[key] = (COMPUTED if value == rpc.UNKNOWN else value) if type(value) is str else _plan_python(value)
    return plan


def _plan_struct(struct: Any) -> Any:
    if type(struct) is fastpaths._WireStruct:
        return _plan_python_struct(struct.values)
    fields = struct.fields
    sig = fields.get(_SIG)
    if sig is not None and sig.WhichOneof("kind") == "string_value":
        if sig.string_value == _SECRET_SIG:
            return SECRET
        if sig.string_value == _RESOURCE_SIG:
            urn = fields.get("urn")
            return urn.string_value if urn is not None else COMPUTED
    return {key: _plan_value(fields[key]) for key in sorted(fields)}  # a protobuf Struct has no order: give it one


async def _settle(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack outputs as a preview knows them: values, <computed> or [secret]."""
    result: dict[str, Any] = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        if await out.is_secret():
            result[key] = SECRET
        elif not await out.is_known():
            result[key] = COMPUTED
        else:
            result[key] = await out.future()
    return result


class _Notices(logging.Handler):
    """pulumi.log.warn/error from the program become plan notices instead of stray stderr lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip())


@contextlib.contextmanager
def _without_stack_traces() -> Iterator[None]:
    """Each registration asks for the Python stack that created the resource (`traceback.extract_stack`
    reads every frame's source line): the engine shows it on errors, a plan never uses it. Offline it is
    left empty, a tenth of a second on dev's 80 resources and more on large stacks."""
    module = pulumi.runtime.resource
    real = getattr(module, "_get_stack_trace", None)
    if real is None:  # another pulumi version: nothing to skip
        yield
        return
    empty = type(real())  # the SDK's own StackTrace message type, without frames
    module._get_stack_trace = empty
    try:
        yield
    finally:
        module._get_stack_trace = real


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """No cyclic garbage collection while the program runs. It allocates a few hundred thousand objects (SDK
    classes, typing objects, futures), most of which live on, and every collection on the way walked them
    again. Reference counting still frees what it can; the cycles left (about 27,000 objects a dev run) are
    the collector's once the run is over. In the CLI (`engine.ONE_SHOT_PROCESS`), whose process ends after
    its command, what the run allocated is frozen instead (`gc.freeze()`), so no later collection walks it."""
    from . import ONE_SHOT_PROCESS

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if ONE_SHOT_PROCESS:
            gc.freeze()
        if was_enabled:
            gc.enable()


def capture(
    program: Callable[[], dict[str, Any] | None], stack: str, notices: list[str] | None = None
) -> tuple[list[Step], dict[str, Any]]:
    """Run any Pulumi program function under mocks; return its registrations and settled outputs
    (warnings the program logs are appended to `notices`). Tests use this to exercise one component
    without the whole stack."""
    logger = logging.getLogger("llmcloud.offline")
    logger.propagate = False
    handler = _Notices()
    with _LOCK:
        logger.handlers = [handler]
        loop = sync_await._ensure_event_loop()
        fast = fastpaths.enabled()
        monitor = _CapturingMonitor(_Answers(), echo=fast)
        # set_mocks makes a new root stack only when none exists: forget the previous run's.
        pulumi.runtime.settings.ROOT.set(None)
        pulumi.runtime.set_mocks(
            monitor.mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor, logger=logger
        )
        outputs: dict[str, Any] = {}

        def wrapped() -> Any:
            exported = program() or {}

            async def collect() -> None:
                outputs.update(await _settle(exported))

            return pulumi.Output.from_input(asyncio.ensure_future(collect()))

        with _without_stack_traces(), fastpaths.applied(loop), _without_cycle_collection():
            pulumi.runtime.test(wrapped)()
    if notices is not None:
        notices.extend(dict.fromkeys(handler.messages))  # unique, in order
    return monitor.steps, outputs


def run(resolved: Any) -> Plan:
    """Run the llmcloud program for `resolved` (a ResolvedStack) under mocks; return its plan."""
    from ..program import build

    notices: list[str] = []
    steps, outputs = capture(lambda: build(resolved), resolved.stack_name, notices)
    return Plan(
        stack=resolved.stack_name,
        environment=resolved.environment,
        cloud=resolved.cloud,
        engine="offline",
        # Registrations arrive, and warnings are logged, as inputs resolve: in an order that varies from run
        # to run. The plan lists steps by URN and notices alphabetically, so the same stack gives the same
        # plan text every time.
        steps=sorted(steps, key=lambda step: step.urn),
        outputs=outputs,
        notices=sorted(notices),
    )
