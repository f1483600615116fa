"""llmcloud's own data files (catalogs, performance figures, version windows, model facts) parsed with
libyaml's C parser when PyYAML was built with it: several times faster than the pure-Python parser,
the same safe subset. Stack files go through components/spec (positions for error messages) instead."""

from __future__ import annotations

from typing import IO, Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(source: str | IO[str]) -> Any:
    return yaml.load(source, Loader=_LOADER)
