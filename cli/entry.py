"""The `llmcloud` executable: help screens come from llmcloud's cache, everything else from cli/main.py.

Typer alone takes about 0.1 s to import here, so `llmcloud --help` cannot start faster than that through
it. The help text is the same every time as long as nothing that renders it changes, so the first run
renders it through Typer as usual and keeps the text; later runs print the kept text without importing
Typer. The key covers everything the text depends on: the arguments, the width Click formats for, every
file of llmcloud's CLI and registry (size and modification time), the installed Typer, the interpreter, and
the LLMCLOUD_* settings (a secret's value never enters the key). Only argument lists that ask for help
and nothing else are served (`llmcloud`, `llmcloud --help`, `llmcloud COMMAND --help`, the same with
-h). LLMCLOUD_CACHE_DIR=off (or any failure to read or write the cache) means Typer renders it every time.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs this path ~5 ms
if TYPE_CHECKING:
    from typing import Any

_HELP_FLAGS = ("--help", "-h")
_SECRET_WORDS = ("PASSPHRASE", "PASSWORD", "TOKEN", "SECRET", "KEY")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _help_request(args: list[str]) -> bool:
    if not args:
        return True  # no_args_is_help
    *words, last = args
    return last in _HELP_FLAGS and len(words) <= 2 and all(_is_command(w) for w in words)


def _is_command(word: str) -> bool:
    return word[:1].isalpha() and word.islower() and all(c.isalnum() or c == "-" for c in word)


def _typer_file() -> str | None:
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "typer", "__init__.py")
        if os.path.isfile(candidate):
            return candidate
    return None


def _key(args: list[str]) -> list[object] | None:
    """Everything the help text of `args` depends on (None: Typer cannot be found, nothing is kept)."""
    typer_file = _typer_file()
    if typer_file is None:
        return None
    try:
        columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 80
    files = [typer_file, os.path.join(os.path.dirname(_HERE), "components", "registry.py")]
    files += sorted(os.path.join(_HERE, name) for name in os.listdir(_HERE) if name.endswith(".py"))
    parts: list[object] = [repr(args), min(columns, 80), sys.version, sys.executable]
    for path in files:
        stat = os.stat(path)
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    # llmcloud's settings, but never a secret's value (LLMCLOUD_PASSPHRASE), not even hashed into a file name
    parts += sorted(
        f"{k}={v}"
        for k, v in os.environ.items()
        if k.startswith("LLMCLOUD_") and not any(word in k for word in _SECRET_WORDS)
    )
    return parts


def _cache_file(args: list[str]) -> str | None:
    from llmcloud.components import cachedir

    if cachedir.path("help") is None:
        return None
    try:
        parts = _key(args)
    except OSError:
        return None
    return cachedir.entry("help", parts, ".txt") if parts is not None else None


class _Tee:
    """stdout that also keeps what was written."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        written = int(self.stream.write(text))  # raises for bytes (Click probes streams with b"")
        self.parts.append(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _fail(exc: OSError) -> None:
    sys.stderr.write(f"error: cannot write the help text to stdout: {exc.strerror or exc}\n")
    sys.exit(1)


def _write_or_fail(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `llmcloud --help | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    except OSError as exc:
        _fail(exc)


def main() -> None:
    args = sys.argv[1:]
    cached = _cache_file(args) if _help_request(args) else None
    if cached is not None:
        try:
            with open(cached, encoding="utf-8") as handle:
                kept_code, _, text = handle.read().partition("\n")
            exit_code = int(kept_code)
        except (OSError, ValueError):
            pass  # not kept yet, or unreadable: Typer renders it below
        else:
            _write_or_fail(text)
            sys.exit(exit_code)
    from llmcloud.components import kept_code as code_cache

    code_cache.install()  # before Typer and the stack model define their dataclasses and annotations
    from .main import main as run

    if cached is None:
        run()
        return
    tee = _Tee(sys.stdout)
    sys.stdout = tee  # type: ignore[assignment]
    code: int | str | None = 0
    try:
        run()
    except SystemExit as exc:
        code = exc.code
    except OSError as exc:  # stdout refused the text (a full disk, a closed pipe)
        sys.stdout = tee.stream
        _fail(exc)
    finally:
        sys.stdout = tee.stream
    if isinstance(code, int) and code in (0, 2) and tee.parts:
        from llmcloud.components import cachedir

        cachedir.write_atomically(cached, f"{code}\n{''.join(tee.parts)}".encode())
    sys.exit(code)


if __name__ == "__main__":
    main()
