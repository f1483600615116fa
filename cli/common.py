"""What every command shares: exit codes, error reporting, loading a stack, output.

Only the standard library and typer at import time: `llmcloud --help` must stay fast.
"""

from __future__ import annotations

import json
import os
import re
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

PULUMI_INSTALL = (
    "install the pulumi CLI (https://www.pulumi.com/docs/iac/download-install/: "
    "`curl -fsSL https://get.pulumi.com | sh`), or use `llmcloud preview --offline`"
)

CloudOption = typer.Option(
    None,
    "--cloud",
    "-c",
    envvar="LLMCLOUD_CLOUD",
    help="Target cloud: gcp, aws or azure; default the stack's `cloud:` [env LLMCLOUD_CLOUD].",
)
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout, nothing else.")
StackArgument = typer.Argument(
    ..., help="Environment name (dev -> stacks/dev.yaml) or a path to a stack file.", show_default=False
)


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


def _context() -> Any:
    """The running command's click context (typer 0.2x vendors click as typer._click), or None."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # typer versions that use the click package
        from click import get_current_context
    return get_current_context(silent=True)


def _meta() -> dict[str, Any]:
    """Per-invocation state (the context's meta; a plain dict outside a command)."""
    ctx = _context()
    return ctx.meta if ctx is not None else {}


def json_requested() -> bool:
    """Whether the running command was given --json (every command names that option `json` or `json_mode`)."""
    ctx = _context()
    while ctx is not None:
        if ctx.params.get("json_mode") or ctx.params.get("json"):
            return True
        ctx = ctx.parent
    return False


def _json_errors(errors: list[dict[str, Any]]) -> None:
    """With --json, a failure is JSON on stdout too: {"errors": [{file, line, column, path, message}]}
    (unless the command already wrote its document, which then carries the outcome)."""
    if json_requested() and not _meta().get("llmcloud.emitted"):
        emit_json({"errors": errors})


def fail(code: int, message: str) -> NoReturn:
    """One line on stderr and the exit code; no traceback for problems the user can fix."""
    from llmcloud.components.spec.secrets import redact

    sys.stderr.write(f"error: {redact(message)}\n")
    _json_errors([{"file": None, "line": None, "column": None, "path": None, "message": redact(message)}])
    raise typer.Exit(code)


def check_budget(value: float | None) -> float | None:
    """A `--budget` / LLMCLOUD_BUDGET value: a positive, finite number of dollars (nan would turn the gate off)."""
    import math

    if value is not None and (not math.isfinite(value) or value <= 0):
        fail(
            INVALID,
            f"--budget {value!r} is not a budget; allowed: a positive number of US dollars a month, e.g. --budget 5000",
        )
    return value


def check_cloud(cloud: str | None) -> None:
    """`--cloud` is checked before the stack file is read, so a typo there never blames a line of the file."""
    from llmcloud.components.spec.errors import did_you_mean
    from llmcloud.components.spec.model import CLOUDS

    if cloud is not None and cloud not in CLOUDS:
        fail(INVALID, f"--cloud: unknown cloud {cloud!r}{did_you_mean(cloud, CLOUDS)}; allowed: {', '.join(CLOUDS)}")


def notice(message: str) -> None:
    """A one-line notice on stderr (never on stdout, which may be JSON)."""
    sys.stderr.write(f"note: {message}\n")


def emit_json(data: Any) -> None:
    """One JSON document on stdout. NaN and infinities are not JSON: they become null."""
    _meta()["llmcloud.emitted"] = True
    sys.stdout.write(json_text(data) + "\n")


def json_text(data: Any) -> str:
    """`data` as indented JSON, NaN and infinities as null: the text of `json.dumps(data, indent=2, default=str)`.

    orjson (a core dependency) writes it (the json module indents in pure Python: a 50-model plan, 1.7 MB, took
    it 0.08 s), with json's choices kept: non-ASCII as \\u escapes, datetimes and dataclasses through `str`. Two
    differences remain, neither in llmcloud's documents: a float in exponent form (orjson writes 1e16, json 1e+16:
    the same number) and a plain Enum member (its value, where json writes str(member)). What orjson refuses (a
    key that is not a str, an integer beyond 64 bits) goes to json."""
    import orjson

    options = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    try:
        # NaN and infinities: orjson writes null, as _finite makes them for json
        text = orjson.dumps(data, default=str, option=options).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _json_module_text(data)
    return text if text.isascii() else _NON_ASCII.sub(_escape, text)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    """One character as json's ensure_ascii writes it: \\uXXXX, a surrogate pair beyond the BMP."""
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _json_module_text(data: Any) -> str:
    """Most documents hold no NaN: they are written as they are, and only one the encoder refuses is walked."""
    try:
        return json.dumps(data, indent=2, sort_keys=False, default=str, allow_nan=False)
    except ValueError:  # a non-finite float somewhere
        return json.dumps(_finite(data), indent=2, sort_keys=False, default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def load(stack: str, cloud: str | None) -> tuple[LoadedStack, ResolvedStack]:
    """Load, validate and resolve; invalid input exits 2 with every problem, one per line."""
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import StackErrors, load_stack
    from llmcloud.components.spec.load import PartialStackErrors

    check_cloud(cloud)
    try:
        loaded = load_stack(stack)
        return loaded, resolve(loaded, cloud)
    except StackErrors as exc:
        errors = list(exc.errors)
        if isinstance(exc, PartialStackErrors) and exc.partial is not None:
            # all at once: the cloud checks run on what did validate; those about a left-out value are dropped
            try:
                resolve(exc.partial, cloud)
            except StackErrors as more:
                errors += [e for e in more.errors if not exc.stale(e.path)]
            except Exception:  # a check tripped over a left-out value: the problems above still stand
                pass
        report_stack_errors(StackErrors(_dedupe(errors)))
        raise typer.Exit(INVALID) from None


def _dedupe(errors: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for e in errors:
        if e.render() not in seen:
            seen.add(e.render())
            out.append(e)
    return out


def report_stack_errors(exc: Any) -> None:
    """Every problem one line on stderr (and {"errors": [...]} on stdout under --json)."""
    sys.stderr.write(exc.render() + "\n")
    n = len(exc.errors)
    sys.stderr.write(f"{n} problem{'s' if n != 1 else ''} found; nothing was created\n")
    _json_errors([e.to_json() for e in exc.errors])


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
