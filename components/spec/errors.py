"""Errors about a stack file, each pinned to a file, line, column and dotted path.

Pure Python on purpose: the CLI imports this for `validate` and `--help`, where no Pulumi or cloud
SDK may load.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[\w-]+")


def dotted(path: Path) -> str:
    """`("node_pools", "l4", "min_nodes")` -> `node_pools.l4.min_nodes`; list indexes as `[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            out += ("." if out else "") + str(part)
        else:  # a key with spaces, dots, newlines or other odd characters: quoted, so the line stays one line
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out or "(root)"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean X?)` suffix when a close match exists, else ``."""
    choices = [str(c) for c in choices]
    # A case-only difference ("l4" for "L4") is the likeliest slip; difflib would rank "T4" as close.
    lowered = {c.lower(): c for c in choices}
    if str(word).lower() in lowered:
        matches = [lowered[str(word).lower()]]
    else:
        matches = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.5)
    return f" (did you mean {matches[0]}?)" if matches else ""


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class StackError:
    """One problem: where it is, what is wrong, what is allowed."""

    path: Path
    message: str
    allowed: str = ""
    location: Location | None = None

    def render(self) -> str:
        where = str(self.location) if self.location else "<stack>"
        text = f"{where}: {dotted(self.path)}: {self.message}"
        if self.allowed:
            text += f"; {self.allowed}"
        return text


@dataclass
class StackErrors(Exception):
    """All the problems found in one stack file; rendered one per line."""

    errors: Sequence[StackError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)

    def __str__(self) -> str:
        return self.render()
