"""The floor under `llmcloud preview --offline`: a bare Pulumi program, under the same mock runtime, that
registers exactly the resources of a golden plan (same types, names, parents and count) with no llmcloud
code at all. With --import-sdks it first imports the provider SDK modules those types live in (what any
Pulumi Python program of these resources pays); with --import-classes it loads only the resource classes
themselves, through the import hook llmcloud uses (components/sdk.py), the floor under llmcloud's own way
of loading the SDKs. With --fast-paths, llmcloud's offline engine runs the same program (its mock monitor and
the engine's fast paths, components/engine/fastpaths.py): the floor under llmcloud's own runtime, still with no
SDK class and no llmcloud program code. bench/bench_cli.py times it next to the real preview.

    python bench/floor_program.py tests/golden/plans/dev.gcp.json [--import-sdks | --import-classes] [--fast-paths]
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from pathlib import Path

import pulumi


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}, []


def sdk_modules(types: set[str]) -> set[str]:
    """'gcp:compute/network:Network' -> 'pulumi_gcp.compute'; 'kubernetes:apps/v1:Deployment' -> ..."""
    packages = {
        "gcp": "pulumi_gcp",
        "aws": "pulumi_aws",
        "azure-native": "pulumi_azure_native",
        "kubernetes": "pulumi_kubernetes",
        "random": "pulumi_random",
    }
    out = set()
    for t in types:
        pkg, module, _ = t.split(":", 2)
        if pkg in packages:
            sub = module.split("/")[0] if pkg != "kubernetes" else module.replace("/", ".")
            out.add(f"{packages[pkg]}.{sub}" if sub and sub != "index" else packages[pkg])
    return out


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    steps = plan["steps"]
    if "--import-classes" in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / ".editable"))
        from llmcloud.components import sdk  # noqa: F401  (installs the hook)

        for t in sorted({s["newState"]["type"] for s in steps if s["newState"]["custom"]}):
            for module in sdk_modules({t}):  # none for pulumi:providers:* (the runtime's own)
                with contextlib.suppress(ImportError, AttributeError):
                    getattr(importlib.import_module(module), t.rsplit(":", 1)[-1])
    elif "--import-sdks" in sys.argv:
        for name in sorted(sdk_modules({s["newState"]["type"] for s in steps if s["newState"]["custom"]})):
            with contextlib.suppress(ImportError):
                # pulumi's top-level packages import sub-packages lazily: touching an attribute runs the
                # sub-package's __init__, which is what a program that uses its classes pays
                getattr(importlib.import_module(name), "__builtins__", None)
    fast = "--fast-paths" in sys.argv
    if not fast:
        pulumi.runtime.set_mocks(_Mocks(), project="llmcloud", stack=plan["stack"], preview=True)

    def program():
        by_urn: dict[str, pulumi.Resource] = {}
        urns = {s["urn"] for s in steps}
        pending = list(steps)
        while pending:  # parents first
            rest = []
            for s in pending:
                state = s["newState"]
                parent = state.get("parent")
                if parent and parent not in by_urn and parent in urns:
                    rest.append(s)
                    continue
                opts = pulumi.ResourceOptions(parent=by_urn.get(parent))
                name = s["urn"].rsplit("::", 1)[-1]
                if state["custom"]:
                    res = pulumi.CustomResource(state["type"], name, dict(state.get("inputs") or {}), opts)
                else:
                    res = pulumi.ComponentResource(state["type"], name, None, opts)
                by_urn[s["urn"]] = res
            if len(rest) == len(pending):
                break
            pending = rest

    if fast:  # llmcloud's offline engine runs it: its mock monitor, with the engine's fast paths
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / ".editable"))
        from llmcloud.components.engine import offline

        offline.capture(program, plan["stack"])
    else:
        pulumi.runtime.test(program)()


if __name__ == "__main__":
    main()
