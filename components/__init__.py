"""llmcloud's components: the stack model, the catalog, the per-cloud builders and the engines."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs every command ~5 ms
if TYPE_CHECKING:
    import importlib.machinery
    import types
    from collections.abc import Sequence

# Provider SDK sub-packages load only the resources used (components/sdk.py). Its hook is set up when a
# provider SDK is first imported: its own imports would cost every command, `llmcloud --help` included.
_PROVIDERS = frozenset(("pulumi_gcp", "pulumi_aws", "pulumi_azure_native", "pulumi_kubernetes", "pulumi_random"))


class _OnFirstProviderImport:  # a meta path finder (duck-typed)
    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in _PROVIDERS:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from . import sdk

        sdk.install()  # unless LLMCLOUD_FULL_SDK_IMPORTS is set
        return sdk.FINDER.find_spec(fullname, path, target) if sdk.FINDER in sys.meta_path else None


class _Deferred:  # a meta path finder (duck-typed)
    """`import pulumi` ends with `from . import runtime, dynamic, policy, automation`: the Automation API
    (the real engine's, components/engine/real.py) and dynamic providers (dill) cost a tenth of a second
    that a preview or a validate never uses. It starts with `from .runtime import _instrumentation`, which
    imports OpenTelemetry's SDK (40 ms) to set up tracing, and does nothing more unless the Pulumi CLI passed
    a TRACEPARENT. Those modules load through the standard library's `importlib.util.LazyLoader`: the module
    exists at once and runs its code on first attribute access (the instrumentation: not deferred when a
    TRACEPARENT is set)."""

    NAMES = frozenset(("pulumi.automation", "pulumi.dynamic", "pulumi.runtime._instrumentation"))

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.NAMES:
            return None
        import importlib.machinery
        import importlib.util
        import os

        if os.environ.get("LLMCLOUD_FULL_SDK_IMPORTS"):
            return None
        if fullname == "pulumi.runtime._instrumentation" and os.environ.get("TRACEPARENT"):
            return None  # tracing asked for: it must be set up before grpc loads
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)  # the module's own spec
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


sys.meta_path.insert(0, _OnFirstProviderImport())
sys.meta_path.insert(0, _Deferred())
