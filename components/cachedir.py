"""Where llmcloud keeps what it can rebuild: `$LLMCLOUD_CACHE_DIR`, default `$XDG_CACHE_HOME/llmcloud` or
`~/.cache/llmcloud`; `LLMCLOUD_CACHE_DIR=off` keeps nothing (every run rebuilds in memory). Everything in it is
keyed by the source file it came from (path, size, modification time) and written atomically, so deleting it
is always safe."""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # not typing's: `llmcloud --help` imports this module
if TYPE_CHECKING:
    from typing import Any


def path(kind: str) -> str | None:
    """The directory for one kind of cached thing (`sdk`, `data`), or None when caching is off."""
    setting = os.environ.get("LLMCLOUD_CACHE_DIR", "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    base = setting or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "llmcloud"
    )
    return os.path.join(base, kind)


def entry(kind: str, parts: list[object], suffix: str) -> str | None:
    """The file of one cached thing of `kind`, named after everything it depends on (`parts`: the source's path,
    size and modification time, the versions that shape it), or None when caching is off."""
    directory = path(kind)
    if directory is None:
        return None
    import hashlib  # here: `llmcloud --help` imports this module and reaches this only to read its kept text

    return os.path.join(directory, hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:32] + suffix)


def read_marshalled(source: str | None) -> dict[Any, Any]:
    """A cached dict written with marshal, or an empty one when it is absent, unreadable or not a dict (the
    caller then rebuilds it). Read whole, then unmarshalled: `marshal.load(handle)` reads a file piece by
    piece, 2 to 5 times slower."""
    if source is None:
        return {}
    import marshal

    try:
        with open(source, "rb") as handle:
            data = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_atomically(target: str, data: bytes) -> None:
    """Replace `target` with `data` in one step (readers see the old file or the new one, never half of
    either); a cache that cannot be written is simply not kept."""
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
