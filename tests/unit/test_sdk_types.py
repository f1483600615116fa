"""components/sdk_types.py: SDK type modules define a class on first use, the very class the file defines,
and anything unusual runs the file whole."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
import types
import typing
from pathlib import Path

import pytest
from llmcloud.components import sdk_types

from tests.helpers import fresh_python

TYPES_FILE = '''\
import typing
from typing import Optional

__all__ = ["Base", "Child", "Other", "Unused"]

@typing.final
class Base:
    """A docstring."""

    value: int = 1

class Child(Base):
    def get(self) -> Optional["Other"]:
        return None

class Other:
    pass

class Unused:
    raise RuntimeError("never defined unless asked for")
'''


def _load(tmp_path: Path, source: str, name: str = "fake_types") -> types.ModuleType:
    path = tmp_path / f"{name}.py"
    if not path.exists() or path.read_text() != source:  # rewriting would change its mtime: a new cache key
        path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader)
    spec.loader = sdk_types.TypesLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_CACHE_DIR", str(tmp_path / "cache"))
    sdk_types.EAGER.clear()


def test_split_finds_the_header_and_each_class_with_its_decorators():
    parts = sdk_types.split(TYPES_FILE)
    assert parts is not None
    header, chunks = parts
    assert header.rstrip().endswith('__all__ = ["Base", "Child", "Other", "Unused"]')
    assert [c[0] for c in chunks] == ["Base", "Child", "Other", "Unused"]
    base = chunks[0]
    assert TYPES_FILE[base[1] : base[2]].startswith("@typing.final\nclass Base:")
    assert base[3] == TYPES_FILE[: base[1]].count("\n") + 1  # first line, as the file numbers it


@pytest.mark.parametrize(
    "tail",
    [
        "Base.extra = 2\n",  # a statement after the classes
        "@typing.final\n",  # a decorator with no class
        "if True:\n    pass\n",
        'class Late:\n    """text\nat column zero"""\n',  # inside a string: cannot tell, so not split
    ],
)
def test_any_other_shape_is_not_split(tail):
    assert sdk_types.split(TYPES_FILE + tail) is None


def test_a_class_is_defined_on_first_use_with_what_it_names(tmp_path):
    module = _load(tmp_path, TYPES_FILE)
    assert "Child" not in vars(module) and "Unused" not in vars(module)
    child = module.Child  # its base class is looked up as a global name while its statement runs
    assert child.__mro__[1] is module.Base and child.__module__ == "fake_types"
    assert "Other" not in vars(module)
    assert typing.get_type_hints(child.get)["return"] == module.Other | None  # a string annotation
    assert "Unused" not in vars(module)  # nothing named it
    assert child.get.__code__.co_filename == str(tmp_path / "fake_types.py")
    assert (
        child.get.__code__.co_firstlineno
        == TYPES_FILE.splitlines().index('    def get(self) -> Optional["Other"]:') + 1
    )
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        module.Missing  # noqa: B018


def test_a_star_import_under_a_resource_module_binds_what_is_defined_and_all_defines_everything(tmp_path, monkeypatch):
    module = _load(
        tmp_path, TYPES_FILE.replace('    raise RuntimeError("never defined unless asked for")\n', "    pass\n")
    )
    monkeypatch.setitem(sys.modules, "fake_types", module)
    assert module.Child
    namespace: dict = {}
    monkeypatch.setattr(sdk_types._state, "quiet", 1, raising=False)  # as ResourceLoader sets it
    exec("from fake_types import *", namespace)
    assert {"Base", "Child"} <= namespace.keys() and "Other" not in namespace
    monkeypatch.setattr(sdk_types._state, "quiet", 0)
    assert module.__all__ == ["Base", "Child", "Other", "Unused"]
    assert all(name in vars(module) for name in module.__all__)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        (TYPES_FILE + "Base.extra = 2\n", "a statement after the classes"),
        (TYPES_FILE.replace('"Unused"]', '"Unused", "NotAClass"]'), "__all__ names something else"),
        (TYPES_FILE + "class Other:\n    pass\n", "a duplicate class"),
    ],
)
def test_an_unusual_file_runs_whole(tmp_path, source, why):
    source = source.replace('    raise RuntimeError("never defined unless asked for")\n', "    pass\n")
    module = _load(tmp_path, source)
    assert sdk_types.EAGER == ["fake_types"], why
    assert "Other" in vars(module) and sdk_types.lazy_state(module) is None


def test_compiled_classes_are_kept_and_a_broken_cache_is_rebuilt(tmp_path, monkeypatch):
    module = _load(tmp_path, TYPES_FILE)
    assert module.Child.__name__ == "Child"
    cache_files = list((tmp_path / "cache" / "sdk").glob("*.bin"))
    assert len(cache_files) == 1
    # A second process would read the classes back without compiling anything.
    monkeypatch.setattr(sdk_types, "_compile", lambda *a: (_ for _ in ()).throw(AssertionError("compiled")))
    again = _load(tmp_path, TYPES_FILE, name="fake_types")
    assert again.Child.__mro__[1] is again.Base
    monkeypatch.undo()
    monkeypatch.setenv("LLMCLOUD_CACHE_DIR", str(tmp_path / "cache"))
    cache_files[0].write_bytes(b"not marshal data")
    rebuilt = _load(tmp_path, TYPES_FILE)
    assert rebuilt.Other.__name__ == "Other"


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_CACHE_DIR", "off")
    assert _load(tmp_path, TYPES_FILE).Child
    assert not (tmp_path / "cache").exists()


_REPORT = """
import json, sys, inspect
import llmcloud.components
from llmcloud.components import sdk_types

from tests.helpers import fresh_python
import pulumi_gcp as gcp
gcp.container.Cluster, gcp.compute.Network
inputs = sys.modules["pulumi_gcp.container._inputs"]
state = sdk_types.lazy_state(inputs)
node = inputs.ClusterNodeConfigArgs
out = {
    "lazy": state is not None,
    "defined": sum(1 for n in state.names if n in vars(inputs)) if state else None,
    "total": len(state.names) if state else None,
    "node": [node.__module__, node.__qualname__, inspect.getsourcelines(node)[1]],
    "eager": sdk_types.EAGER,
}
out["all"] = len(inputs.__all__)
out["after_all"] = sum(1 for n in state.names if n in vars(inputs)) if state else None
print(json.dumps(out))
"""


def _report(tmp_path: Path, **env: str) -> dict:
    return json.loads(
        fresh_python("-c", _REPORT, env={**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache"), **env})
    )


def test_real_sdk_modules_load_lazily_and_keep_the_files_line_numbers(tmp_path):
    lazy = _report(tmp_path)
    assert lazy["lazy"] and lazy["eager"] == []
    assert lazy["defined"] < lazy["total"] / 2  # most of the service's types are never built
    assert lazy["all"] == lazy["total"]
    assert lazy["after_all"] == lazy["total"]  # asking for __all__ builds them all, as the SDK would
    full = _report(tmp_path, LLMCLOUD_FULL_SDK_IMPORTS="1")
    assert not full["lazy"]
    assert lazy["node"] == full["node"]  # same module, same name, same first line in the same file


# The SDKs and the Pulumi runtime exactly as shipped: no lazy types, no engine fast paths (engine/fastpaths.py)
AS_SHIPPED = {"LLMCLOUD_FULL_SDK_IMPORTS": "1", "LLMCLOUD_ENGINE_FAST_PATHS": "0"}


def _preview(tmp_path: Path, stack: str, **env: str) -> str:
    full_env = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache"), "LLMCLOUD_OWNER": "t", **env}
    return fresh_python("-m", "llmcloud.cli.main", "preview", stack, "--offline", "--json", env=full_env)


def test_the_offline_plan_is_the_same_with_and_without_lazy_types_and_stable(tmp_path):
    """Byte for byte: what the SDK's own import and runtime give, the lazy types and the engine's fast paths
    give, and two runs agree (registrations arrive in varying order; the plan sorts them)."""
    first, second = _preview(tmp_path, "dev"), _preview(tmp_path, "dev")
    assert first == second == _preview(tmp_path, "dev", **AS_SHIPPED)
    steps = json.loads(first)["steps"]
    assert [s["urn"] for s in steps] == sorted(s["urn"] for s in steps)


@pytest.mark.parametrize("stack", ["aws-example", "azure-example"])
def test_the_other_clouds_plans_are_the_same_with_and_without_lazy_types(tmp_path, stack):
    lazy = _preview(tmp_path, stack)
    assert lazy == _preview(tmp_path, stack, **AS_SHIPPED)
    notices = json.loads(lazy)["notices"]  # logged as inputs resolve, in varying order: the plan sorts them
    assert len(notices) > 1 and notices == sorted(notices)


def test_threads_asking_for_a_class_at_once_get_the_same_object(tmp_path):
    import threading

    module = _load(tmp_path, TYPES_FILE)
    seen: list[type] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        seen.append(module.Child)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 8 and len({id(c) for c in seen}) == 1


_RESOURCE_TYPES = """
import json, sys
import llmcloud.components
from pulumi import _types
from pulumi_gcp.container import Cluster, ClusterArgs
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_azure_native.containerservice import ManagedCluster
from pulumi_gcp.container import outputs, _inputs
classes = [Cluster, Deployment, ManagedCluster]
typed_dict = _inputs.ClusterNodeConfigArgsDict
print(json.dumps({
    "types": [sorted((k, repr(v)) for k, v in _types.resource_types(c).items()) for c in classes],
    "args": sorted((k, repr(v)) for k, v in _types.input_type_types(ClusterArgs).items()),
    "output": sorted((k, repr(v)) for k, v in _types.output_type_types(outputs.ClusterNodeConfig).items()),
    "input": sorted((k, repr(v)) for k, v in _types.input_type_types(_inputs.ClusterNodeConfigArgs).items()),
    "typed_dict": [sorted(typed_dict.__required_keys__), sorted(typed_dict.__optional_keys__),
                   sorted({type(v).__name__ for v in typed_dict.__annotations__.values()})],
    "init_annotations": sorted({type(v).__name__ for v in Cluster._internal_init.__annotations__.values()}),
    "output_init": sorted({type(v).__name__ for v in outputs.ClusterNodeConfig.__init__.__annotations__.values()}),
    "line": Cluster.__init__.__code__.co_firstlineno,
}))
"""


def test_sdk_classes_keep_annotations_as_text_and_resolve_to_the_sdks_types(tmp_path):
    def report(**env: str) -> dict:
        full_env = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache"), **env}
        return json.loads(fresh_python("-c", _RESOURCE_TYPES, env=full_env))

    lazy, again, full = report(), report(), report(LLMCLOUD_FULL_SDK_IMPORTS="1")
    assert lazy["init_annotations"] == lazy["output_init"] == ["str"]  # kept as text: no typing objects built
    assert full["init_annotations"] != ["str"] and full["output_init"] != ["str"]
    assert lazy["typed_dict"] == full["typed_dict"]  # a TypedDict is compiled as the file is: same required keys
    assert "str" not in lazy["typed_dict"][2] and lazy["typed_dict"][1]
    assert lazy["output"] == full["output"] and lazy["input"] == full["input"] and len(lazy["output"]) > 10
    assert lazy["types"] == again["types"] == full["types"]  # first run (compiled) and cached run alike
    assert all(len(types) > 3 for types in lazy["types"]) and lazy["args"] == full["args"]
    assert lazy["line"] == full["line"]  # the file's own line numbers


def test_a_resource_module_is_read_and_split_once_whatever_its_shape(tmp_path, monkeypatch):
    classes = tmp_path / "classes.py"
    classes.write_text(TYPES_FILE)
    functions = tmp_path / "get_thing.py"
    functions.write_text("import builtins\n\ndef get_thing():\n    return 1\n")  # a data source: not split
    first = sdk_types.resource_module_code(str(classes))
    assert first is not None and len(first) == 1 + len(sdk_types.split(TYPES_FILE)[1])
    assert sdk_types.resource_module_code(str(functions)) is None

    def unread(origin: str) -> str:
        raise AssertionError(f"{origin} read again")

    monkeypatch.setattr(sdk_types, "_read", unread)
    assert [c.co_firstlineno for c in sdk_types.resource_module_code(str(classes))] == [c.co_firstlineno for c in first]
    assert sdk_types.resource_module_code(str(functions)) is None  # remembered: runs whole, not split again
