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

from .secrets import redact

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


def suggestions(word: str, choices: Iterable[str]) -> list[str]:
    """The choices a user most likely meant by `word`, best first (at most three)."""
    choices = [str(c) for c in choices]
    w = str(word).lower()
    # A case-only difference ("l4" for "L4") is the likeliest slip; difflib would rank "T4" as close.
    lowered = {c.lower(): c for c in choices}
    if w in lowered:
        return [lowered[w]]

    # By meaning before spelling: "A100" means one of the A100 variants (A100-40GB, A100-80GB), not
    # the A10 that differs by one character; "H100-80GB" means H100. A prefix counts only up to a
    # separator, so "A10" is not a prefix of "A100".
    def extends(longer: str, shorter: str) -> bool:
        return (
            len(shorter) >= 2
            and longer.startswith(shorter)
            and len(longer) > len(shorter)
            and not longer[len(shorter)].isalnum()
        )

    by_meaning = [c for c in choices if extends(c.lower(), w) or extends(w, c.lower())]
    if by_meaning:
        return by_meaning[:3]
    return difflib.get_close_matches(str(word), choices, n=1, cutoff=0.5)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean X?)` / ` (did you mean X or Y?)` suffix when a likely match exists, else ``."""
    if word is None or str(word).strip() == "":  # null or empty: never guess (auth: null is not "none")
        return ""
    matches = suggestions(str(word), choices)
    if not matches:
        return ""
    return f" (did you mean {' or '.join(matches)}?)"


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
        return redact(text)  # a credential in a key, a file name or a message never reaches the screen

    def to_json(self) -> dict[str, object]:
        """{file, line, column, path, message} for `--json` failures (redacted like render)."""
        loc = self.location
        message = self.message + (f"; {self.allowed}" if self.allowed else "")
        return {
            "file": redact(loc.file) if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "path": redact(dotted(self.path)),
            "message": redact(message),
        }


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

    def to_json(self) -> dict[str, object]:
        return {"errors": [e.to_json() for e in self.errors]}
