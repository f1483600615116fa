"""components/sdk.py: provider SDK sub-packages load only the resources used, and every name resolves to
the very object the SDK's own `__init__` would have bound (checked name by name against a full import)."""

from __future__ import annotations

import json
import os

import pytest
from llmcloud.components import sdk

from tests.helpers import fresh_python

# What a process sees for every public name of each package: kind, defining module, qualified name; which
# of the package's modules were loaded; and which packages had to run their real __init__.
_DUMP = """
import importlib, json, sys, types
import llmcloud.components  # installs the hook unless LLMCLOUD_FULL_SDK_IMPORTS is set
from llmcloud.components import sdk

from tests.helpers import fresh_python
def describe(value):
    if isinstance(value, types.ModuleType):
        return ["module", value.__name__, ""]
    return [type(value).__name__, getattr(value, "__module__", ""), getattr(value, "__qualname__", "")]
out = {}
for name, wanted in json.loads(sys.argv[1]).items():
    package = importlib.import_module(name)
    getattr(package, "__builtins__", None)  # a lazily imported package (pulumi's lazy_import) loads on this
    if wanted is None:
        wanted = sorted(n for n, v in vars(package).items() if not n.startswith("_")
                        and not (isinstance(v, types.ModuleType) and not v.__name__.startswith(name + ".")))
    out[name] = {"names": {n: describe(getattr(package, n)) for n in wanted},
                 "modules": sorted(m for m in sys.modules if m.startswith(name + "."))}
print(json.dumps({"packages": out, "full_loads": sdk.FULL_LOADS}))
"""
# One package per naming scheme: pulumi_kubernetes (modules named after their resource, ConfigMapInitArgs),
# pulumi_aws (get_* modules whose function has the module's name), pulumi_azure_native and pulumi_gcp.
PACKAGES = [
    "pulumi_kubernetes.core.v1",
    "pulumi_aws.eks",
    "pulumi_azure_native.containerservice",
    "pulumi_gcp.container",
]


def _run(packages: dict[str, list[str] | None], *, full: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LLMCLOUD_FULL_SDK_IMPORTS"}
    if full:
        env["LLMCLOUD_FULL_SDK_IMPORTS"] = "1"
    return json.loads(fresh_python("-c", _DUMP, json.dumps(packages), env=env))


@pytest.fixture(scope="module")
def full_import() -> dict:
    """The SDKs' own answer, once for the module: every package imported whole (and Compute Engine too)."""
    return _run({**dict.fromkeys(PACKAGES), "pulumi_gcp.compute": ["Network"]}, full=True)


def test_export_only_inits_are_recognised_and_others_left_alone():
    assert sdk.exports("import typing\nfrom .. import _utilities\nfrom .a import *\nfrom ._inputs import *\n") == [
        "a",
        "_inputs",
    ]
    lazy = "import typing\nif typing.TYPE_CHECKING:\n    import x\nelse:\n    v1 = _utilities.lazy_import('x')\n"
    assert sdk.exports(lazy) is None  # pulumi_kubernetes.core's lazy sub-package table: not ours to change
    assert sdk.exports("from .a import *\nimport os\n") is None
    assert sdk.candidates("SSLPolicyArgs", ["ssl_policy", "_inputs"])[:2] == ["ssl_policy", "_inputs"]
    assert sdk.candidates("Deployment", ["Deployment", "_inputs"])[0] == "Deployment"


def test_every_name_resolves_to_what_the_sdk_itself_binds(full_import):
    full = full_import["packages"]
    assert full_import["full_loads"] == [] and all(len(full[p]["names"]) > 30 for p in PACKAGES)
    slim = _run({p: sorted(full[p]["names"]) for p in PACKAGES})
    for p in PACKAGES:
        assert slim["packages"][p]["names"] == full[p]["names"], p
    assert slim["full_loads"] == []  # every name found by the search: no real __init__ had to run


def test_a_resource_loads_its_own_module_not_the_whole_service(full_import):
    one = _run({"pulumi_gcp.compute": ["Network", "RouterNatLogConfigArgs", "outputs"]})["packages"][
        "pulumi_gcp.compute"
    ]
    assert one["names"]["Network"] == ["type", "pulumi_gcp.compute.network", "Network"]
    assert one["names"]["outputs"][0] == "module"
    assert "pulumi_gcp.compute.autoscaler" not in one["modules"] and len(one["modules"]) < 20
    everything = full_import["packages"]["pulumi_gcp.compute"]
    assert "pulumi_gcp.compute.autoscaler" in everything["modules"] and len(everything["modules"]) > 200
    assert everything["names"]["Network"] == one["names"]["Network"]


def test_an_unknown_name_runs_the_real_init_and_still_fails_like_the_sdk():
    code = (
        "import llmcloud.components, pulumi_gcp as gcp\n"
        "from llmcloud.components import sdk\n"
        "try:\n    gcp.storage.NoSuchResource\nexcept AttributeError as exc:\n    print('AttributeError', exc)\n"
        "print(sdk.FULL_LOADS)\n"
    )
    out = fresh_python("-c", code)
    assert "AttributeError" in out and "NoSuchResource" in out
    assert "['pulumi_gcp.storage']" in out


_DEFERRED = """
import json, sys
import llmcloud.components, pulumi
before = {n: type(sys.modules[n]).__name__ for n in ("pulumi.automation", "pulumi.dynamic")}
ran_before = "pulumi.automation._local_workspace" in sys.modules
tracing = [type(sys.modules["pulumi.runtime._instrumentation"]).__name__, "opentelemetry.sdk.trace" in sys.modules]
workspace = pulumi.automation.LocalWorkspace.__qualname__  # first attribute access runs the package
print(json.dumps({"before": before, "ran_before": ran_before, "workspace": workspace, "tracing": tracing,
                  "ran_after": "pulumi.automation._local_workspace" in sys.modules,
                  "provider": pulumi.dynamic.ResourceProvider.__module__}))
"""


@pytest.mark.parametrize("full", [False, True])
def test_pulumis_automation_and_dynamic_packages_run_on_first_use(full):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMCLOUD_FULL_SDK_IMPORTS", "TRACEPARENT")}
    if full:
        env["LLMCLOUD_FULL_SDK_IMPORTS"] = "1"
    seen = json.loads(fresh_python("-c", _DEFERRED, env=env))
    kind = "module" if full else "_LazyModule"
    assert seen["before"] == {"pulumi.automation": kind, "pulumi.dynamic": kind}
    assert seen["ran_before"] is full
    assert seen["workspace"] == "LocalWorkspace" and seen["ran_after"]
    assert seen["provider"] == "pulumi.dynamic.dynamic"
    assert seen["tracing"] == (["module", True] if full else ["_LazyModule", False])


def test_pulumis_tracing_is_set_up_at_import_when_the_cli_passes_a_traceparent():
    env = {k: v for k, v in os.environ.items() if k != "LLMCLOUD_FULL_SDK_IMPORTS"}
    env["TRACEPARENT"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # W3C trace-context example
    assert json.loads(fresh_python("-c", _DEFERRED, env=env))["tracing"] == ["module", True]
