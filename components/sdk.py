"""Provider SDK sub-packages load only the resources a program uses.

Every generated Pulumi provider SDK (pulumi_gcp, pulumi_aws, pulumi_azure_native, pulumi_kubernetes) has
sub-packages whose `__init__.py` only re-exports its modules: `from .address import *`, `from
.autoscaler import *`, ... for every resource of the service (about 290 in `pulumi_gcp.compute`).
Touching `gcp.compute.Network` therefore builds every resource class of Compute Engine, and each class
builds dozens of typing objects: about a second per large sub-package, most of an offline preview.

`install()` adds an import hook that recognises such export-only `__init__.py` files (read as text,
never guessed from a name) and loads the package without running them. A name is then looked up on
first use in the module that lists it in `__all__`, trying the module its name implies first
(`SSLPolicy` -> `ssl_policy.py`, `Deployment` -> `Deployment.py`, `NetworkArgs` -> `network.py`), then
`_inputs`, `_enums` and `outputs`. A name found nowhere by that search makes the package run its real
`__init__` after all, so an unusual name costs time, never correctness. The objects are the SDK's own
(the same classes, the same type tokens), so what a program registers is unchanged: the golden plans
prove it. Top-level SDK packages are left alone (they are lazy already). Set
`LLMCLOUD_FULL_SDK_IMPORTS=1` to turn the hook off.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import re
import sys
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import _PROVIDERS, sdk_types

if TYPE_CHECKING:  # the protocol's base class for the type checker only: importlib.abc costs start-up ~6 ms
    from importlib.abc import Loader as _LoaderBase
else:
    _LoaderBase = object

PROVIDERS = tuple(f"{name}." for name in sorted(_PROVIDERS))  # their sub-packages and modules
_EXPORT = re.compile(r"from \.(\w+) import \*")
_HEADER = re.compile(r"import builtins as _builtins|import typing|from \.+ import _utilities|from \. import outputs")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SUPPORT = ("_inputs", "_enums", "outputs")
FULL_LOADS: list[str] = []  # packages whose real __init__ had to run (tests assert which)


def exports(init_source: str) -> list[str] | None:
    """The modules an export-only `__init__.py` re-exports, in order; None when it does anything else."""
    modules: list[str] = []
    for raw in init_source.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _EXPORT.fullmatch(line)
        if match:
            modules.append(match.group(1))
        elif not _HEADER.fullmatch(line):
            return None
    return modules or None


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


_AFFIXES = (  # how the SDKs name what a module holds besides its resource: the module's name is what is left
    ("Awaitable", ""),  # AwaitableGetClusterResult (get_cluster.py)
    ("", "InitArgs"),  # ConfigMapInitArgs (pulumi_kubernetes ConfigMap.py)
    ("", "ArgsDict"),
    ("", "Args"),
    ("", "Result"),  # GetClusterResult
    ("", "_output"),  # get_cluster_output
)


def candidates(name: str, modules: Sequence[str]) -> list[str]:
    """The modules to search for `name`, most likely first."""
    base = name
    for prefix, suffix in _AFFIXES:
        if prefix and base.startswith(prefix) and len(base) > len(prefix):
            base = base.removeprefix(prefix)
        if suffix and base.endswith(suffix) and len(base) > len(suffix):
            base = base.removesuffix(suffix)
    guesses = [name, snake(name), base, snake(base)]
    ordered: list[str] = []
    for guess in [*guesses, *_SUPPORT]:
        if (guess in modules or guess == "outputs") and guess not in ordered:
            ordered.append(guess)
    return ordered


def exported(module: types.ModuleType) -> Any:
    """What `from module import *` binds: its `__all__`, else every public name."""
    names = getattr(module, "__all__", None)
    return names if names is not None else [n for n in vars(module) if not n.startswith("_")]


class _Loader(_LoaderBase):
    def __init__(self, real: Any, origin: str) -> None:
        self.real = real
        self.origin = origin  # the package's __init__.py, read when the package runs (not when it is found:
        # pulumi_gcp's own __init__ finds all its ~150 sub-packages and runs a few)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        package = module.__name__
        real = self.real
        try:
            with open(self.origin, encoding="utf-8") as handle:
                found = exports(handle.read())
        except OSError:
            found = None
        if found is None:  # not a shape this loader knows: the SDK's own __init__, as it is
            FULL_LOADS.append(package)
            real.exec_module(module)
            return
        modules = found
        state = {"full": False}

        def load_all() -> None:
            if not state["full"]:
                state["full"] = True
                FULL_LOADS.append(package)
                real.exec_module(module)  # the SDK's own __init__: every `from .x import *`

        def load(sub_name: str, wanted: str) -> types.ModuleType:
            """Import one submodule and bind what `from .sub import *` would (importing it bound the
            module object under its own name; pulumi_kubernetes' `Namespace` module exports `Namespace`,
            pulumi_aws' `get_addon` module exports `get_addon`: the exported object wins, as in the SDK)."""
            sub = importlib.import_module(f"{package}.{sub_name}")
            if sub_name not in vars(module):  # still loading (outputs.py runs `from . import outputs`)
                setattr(module, sub_name, sub)
            lazy = sdk_types.lazy_state(sub)
            if lazy is not None:  # a lazily defined type module: bind only the name asked for
                if sub_name != "outputs" and wanted in lazy.names:
                    setattr(module, wanted, lazy.getattr(wanted))
            elif sub_name != "outputs":  # `from . import outputs` binds the module only
                values = vars(sub)
                for exported_name in exported(sub):
                    if exported_name in values:  # a module still loading has not defined them all yet
                        setattr(module, exported_name, values[exported_name])
            return sub

        def __getattr__(name: str) -> Any:
            if name.startswith("__") and name.endswith("__"):
                if name == "__all__":
                    load_all()
                    return [n for n in vars(module) if not n.startswith("_")]
                raise AttributeError(name)
            if not state["full"]:
                for candidate in candidates(name, modules):
                    load(candidate, name)
                    if name in vars(module):
                        return vars(module)[name]
                load_all()
            try:
                return vars(module)[name]
            except KeyError:
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


class _Finder:  # a meta path finder (duck-typed, as above)
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PROVIDERS):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not spec.origin:
            return None
        if not spec.submodule_search_locations:  # a module file: types defined lazily (components/sdk_types.py)
            if not spec.origin.endswith(".py"):
                return None
            loader = sdk_types.loader_for(fullname, spec.origin, spec.loader)
            if loader is None:
                return None
            spec.loader = loader
            return spec
        spec.loader = _Loader(spec.loader, spec.origin)
        return spec


FINDER = _Finder()


def install() -> None:
    """Add the hook once (idempotent), unless LLMCLOUD_FULL_SDK_IMPORTS is set."""
    if os.environ.get("LLMCLOUD_FULL_SDK_IMPORTS") or FINDER in sys.meta_path:
        return
    sys.meta_path.insert(0, FINDER)
