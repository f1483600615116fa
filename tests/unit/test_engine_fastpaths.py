"""The offline engine's replacements for pieces of the Pulumi runtime (components/engine/fastpaths.py) answer
exactly what the SDK's own functions answer, and the plans are the same with and without them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from llmcloud.components.engine import fastpaths
from pulumi import _types, _version
from pulumi.runtime import resource_cycle_breaker, rpc

from tests.helpers import bench_cli, plan


class _Node:
    def __init__(self, name: int) -> None:
        self.name = name


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
@pytest.mark.parametrize("seed", range(20))
def test_the_cycle_check_answers_as_the_sdk_on_random_graphs(seed):
    """Edges recorded through the (replaced) _add_dep, as the runtime records them; every pair asked of both."""
    import asyncio

    original = resource_cycle_breaker._reachable
    sdk_add_dep = resource_cycle_breaker._add_dep
    rng = random.Random(seed)
    nodes = [_Node(i) for i in range(30)]
    twins = [_Node(i) for i in range(30)]  # the same edges, recorded by the SDK's own _add_dep
    loop = asyncio.new_event_loop()
    try:
        with fastpaths.applied(loop) as on:
            assert on
            for node in nodes[: rng.randint(20, 30)]:  # some nodes get no edges, in or out
                for target in rng.sample(nodes, rng.randint(0, 3)):
                    resource_cycle_breaker._add_dep(node, target)
                    sdk_add_dep(twins[node.name], twins[target.name])
            answers = [(original(a, b), fastpaths._reachable(a, b)) for a in nodes for b in nodes]
    finally:
        loop.close()
    recorded = [sorted(d.name for d in getattr(n, "_direct_computed_dependencies", ())) for n in nodes]
    assert recorded == [sorted(d.name for d in getattr(n, "_direct_computed_dependencies", ())) for n in twins]
    assert all(sdk == ours for sdk, ours in answers)
    assert {sdk for sdk, _ in answers} == {True, False}  # both answers occur, so the comparison means something
    assert fastpaths._DEPENDENTS == {}  # forgotten after the run


def _sdk_classes():
    from pulumi_gcp import container
    from pulumi_gcp.container import outputs
    from pulumi_kubernetes.apps.v1 import Deployment, DeploymentInitArgs

    return {
        "resource": [container.Cluster, container.NodePool, Deployment],
        "input": [container.ClusterArgs, DeploymentInitArgs, container._inputs.ClusterNodeConfigArgs],
        "output": [outputs.ClusterNodeConfig, outputs.ClusterAddonsConfig],
    }


def test_property_types_are_the_sdks_entry_for_entry():
    classes = _sdk_classes()
    pairs = [(cls, _types.resource_types, fastpaths._resource_types) for cls in classes["resource"]]
    pairs += [(cls, _types.input_type_types, fastpaths._input_type_types) for cls in classes["input"]]
    pairs += [(cls, _types.output_type_types, fastpaths._output_type_types) for cls in classes["output"]]
    for cls, sdk, ours in pairs:
        expected = sdk(cls)
        lazy = ours(cls)
        assert len(expected) >= 4, cls
        for key, value in expected.items():  # one at a time, as the runtime asks
            assert lazy.get(key) == value, (cls, key)
        assert lazy.get("noSuchProperty") is None
        assert dict(lazy) == expected and list(lazy) == list(expected)  # the whole mapping too, in order


def test_a_property_type_is_resolved_only_when_looked_up():
    from pulumi_gcp import container

    lazy = fastpaths._PropertyTypes(container.Cluster)  # a fresh one: the shared table may be filled
    assert lazy.get("nodeConfig") is not None
    assert list(lazy._resolved) == ["nodeConfig"]


def test_unset_arguments_are_left_out_and_the_message_is_the_same():
    import asyncio

    inputs = {"name": "n", "location": None, "nodeConfig": {"machineType": "g2", "spot": None}, "zero": 0}
    plain_deps: dict = {}
    fast_deps: dict = {}
    loop = asyncio.new_event_loop()
    try:
        plain = loop.run_until_complete(rpc.serialize_properties(inputs, plain_deps))
        fast = loop.run_until_complete(fastpaths._without_unset(rpc.serialize_properties)(inputs, fast_deps))
    finally:
        loop.close()
    assert plain == fast and plain_deps == fast_deps
    assert "location" not in fast and fast["zero"] == 0  # a falsy value is not an unset one


class _Tier(str, __import__("enum").Enum):  # a str-based enum, as the SDKs generate them
    STANDARD = "STANDARD"
    PREMIUM = "PREMIUM"


def _leaf_cases() -> tuple[list[object], list[object]]:
    from typing import Any, Optional

    values: list[object] = ["STANDARD", "", "04da6b54-80e4-46f7-96ec-b56ff0331ba9", 0, 7, -3, 2.0, 2.5, True, False]
    values += [None, _Tier.PREMIUM, {"a": 1}, [1, "x"], (2,)]  # not leaves: the SDK answers them
    types: list[object] = [None, Any, str, int, float, bool, _Tier, dict, list]
    types += [Optional[str], Optional[int], Optional[_Tier], Optional[float]]  # noqa: UP045  (the SDKs' spelling)
    return values, types


def _outcome(call, *args) -> tuple[object, ...]:
    """What call(*args) gives: its value and the value's type, or the exception it raises."""
    try:
        value = call(*args)
    except (AssertionError, ValueError, TypeError) as exc:
        return ("raises", type(exc), str(exc))
    return ("returns", type(value), value)


def test_plain_values_serialize_as_the_sdk_serializes_them():
    import asyncio

    from google.protobuf import struct_pb2

    values, types = _leaf_cases()
    ours = fastpaths._leaves_serialize_as_themselves(rpc.serialize_property)
    loop = asyncio.new_event_loop()
    outcomes = set()
    try:
        for value in values:
            for typ in types:
                sdk_deps: list = []
                our_deps: list = []
                run = loop.run_until_complete
                expected = _outcome(run, rpc.serialize_property(value, sdk_deps, "k", None, None, typ))
                got = _outcome(run, ours(value, our_deps, "k", None, None, typ))
                assert got == expected, (value, typ)
                assert sdk_deps == our_deps == []
                outcomes.add(expected[0])
            # asked for a protobuf Value, a plain value is still wrapped (by the SDK)
            wrapped = loop.run_until_complete(ours(value, [], "k", return_protobuf_value=True))
            assert isinstance(wrapped, struct_pb2.Value)
            sdk = loop.run_until_complete(rpc.serialize_property(value, [], "k", return_protobuf_value=True))
            assert wrapped == sdk
    finally:
        loop.close()
    assert outcomes == {"returns", "raises"}  # both occur, so the comparison means something


def test_plain_outputs_translate_as_the_sdk_translates_them():
    values, types = _leaf_cases()
    ours = fastpaths._leaves_translate_as_themselves(rpc.translate_output_properties)
    changed = 0
    for value in values:
        for typ in types:
            expected = _outcome(rpc.translate_output_properties, value, str, typ)
            for _ in range(2):  # the second time from what was decided for the type
                assert _outcome(ours, value, str, typ) == expected, (value, typ)
            changed += expected[0] == "returns" and expected[1] is not type(value)
    assert changed >= 4  # enum members built and floats truncated occur, so the comparison means something


def test_plain_values_hold_no_unknowns_as_the_sdk_says():
    from pulumi.output import UNKNOWN, Unknown

    values, _ = _leaf_cases()
    values += [UNKNOWN, Unknown(), {"a": [1, {"b": UNKNOWN}]}, [UNKNOWN], {"a": "b"}]
    ours = fastpaths._leaves_hold_no_unknowns(rpc.contains_unknowns)
    answers = [(rpc.contains_unknowns(v), ours(v)) for v in values]
    assert all(sdk is got for sdk, got in answers)
    assert {sdk for sdk, _ in answers} == {True, False}


def test_the_same_thread_executor_returns_finished_futures():
    executor = fastpaths._SameThread()
    assert executor.submit(lambda a, b: a + b, 2, b=3).result() == 5
    failed = executor.submit(lambda: 1 / 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
    assert executor._threads == set()  # no worker thread was started


def test_fast_paths_only_for_the_pulumi_version_they_were_read_against(monkeypatch):
    assert fastpaths.enabled() == (_version._VERSION == fastpaths.VERIFIED)
    monkeypatch.setattr(_version, "_VERSION", "3.999.0")
    assert not fastpaths.enabled()
    monkeypatch.setattr(_version, "_VERSION", fastpaths.VERIFIED)
    monkeypatch.setenv("LLMCLOUD_ENGINE_FAST_PATHS", "0")
    assert not fastpaths.enabled()


def test_the_replacements_are_undone_after_a_run():
    import asyncio

    from pulumi.runtime import resource as runtime_resource

    def current():
        return (
            resource_cycle_breaker._reachable,
            _types.resource_types,
            rpc.serialize_properties,
            runtime_resource.resource_pb2,
        )

    before = current()
    loop = asyncio.new_event_loop()
    try:
        with fastpaths.applied(loop) as on:
            assert on == fastpaths.enabled()
            if on:
                assert resource_cycle_breaker._reachable is fastpaths._reachable
                assert isinstance(loop._default_executor, fastpaths._SameThread)
                assert runtime_resource.resource_pb2.RegisterResourceRequest.__mro__[1] is fastpaths._Request
        assert current() == before
        assert loop._default_executor is None
    finally:
        loop.close()


def _plan(stack: Path, monkeypatch, fast: bool) -> str:
    monkeypatch.setenv("LLMCLOUD_ENGINE_FAST_PATHS", "1" if fast else "0")
    monkeypatch.setenv("LLMCLOUD_OWNER", "t")
    return json.dumps(plan(stack).to_json(), sort_keys=True)


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_the_fifty_model_stack_plans_the_same_with_and_without_fast_paths(tmp_path, monkeypatch):
    big = bench_cli().big_stack(tmp_path)
    fast = _plan(big, monkeypatch, fast=True)
    assert fast == _plan(big, monkeypatch, fast=False)
    assert len(json.loads(fast)["steps"]) > 350  # 50 models: six resources each, and the platform


def test_wire_inputs_become_plan_values_as_json_format_read_them():
    from google.protobuf import json_format, struct_pb2
    from llmcloud.components.engine import offline
    from llmcloud.components.engine.plan import COMPUTED, SECRET

    wire = {
        "name": "n",
        "count": 3.0,
        "ratio": 0.5,
        "on": True,
        "none": None,
        "unknown": rpc.UNKNOWN,
        "token": {rpc._special_sig_key: rpc._special_secret_sig, "value": "s3cr3t"},
        "ref": {rpc._special_sig_key: rpc._special_resource_sig, "urn": "urn:pulumi:s::p::t::r", "id": "r-id"},
        "nested": {"z": [1.0, "a", {"b": rpc.UNKNOWN}], "a": []},
    }
    struct = struct_pb2.Struct()
    struct.update(wire)
    plan = offline._plan_struct(struct)
    assert plan == {
        "count": 3,
        "name": "n",
        "nested": {"a": [], "z": [1, "a", {"b": COMPUTED}]},
        "none": None,
        "on": True,
        "ratio": 0.5,
        "ref": "urn:pulumi:s::p::t::r",
        "token": SECRET,
        "unknown": COMPUTED,
    }
    assert list(plan) == sorted(plan) and isinstance(plan["count"], int)
    assert set(plan) == set(json_format.MessageToDict(struct))  # every field json_format sees, none lost
    struct.update({"bad": float("nan")})
    with pytest.raises(ValueError, match="nan"):
        offline._plan_struct(struct)


def test_the_collector_is_off_while_the_program_runs_and_back_after(monkeypatch):
    import gc

    from llmcloud.components import engine
    from llmcloud.components.engine import offline

    seen: list[bool] = []

    def program() -> dict:
        seen.append(gc.isenabled())
        return {}

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    offline.capture(program, "t")
    assert seen == [False] and gc.isenabled()
    assert gc.get_freeze_count() == frozen  # a long-lived process (this one) keeps collecting what runs leave
    monkeypatch.setattr(engine, "ONE_SHOT_PROCESS", True)
    try:
        offline.capture(program, "t")
        assert seen == [False, False] and gc.isenabled()
        assert gc.get_freeze_count() > frozen  # the CLI's one-shot process: frozen, never walked again
    finally:
        gc.unfreeze()


def test_text_annotations_share_an_evaluation_only_when_their_names_stand_for_the_same_objects():
    import builtins
    import types

    import pulumi

    first, second = types.ModuleType("a.outputs"), types.ModuleType("b.outputs")
    local = {"Output": pulumi.Output, "T": type(None)}
    g1 = {"_builtins": builtins, "pulumi": pulumi, "outputs": first}
    g2 = {"_builtins": builtins, "pulumi": pulumi, "outputs": second}
    plain = {"return": "pulumi.Output[_builtins.str]"}
    assert fastpaths._text_key(plain, g1, local) == fastpaths._text_key(plain, g2, local)  # module-independent
    nested = {"return": "pulumi.Output['outputs.ClusterNodeConfig']"}
    assert fastpaths._text_key(nested, g1, local) != fastpaths._text_key(nested, g2, local)  # another `outputs`
    assert fastpaths._text_key({"return": "Output[Cluster]"}, g1, local) is None  # `Cluster` from builtins: no
    shadowed = {**g1, "Output": object()}
    assert fastpaths._text_key({"return": "Output[int]"}, shadowed, local) is None  # `int`: not found either
    assert fastpaths._text_key({"return": "Output"}, shadowed, local) == (
        (("return", "Output"),),
        (("Output", pulumi.Output),),
    )  # the locals win, as in eval


# ---- 6. properties worked out when read, 7. finished Outputs left in the list, 8. annotations unwrapped once


def _what_a_program_sees(monkeypatch, fast: bool) -> tuple[list, list]:
    """A program that reads resource properties before and after their registration answers (values, known,
    secret, the resources they come from); with the fast paths on or off."""
    import pulumi
    import pulumi_kubernetes as k8s
    from llmcloud.components.engine import offline

    monkeypatch.setenv("LLMCLOUD_ENGINE_FAST_PATHS", "1" if fast else "0")
    seen: list = []
    tasks: list = []  # the recording tasks (kept: the loop holds tasks only weakly)

    def record(label: str, out: pulumi.Output) -> None:
        async def facts() -> None:
            data = await out._data
            seen.append((label, data.value, data.is_known, data.is_secret, sorted(r._name for r in data.resources)))

        import asyncio

        tasks.append(asyncio.ensure_future(facts()))

    def program() -> dict:
        cm = k8s.core.v1.ConfigMap(
            "cm",
            metadata={"name": "cm", "labels": {"a": "b"}},
            data={"k": pulumi.Output.secret("v")},
        )
        record("metadata before", cm.metadata)  # asked for before the registration answers
        name = cm.metadata.apply(lambda m: m["name"])  # apply before the Output's data exists (untracked)
        record("name", name)
        record("data", cm.data)
        record("immutable", cm.immutable)  # not set: unknown in a preview
        svc = k8s.core.v1.Service("svc", metadata={"name": name, "annotations": {"cm": cm.metadata["name"]}})
        record("svc metadata", svc.metadata)
        return {"name": name, "svc": svc.metadata}

    steps, outputs = offline.capture(program, "t")
    return sorted(seen, key=repr), [outputs, [(s.urn, s.inputs, s.dependencies) for s in steps]]


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_properties_read_before_and_after_the_answer_see_what_the_sdk_gives(monkeypatch):
    fast_seen, fast_plan = _what_a_program_sees(monkeypatch, fast=True)
    slow_seen, slow_plan = _what_a_program_sees(monkeypatch, fast=False)
    assert fast_seen == slow_seen
    assert fast_plan == slow_plan
    by_label = {entry[0]: entry for entry in fast_seen}
    assert by_label["name"][1:4] == ("cm", True, False)
    assert by_label["data"][3] is True  # a secret input stays secret
    assert by_label["immutable"][1:3] == (None, False)
    assert by_label["name"][4] == ["cm"]
    assert by_label["svc metadata"][4] == ["svc"]  # the mock answer names no property dependencies: its own alone


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_a_property_nobody_reads_is_never_deserialized(monkeypatch):
    calls = {"n": 0}
    real = rpc.deserialize_property

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(rpc, "deserialize_property", counting)
    _what_a_program_sees(monkeypatch, fast=False)
    slow = calls["n"]
    calls["n"] = 0
    _what_a_program_sees(monkeypatch, fast=True)
    assert 0 < calls["n"] < slow


def test_a_property_whose_translation_fails_fails_alone():
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        pending = fastpaths._Pending(resource="r")
        future = loop.create_future()

        def refuse():
            raise TypeError("not the class's type")

        pending.later(refuse)
        pending.settle(future)
        assert isinstance(future.exception(), TypeError)
        ok = fastpaths._Pending(resource="r")
        later = loop.create_future()
        ok.future = later  # asked for before the answer: answered when it comes
        ok("v", True, False, {"d"}, None)
        data = later.result()
        assert (data.value, data.is_known, data.is_secret, data.resources) == ("v", True, False, {"d", "r"})
        failed = fastpaths._Pending(resource="r")
        failed.future = loop.create_future()
        failed(None, False, False, None, RuntimeError("registration failed"))
        assert isinstance(failed.future.exception(), RuntimeError)
    finally:
        loop.close()


def test_the_output_list_leaves_out_only_outputs_that_finished_with_a_value():
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        running, done, failed, cancelled = (loop.create_future() for _ in range(4))
        done.set_result(1)
        failed.set_exception(ValueError("x"))
        cancelled.cancel()
        tracked = fastpaths._Unfinished([running, done, failed, cancelled])
        assert set(list(tracked)) == {running, failed, cancelled}  # what wait_for_rpcs copies
        assert len(tracked) == 3
        with pytest.raises(AttributeError):
            tracked.copy()  # a set operation the SDK does not use: not there, so it cannot go unnoticed
        running.set_result(2)
        assert len(tracked) == 2
        tracked.clear()
        assert len(tracked) == 0
    finally:
        loop.close()


def test_unwrapped_annotations_are_the_sdks_and_asked_once():
    import pulumi

    asked: list = []

    def sdk(val):
        asked.append(val)
        return _types.unwrap_type(val)

    unwrap = fastpaths._unwrapping_once(sdk)
    annotations = [
        pulumi.Input[str] | None,
        pulumi.Input[int],
        pulumi.Output[str],
        pulumi.InputType[dict] | None,
        str,
        list[str],
    ]
    for annotation in annotations * 2:
        assert unwrap(annotation) == _types.unwrap_type(annotation)
    assert asked == annotations  # the second round came from what was kept


def test_every_golden_plan_is_the_same_without_fast_paths(monkeypatch):
    from golden import regen

    monkeypatch.setenv("LLMCLOUD_ENGINE_FAST_PATHS", "0")
    assert regen.differences(regen.generate()) == []


def test_stand_in_urns_are_the_sdks():
    """9.: the URN written at once is the text the SDK's Output chain gives, known and not secret."""
    import pulumi
    from llmcloud.components.engine import offline
    from pulumi.runtime import resource as runtime_resource

    fast = fastpaths._urn_at_once(runtime_resource.create_urn)
    cases = [
        ("cm", "kubernetes:core/v1:ConfigMap", None, None, None),
        ("cm", "kubernetes:core/v1:ConfigMap", None, "proj", "stk"),
        ("n", "t:m:T", "urn:pulumi:s::p::llmcloud:k8s:ModelServer::m", None, None),
        ("n", "t:m:T", "urn:pulumi:s::p::a:b:C$llmcloud:k8s:ModelServer::m", "ignored", "ignored"),
        ("n", "t:m:T", "", None, None),  # an empty parent: the SDK's slicing, "$" alone
    ]
    seen: list = []

    def program() -> dict:
        async def both(args) -> None:
            mine, sdks = fast(*args), runtime_resource.create_urn(*args)
            a, b = await mine._data, await sdks._data
            seen.append(
                ((a.value, a.is_known, a.is_secret, a.resources), (b.value, b.is_known, b.is_secret, b.resources))
            )

        import asyncio

        tasks = [asyncio.ensure_future(both(args)) for args in cases]
        return {"done": pulumi.Output.from_input(asyncio.gather(*tasks)).apply(lambda _: len(tasks))}

    offline.capture(program, "stk")
    assert len(seen) == len(cases)
    for mine, sdks in seen:
        assert mine == sdks
    assert seen[0][0][0] == "urn:pulumi:stk::llmcloud::kubernetes:core/v1:ConfigMap::cm"
    handed: list = []
    spy = fastpaths._urn_at_once(lambda *args: handed.append(args) or "sdk's")
    assert spy("n", "t:m:T", None, None, None) != "sdk's" and handed == []
    parent = object()  # a Resource or an Output parent, or any non-text argument: the SDK's own function
    assert spy("n", "t:m:T", parent) == "sdk's" and handed == [("n", "t:m:T", parent, None, None)]


def _wire_cases() -> list[object]:
    """Serialized input values: what the SDK's serializer hands back, and odd ones it might."""
    secret = {rpc._special_sig_key: rpc._special_secret_sig, "value": "s3cr3t"}
    ref = {rpc._special_sig_key: rpc._special_resource_sig, "urn": "urn:pulumi:s::p::t::r", "id": "r-id"}
    return [
        "text",
        "",
        rpc.UNKNOWN,
        0,
        3,
        -7,
        2**60 + 1,  # more than a double holds: rounded as the wire rounds it
        2.0,
        0.25,
        True,
        False,
        None,
        [1, "a", [2.0, None]],
        (4, "tuple"),
        {"z": 1, "a": {"b": rpc.UNKNOWN}, "m": []},
        secret,
        ref,
        {rpc._special_sig_key: rpc._special_resource_sig, "id": "no-urn"},
        {rpc._special_sig_key: rpc._special_resource_sig, "urn": None},
        {rpc._special_sig_key: 3, "urn": "u"},  # a signature that is not text: a plain mapping
        _Tier.PREMIUM,  # a str subclass: the wire keeps its text
        {"tier": _Tier.STANDARD, _Tier.PREMIUM: "key"},
        {rpc._special_sig_key: _Tier.STANDARD},
        {1: "a number as a key"},
        float("nan"),
        float("inf"),
        object(),
        {"nested": {2: "bad key"}},
    ]


def test_python_wire_values_become_the_plan_values_their_struct_gives():
    """10.: the monitor reads the serialized values as they are, and gets what it read from their Struct (or the
    same kind of error)."""
    from google.protobuf import struct_pb2
    from llmcloud.components.engine import offline

    def through_struct(value):
        struct = struct_pb2.Struct()
        struct["v"] = value
        return offline._plan_struct(struct)["v"]

    def directly(value):
        wire = fastpaths._WireStruct()
        wire.values["v"] = value
        return offline._plan_struct(wire)["v"]

    def outcome(call, value):
        try:
            result = call(value)
        except (ValueError, TypeError) as exc:
            return ("raises", type(exc))
        return ("returns", type(result), repr(result))

    for value in _wire_cases():
        assert outcome(directly, value) == outcome(through_struct, value), value
    top = fastpaths._WireStruct()
    top.values.update({rpc._special_sig_key: rpc._special_secret_sig, "value": "x"})
    assert offline._plan_struct(top) == offline._plan_struct(top.message())  # the whole input bag a secret


def test_a_wire_struct_reads_as_the_struct_the_sdk_would_have_built():
    from google.protobuf import struct_pb2

    values = {k: v for k, v in enumerate(_wire_cases()[:18])}
    wire = fastpaths._WireStruct()
    real = struct_pb2.Struct()
    for key, value in values.items():
        wire.values[f"k{key}"] = value
        real[f"k{key}"] = value
    assert wire.message() == real
    assert list(wire.fields) == list(wire.values) and set(wire.fields) == set(real.fields)
    for key in real.fields:
        assert wire[key] == real[key] and type(wire[key]) is type(real[key])
    assert fastpaths.as_message(wire) is wire.message() and fastpaths.as_message(real) is real


def test_only_a_registration_keeps_its_inputs_in_python():
    """10.: serialize_properties called by prepare_resource keeps the values (same values, same dependencies);
    called by anything else (stack outputs, provider functions) it gives the SDK's Struct."""
    import asyncio

    inputs = {"name": "n", "unset": None, "spec": {"replicas": 2, "labels": {"a": "b"}}, "on": False}
    fast = fastpaths._inputs_stay_python(fastpaths._without_unset(rpc.serialize_properties), _prepare_stand_in)
    loop = asyncio.new_event_loop()
    try:
        sdk_deps: dict = {}
        sdk = loop.run_until_complete(rpc.serialize_properties(inputs, sdk_deps))
        other_deps: dict = {}
        other = loop.run_until_complete(fast(inputs, other_deps))
        kept_deps: dict = {}
        kept = loop.run_until_complete(_prepare_stand_in(fast, inputs, kept_deps))
    finally:
        loop.close()
    assert type(other) is type(sdk) and other == sdk and other_deps == sdk_deps
    assert type(kept) is fastpaths._WireStruct
    assert kept.message() == sdk and kept_deps == sdk_deps
    assert kept.values["spec"] == {"replicas": 2, "labels": {"a": "b"}} and "unset" not in kept.values


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_in_a_run_every_registration_reaches_the_monitor_with_python_inputs(monkeypatch):
    """10. engages in the engine: it recognises the SDK's own prepare_resource as the caller (were that check to
    stop matching, the plans would stay right and only the speed would go, which no equality test would see)."""
    import pulumi_kubernetes as k8s
    from llmcloud.components.engine import offline

    seen: list = []
    real = offline._CapturingMonitor.RegisterResource

    def recording(self, request):
        seen.append((request.type, type(request).__mro__[1], type(request.object)))
        return real(self, request)

    monkeypatch.setattr(offline._CapturingMonitor, "RegisterResource", recording)

    def program():
        k8s.core.v1.ConfigMap("cm", data={"k": "v"})
        k8s.core.v1.Namespace("ns")

    offline.capture(program, "t")
    custom = [entry for entry in seen if entry[0] != "pulumi:pulumi:Stack"]
    assert len(custom) == 2
    assert all(cls is fastpaths._Request and kind is fastpaths._WireStruct for _, cls, kind in custom)


async def _prepare_stand_in(serialize_properties, inputs, deps):
    """Stands in for runtime/resource.prepare_resource in the test above: it calls serialize_properties."""
    return await serialize_properties(inputs, deps)


def test_python_requests_carry_the_sdks_fields_and_defaults():
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import resource_pb2

    view = fastpaths._messages_with_python_requests(resource_pb2)
    wire = fastpaths._WireStruct()
    wire.values["name"] = "n"
    deps = view.RegisterResourceRequest.PropertyDependencies(urns=["u1"])
    fields = dict(
        type="t:m:R", name="r", parent="", custom=True, object=wire, protect=None, propertyDependencies={"name": deps}
    )
    request = view.RegisterResourceRequest(**fields)
    real = resource_pb2.RegisterResourceRequest(**{**fields, "object": wire.message()})
    assert request.message() == real
    assert (request.type, request.object, request.protect) == ("t:m:R", wire, None)  # as the SDK gave them
    assert (request.importId, request.retainOnDelete, list(request.aliases)) == ("", False, [])  # unset: defaults
    assert view.RegisterResourceRequest.CustomTimeouts is resource_pb2.RegisterResourceRequest.CustomTimeouts
    read = view.ReadResourceRequest(id="i", type="t:m:R", name="r", properties=wire)
    assert read == resource_pb2.ReadResourceRequest(id="i", type="t:m:R", name="r", properties=wire.message())
    assert view.Result.SUCCESS == resource_pb2.Result.SUCCESS and runtime_resource.resource_pb2 is resource_pb2


def test_plain_trees_serialize_as_the_sdk_serializes_them():
    """11.: a dict, list or tuple of plain values, serialized in one walk, is what the SDK's awaited walk gives,
    key translations and element types included; a tree holding an Output still goes to the SDK."""
    import asyncio
    from collections.abc import Mapping, Sequence
    from typing import Any, Optional

    import pulumi
    from pulumi_kubernetes.core.v1 import ContainerArgs
    from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

    trees = [
        {"name": "n", "owner_references": [], "resource_version": "1", "labels": {"app_name": "x"}},
        {
            "name": "c",
            "image": "i",
            "env": [{"name": "A", "value": "1"}],
            "image_pull_policy": "Always",
            "args": ("a",),
        },
        [{"name": "a"}, {"generate_name": "b"}],
        {"nested": {"deeper": [1, 2.5, None, True, {"k_k": "v"}]}},
        [],
        {},
        ("t", 1),
    ]
    types = [None, Any, ObjectMetaArgs, ContainerArgs, Optional[ObjectMetaArgs], dict, dict[str, str]]  # noqa: UP045
    types += [Mapping[str, Any], list, Sequence[pulumi.Input[ObjectMetaArgs]], list[str], str, int]
    transformers = [None, str.upper]
    ours = fastpaths._leaves_serialize_as_themselves(rpc.serialize_property)
    loop = asyncio.new_event_loop()
    outcomes = set()
    try:
        run = loop.run_until_complete
        for tree in trees:
            assert fastpaths._plain(tree)
            for typ in types:
                for transformer in transformers:
                    sdk_deps: list = []
                    our_deps: list = []
                    expected = _outcome(run, rpc.serialize_property(tree, sdk_deps, "k", None, transformer, typ))
                    got = _outcome(run, ours(tree, our_deps, "k", None, transformer, typ))
                    assert got == expected, (tree, typ, transformer)
                    assert sdk_deps == our_deps == []
                    outcomes.add((expected[0], expected[2] == tree if expected[0] == "returns" else None))
        # translated keys happen: the comparison is not only of trees that come back unchanged
        assert ("returns", False) in outcomes and ("returns", True) in outcomes and ("raises", None) in outcomes

        async def with_an_output():
            out = pulumi.Output.from_input("v")
            tree = {"a": [{"b": out}], "c": 1}
            assert not fastpaths._plain(tree)
            sdk_deps: list = []
            our_deps: list = []
            sdk = await rpc.serialize_property(tree, sdk_deps, "k", None, None, None)
            got = await ours(tree, our_deps, "k", None, None, None)
            return sdk, got, sdk_deps, our_deps

        sdk, got, sdk_deps, our_deps = run(with_an_output())
        assert got == sdk == {"a": [{"b": "v"}], "c": 1} and sdk_deps == our_deps
    finally:
        loop.close()
    assert not fastpaths._plain({"a": {1, 2}}) and not fastpaths._plain([_Tier.PREMIUM])  # a set, a str subclass


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_explicit_dependencies_resolve_and_expand_as_the_sdks():
    """12.: a depends_on list resolves to the resources the SDK's Output wrapping gives, and a component expands
    to the same custom resources (nested components walked, the component itself left out)."""
    import asyncio

    import pulumi
    import pulumi_kubernetes as k8s
    from llmcloud.components.engine import offline
    from pulumi.runtime import _depends_on

    sdk_resolve, sdk_add = _depends_on._resolve_depends_on, rpc._add_dependency  # before the run: the SDK's
    found: dict = {}

    class Comp(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("t:index:Comp", name, None, opts)

    def program():
        comp = Comp("comp")
        inner = Comp("inner", pulumi.ResourceOptions(parent=comp))
        a = k8s.core.v1.ConfigMap("a", data={"k": "v"}, opts=pulumi.ResourceOptions(parent=comp))
        b = k8s.core.v1.ConfigMap("b", data={"k": "v"}, opts=pulumi.ResourceOptions(parent=inner))
        c = k8s.core.v1.ConfigMap("c", data={"k": "v"})
        d = k8s.core.v1.ConfigMap("d", data={"k": "v"})

        async def compare():
            assert _depends_on._resolve_depends_on is not sdk_resolve and rpc._add_dependency is not sdk_add
            cases = {
                "resources": [comp, c],
                "empty": [],
                "an output": [pulumi.Output.from_input(c)],
                "mixed": [a, pulumi.Output.from_input(b)],
            }
            for label, deps in cases.items():
                sdk = await sdk_resolve(deps)
                ours = await _depends_on._resolve_depends_on(deps)
                found[label] = (ours == sdk, sorted(r._name for r in ours))
            sdk_deps: dict = {}
            our_deps: dict = {}
            await sdk_add(sdk_deps, comp, c)
            await rpc._add_dependency(our_deps, comp, d)
            found["expanded"] = (sorted(r._name for r in sdk_deps.values()), sorted(r._name for r in our_deps.values()))
            with pytest.raises(TypeError, match="not a Resource"):
                await rpc._add_dependency({}, "not a resource", d)

        found["task"] = asyncio.ensure_future(compare())

    offline.capture(program, "t")
    found.pop("task").result()  # its assertions held
    assert found == {
        "resources": (True, ["c", "comp"]),
        "empty": (True, []),
        "an output": (True, ["c"]),
        "mixed": (True, ["a", "b"]),
        "expanded": (["a", "b"], ["a", "b"]),
    }


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_alias_urns_are_made_only_when_read_and_are_the_sdks():
    """13.: a resource's alias URNs are not worked out during a run unless read; read, they are the SDK's."""
    import asyncio

    import pulumi
    import pulumi_kubernetes as k8s
    from llmcloud.components.engine import offline
    from pulumi.runtime import resource as runtime_resource

    found: dict = {}
    sdk_collapse = runtime_resource.collapse_alias_to_urn
    deferred = fastpaths._alias_urns_when_read(sdk_collapse)

    class Comp(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("t:index:Comp", name, None, opts)

    def program():
        parent = Comp("parent")
        dep = k8s.apps.v1.Deployment(
            "d",
            spec={"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": []}}},
            opts=pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(name="old-d")]),
        )
        found["unmade"] = [
            type(alias).__name__ == "DeferredOutput" and "_make" in alias.__dict__ for alias in dep._aliases
        ]
        cases = [pulumi.Alias(name="old-d"), pulumi.Alias(type_="kubernetes:apps/v1beta1:Deployment"), "urn:as:text"]
        cases.append(pulumi.Alias(name="n", parent=None, stack="other", project="p"))
        lazy = [deferred(alias, "d", "kubernetes:apps/v1:Deployment", parent) for alias in cases]
        found["unmade before read"] = all("_make" in out.__dict__ for out in lazy)

        async def read():
            ours = [await out.future() for out in lazy]
            sdk = [await sdk_collapse(a, "d", "kubernetes:apps/v1:Deployment", parent).future() for a in cases]
            return ours, sdk

        return {"urns": pulumi.Output.from_input(asyncio.ensure_future(read()))}

    _, outputs = offline.capture(program, "t")
    ours, sdk = outputs["urns"]
    assert found["unmade"] and all(found["unmade"])  # the Deployment's own aliases (its older API versions too)
    assert found["unmade before read"]
    assert ours == sdk and len(set(ours)) == 4
    assert "old-d" in ours[0] and ours[2] == "urn:as:text" and "other::p::" in ours[3]


def test_debug_messages_go_to_the_mock_engine_only_when_its_logger_hears_them(monkeypatch):
    """14.: dropped only where the mock engine's logger would drop them; heard, they arrive as before."""
    import logging

    from pulumi import log
    from pulumi.runtime import mocks, settings

    sent: list = []
    debug = fastpaths._debug_when_heard(lambda msg, *rest: sent.append(msg))
    logger = logging.getLogger("llmcloud.test.debug")
    monkeypatch.setattr(settings, "get_engine", lambda: mocks.MockEngine(logger))
    monkeypatch.setattr(log, "get_engine", settings.get_engine)
    logger.setLevel(logging.WARNING)
    debug("dropped")
    logger.setLevel(logging.DEBUG)
    debug("heard")
    monkeypatch.setattr(log, "get_engine", lambda: object())  # another engine: always the SDK's
    logger.setLevel(logging.WARNING)
    debug("other engine")
    assert sent == ["heard", "other engine"]


@pytest.mark.skipif(not fastpaths.enabled(), reason="another pulumi version: the fast paths are off")
def test_read_and_looked_up_resources_see_the_same_with_and_without_fast_paths(monkeypatch):
    """10.: a read (`.get`, a ReadResourceRequest) and a lookup by URN (`pulumi:pulumi:getResource`, which rebuilds
    the registered state) get the registration's inputs as the SDK's Struct."""
    import pulumi
    import pulumi_kubernetes as k8s
    from llmcloud.components.engine import offline

    def program():
        cm = k8s.core.v1.ConfigMap("cm", metadata={"name": "cm"}, data={"k": "v", "n": "1"})
        read = k8s.core.v1.ConfigMap.get("read", "ns/cm")

        def looked_up(urn):
            return k8s.core.v1.ConfigMap("again", opts=pulumi.ResourceOptions(urn=urn))

        return {
            "read": read.data,
            "data": cm.urn.apply(lambda u: looked_up(u).data),
            "name": cm.urn.apply(
                lambda u: k8s.core.v1.ConfigMap("again2", opts=pulumi.ResourceOptions(urn=u)).metadata
            ),
        }

    seen = []
    for fast in ("1", "0"):
        monkeypatch.setenv("LLMCLOUD_ENGINE_FAST_PATHS", fast)
        steps, outputs = offline.capture(program, "t")
        seen.append((outputs, [(s.urn, s.inputs) for s in steps]))
    assert seen[0] == seen[1]
    assert seen[0][0]["data"] == {"k": "v", "n": "1"} and seen[0][0]["name"] == {"name": "cm"}
