"""Compiled dataclass methods, kept between runs of the CLI.

`@dataclass` writes the source of each method it adds (`__init__`, `__repr__`, `__eq__`, and for a frozen
class `__setattr__`, `__delattr__` and `__hash__`) and compiles it with `exec`, every time the class is
defined: about 1 ms a class, and a preview defines over a hundred (llmcloud's own, pydantic's, Typer's),
70 to 110 ms of its time, most of it compiling text that is the same on every run. Python 3.11's
`dataclasses._create_fn` (the version read, `VERIFIED`) builds the text, then calls `exec(text, globals,
ns)`, the only `exec` in the module, looked up as a global name. `install()` gives the module its own
`exec`: it compiles a text it has not seen exactly as `exec` would (file name `<string>`, no inherited
compiler flags: the dataclasses module has no `__future__` import) and keeps the code object, then runs
the code object with the same globals and namespace. The text is the whole key, so a class whose fields,
defaults or options change gets new text and new code.

The kept code objects live in one file of llmcloud's cache (components/cachedir.py), named after the
interpreter and the dataclasses module file; `save()` writes it when a run compiled something new. Only
the CLI installs it (cli/entry.py, cli/main.py); `LLMCLOUD_DATACLASS_CACHE=0` or `LLMCLOUD_CACHE_DIR=off`
leave `@dataclass` as it is, and so does any other Python version.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys

TYPE_CHECKING = False  # not typing's: this runs before the CLI imports anything else
if TYPE_CHECKING:
    from typing import Any

VERIFIED = ((3, 11),)  # Python versions whose dataclasses module was read (see above)
CACHE_VERSION = 1
LIMIT = 4000  # texts kept at most; beyond it a save keeps only what the saving run used
_STATE: dict[str, Any] = {"path": None, "codes": {}, "used": set(), "added": False}


def install() -> bool:
    """Give `dataclasses` the caching `exec`; whether it is in place."""
    if sys.version_info[:2] not in VERIFIED or os.environ.get("LLMCLOUD_DATACLASS_CACHE") == "0":
        return False
    import dataclasses

    if vars(dataclasses).get("exec") is _exec:
        return True
    if "exec" in vars(dataclasses):  # the module has an `exec` of its own: not the one read
        return False
    from . import cachedir

    try:
        stat = os.stat(dataclasses.__file__)
    except (OSError, TypeError):
        return False
    parts = [sys.version, sys.executable, dataclasses.__file__, stat.st_size, stat.st_mtime_ns, CACHE_VERSION]
    path = cachedir.entry("dataclass", parts, ".bin")
    if path is None:
        return False
    codes: dict[str, Any] = {}
    try:
        with open(path, "rb") as handle:
            data = marshal.loads(handle.read())  # not marshal.load(handle): it reads piece by piece, 5x slower
        if isinstance(data, dict):
            codes = data
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not written yet, or unreadable: compiled as usual, written anew
    _STATE.update(path=path, codes=codes, used=set(), added=False)
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    return True


def uninstall() -> None:
    import dataclasses

    if vars(dataclasses).get("exec") is _exec:
        del dataclasses.exec  # type: ignore[attr-defined]


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    if isinstance(source, str):
        codes = _STATE["codes"]
        code = codes.get(source)
        if code is None:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            codes[source] = code
            _STATE["added"] = True
        _STATE["used"].add(source)
        source = code
    builtins.exec(source, globals, locals)


def save() -> None:
    """Keep what this run compiled (nothing to do when it compiled nothing new)."""
    path = _STATE["path"]
    if path is None or not _STATE["added"]:
        return
    codes = _STATE["codes"]
    if len(codes) > LIMIT:
        codes = {text: code for text, code in codes.items() if text in _STATE["used"]}
    from . import cachedir

    try:
        data = marshal.dumps(codes)
    except ValueError:  # a constant marshal cannot write: keep nothing
        return
    cachedir.write_atomically(path, data)
    _STATE["added"] = False
