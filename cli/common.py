"""What every command shares: exit codes, error reporting, loading a stack, output.

Only the standard library and typer at import time: `llmcloud --help` must stay fast.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from llmcloud.components.resolve import ResolvedStack
    from llmcloud.components.spec import LoadedStack
    from rich.console import Console

# Exit codes (contract 2)
OK, FAILED, INVALID, BLOCKED, MISSING, DRIFT = 0, 1, 2, 3, 4, 5

PULUMI_INSTALL = ("install the pulumi CLI (https://www.pulumi.com/docs/iac/download-install/: "
                  "`curl -fsSL https://get.pulumi.com | sh`), or use `llmcloud preview --offline`")

CloudOption = typer.Option(None, "--cloud", "-c", envvar="LLMCLOUD_CLOUD",
                           help="Target cloud: gcp, aws or azure; default the stack's `cloud:` [env LLMCLOUD_CLOUD].")
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout, nothing else.")
StackArgument = typer.Argument(..., help="Environment name (dev -> stacks/dev.yaml) or a path to a stack file.",
                               show_default=False)


def _width(stream: Any) -> int | None:
    """Rich falls back to 80 columns off a terminal (CI logs, pipes): too narrow for cost tables."""
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return 160


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


def stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, width=_width(sys.stdout))


def fail(code: int, message: str) -> NoReturn:
    """One line on stderr and the exit code; no traceback for problems the user can fix."""
    from llmcloud.components.spec.load import redact

    sys.stderr.write(f"error: {redact(message)}\n")
    raise typer.Exit(code)


def notice(message: str) -> None:
    """A one-line notice on stderr (never on stdout, which may be JSON)."""
    sys.stderr.write(f"note: {message}\n")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def load(stack: str, cloud: str | None) -> tuple[LoadedStack, ResolvedStack]:
    """Load, validate and resolve; invalid input exits 2 with every problem, one per line."""
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import StackErrors, load_stack

    try:
        loaded = load_stack(stack)
        return loaded, resolve(loaded, cloud)
    except StackErrors as exc:
        sys.stderr.write(exc.render() + "\n")
        n = len(exc.errors)
        sys.stderr.write(f"{n} problem{'s' if n != 1 else ''} found; nothing was created\n")
        raise typer.Exit(INVALID) from None


def require_sdk(cloud: str) -> None:
    from llmcloud.components.registry import MissingPrerequisite
    from llmcloud.components.registry import require_sdk as _require

    try:
        _require(cloud)
    except MissingPrerequisite as exc:
        fail(MISSING, str(exc))


def pulumi_cli() -> str | None:
    """The pulumi executable, if installed (PATH, or ~/.pulumi/bin where the installer puts it)."""
    found = shutil.which("pulumi")
    if found:
        return found
    home = os.path.expanduser("~/.pulumi/bin/pulumi")
    return home if os.access(home, os.X_OK) else None
