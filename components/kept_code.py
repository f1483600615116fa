"""Code the standard library compiles from the same text on every run, compiled once and kept.

Three modules compile text while llmcloud's modules, pydantic's and Typer's are being defined:
- `@dataclass` writes the source of each method it adds (`__init__`, `__repr__`, `__eq__`, and for a frozen
  class `__setattr__`, `__delattr__` and `__hash__`) and compiles it with `exec`, each time a class is
  defined: a preview defines over a hundred, 70 to 110 ms of its time;
- `typing.ForwardRef` compiles the text of every annotation kept as a string (`"Optional[str]"`) with
  `compile(text, "<string>", "eval")`: 1,251 of them in a preview, 615 distinct, 35 ms;
- `re` parses and compiles every regular expression a module compiles at import (yaml's resolver,
  pydantic, Typer, llmcloud's own): 120 in a preview, 30 to 50 ms.

Python 3.11's `dataclasses` and `typing` (the version read, `VERIFIED`) each make that one call through a
global name (`exec` in `dataclasses._create_fn`, `compile` in `ForwardRef.__init__`, the only such call in
either module), and neither module has a `__future__` import. `install()` gives each module its own `exec`
or `compile`: a text it has not seen is compiled exactly as the built-in would compile it there (file name
`<string>`, no inherited compiler flags) and the code object is kept; the code then runs, or is returned,
as the built-in's would be. A text that does not compile raises the built-in's error and is not kept; any
other use of `compile` (other file names, flags) goes to the built-in. The text is the whole key, so a
class whose fields or options change gets new text and new code.

For `re` (3.11's, read with them) the kept thing is what `re._compiler.compile(pattern, flags)` hands to
`_sre.compile` at its end (the final flags, the compiled code as a list of integers, the group count, the
group names both ways): a pattern seen before goes straight to `_sre.compile` with them, which checks the
code and builds the same `Pattern` (`Pattern` objects compare by flags, pattern and code; the tests compare
them). A pattern not seen yet is compiled by `re` itself, and `_compiler`'s `_sre` is, for that one call, a
stand-in that notes what it is handed; a parsed pattern (re's own internal use) and the DEBUG flag always go
to `re`.

The kept things live in one file of llmcloud's cache (components/cachedir.py), named after the interpreter
and the files of the modules involved; `save()` writes it when a run compiled something new. Only the CLI
installs this (cli/entry.py, cli/main.py). `LLMCLOUD_KEPT_CODE=0` or `LLMCLOUD_CACHE_DIR=off` leave these
modules as they are, and so does any other Python version.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys

TYPE_CHECKING = False  # not typing's: this runs before the CLI imports anything else
if TYPE_CHECKING:
    from typing import Any

VERIFIED = ((3, 11),)  # Python versions whose dataclasses, typing and re modules were read (see above)
CACHE_VERSION = 1
LIMIT = 8000  # texts kept at most; beyond it a save keeps only what the saving run used
_STATE: dict[str, Any] = {"path": None, "codes": {}, "used": set(), "added": False}
_CODE = type((lambda: None).__code__)  # types.CodeType, without importing types


def install() -> bool:
    """Give `dataclasses`, `typing` and `re._compiler` the keeping `exec` and `compile`s; whether they are in place."""
    if sys.version_info[:2] not in VERIFIED or os.environ.get("LLMCLOUD_KEPT_CODE") == "0":
        return False
    import dataclasses
    import re._compiler
    import re._parser
    import typing

    hooks = ((dataclasses, "exec", _exec), (typing, "compile", _compile))
    if all(vars(module).get(name) is hook for module, name, hook in hooks):
        return True
    if any(name in vars(module) for module, name, _ in hooks):  # a module has one of its own: not the one read
        return False
    from . import cachedir

    modules = (dataclasses, typing, re._compiler, re._parser)
    try:
        parts: list[object] = [sys.version, sys.executable, CACHE_VERSION, re._compiler.MAGIC]
        for module in modules:
            stat = os.stat(module.__file__ or "")
            parts += [module.__file__, stat.st_size, stat.st_mtime_ns]
    except OSError:
        return False
    path = cachedir.entry("code", parts, ".bin")
    if path is None:
        return False
    # not written yet, or unreadable: empty, compiled as usual and written anew
    _STATE.update(path=path, codes=cachedir.read_marshalled(path), used=set(), added=False)
    for module, name, hook in hooks:
        setattr(module, name, hook)
    _RE["compile"], _RE["sre"] = re._compiler.compile, re._compiler._sre
    re._compiler.compile = _re_compile
    return True


def _code(source: str, mode: str) -> Any:
    key = (mode, source)
    codes = _STATE["codes"]
    code = codes.get(key)
    if type(code) is not _CODE:  # not kept yet (or a damaged entry: compiled again)
        code = builtins.compile(source, "<string>", mode, dont_inherit=True)  # raises as the caller's would
        codes[key] = code
        _STATE["added"] = True
    _STATE["used"].add(key)
    return code


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """dataclasses' `exec`."""
    if isinstance(source, str):
        source = _code(source, "exec")
    builtins.exec(source, globals, locals)


def _compile(
    source: Any,
    filename: Any,
    mode: str,
    flags: int = 0,
    dont_inherit: bool = False,
    optimize: int = -1,
    *,
    _feature_version: int = -1,
) -> Any:
    """typing's `compile`: kept for the one call ForwardRef makes, the built-in's for anything else."""
    if (
        isinstance(source, str)
        and filename == "<string>"
        and mode == "eval"
        and (flags, dont_inherit, optimize, _feature_version) == (0, False, -1, -1)
    ):
        return _code(source, "eval")
    return builtins.compile(source, filename, mode, flags, dont_inherit, optimize, _feature_version=_feature_version)


_RE: dict[str, Any] = {}  # re._compiler's own compile and _sre, while installed
_DEBUG = 128  # re.DEBUG (re._constants.SRE_FLAG_DEBUG)


class _Noting:
    """re._compiler's `_sre` during one compile: notes what `compile` is handed, the rest is `_sre`'s."""

    def __init__(self, sre: Any) -> None:
        self._sre = sre
        self.handed: list[tuple[Any, ...]] = []

    def compile(self, *args: Any) -> Any:
        self.handed.append(args)
        return self._sre.compile(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sre, name)


def _re_compile(p: Any, flags: int = 0) -> Any:
    """re._compiler.compile, for a pattern seen before straight from what its compile handed `_sre`."""
    compile_, sre = _RE["compile"], _RE["sre"]
    kind = type(p)
    if kind not in (str, bytes) or type(flags) is not int or flags & _DEBUG:
        return compile_(p, flags)
    key = ("re", kind is bytes, p, flags)
    kept = _STATE["codes"].get(key)
    if type(kept) is tuple and len(kept) == 5:
        try:
            pattern = sre.compile(p, *kept)
        except (RuntimeError, TypeError, ValueError, OverflowError):  # a damaged entry: compiled again below
            pass
        else:
            _STATE["used"].add(key)
            return pattern
    noting = _Noting(sre)
    import re._compiler

    re._compiler._sre = noting
    try:
        pattern = compile_(p, flags)
    finally:
        re._compiler._sre = sre
    if len(noting.handed) == 1 and noting.handed[0][0] is p:
        final_flags, code, groups, groupindex, indexgroup = noting.handed[0][1:]
        # the opcodes are int subclasses (re._constants._NamedIntConstant): marshal keeps plain ints
        _STATE["codes"][key] = (final_flags, [int(op) for op in code], groups, dict(groupindex), indexgroup)
        _STATE["used"].add(key)
        _STATE["added"] = True
    return pattern


def save() -> None:
    """Keep what this run compiled (nothing to do when it compiled nothing new)."""
    path = _STATE["path"]
    if path is None or not _STATE["added"]:
        return
    codes = _STATE["codes"]
    if len(codes) > LIMIT:
        codes = {key: code for key, code in codes.items() if key in _STATE["used"]}
    from . import cachedir

    try:
        data = marshal.dumps(codes)
    except ValueError:  # a constant marshal cannot write: keep nothing
        return
    cachedir.write_atomically(path, data)
    _STATE["added"] = False
