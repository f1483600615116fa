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


sys.meta_path.insert(0, _OnFirstProviderImport())
