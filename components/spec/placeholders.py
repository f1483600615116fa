"""Placeholders in a stack file: values shipped so that the Quickstart runs offline, which a real
deploy must replace (the demo project, example.com host names, documentation address ranges).

An advisory, never an error: `validate` and `preview` stay exit 0 on the bundled stacks and name
each placeholder with its file and line, so a new user knows what to change before `up`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from .errors import Location, Path, dotted

# RFC 5737 (IPv4) and RFC 3849 (IPv6): address ranges reserved for documentation, never routed.
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
# RFC 2606 / RFC 6761: names reserved for examples and tests.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
EXAMPLE_TLDS = (".example", ".test", ".invalid", ".localhost")
DEMO_PROJECT = "llmcloud-demo"


@dataclass(frozen=True)
class Placeholder:
    path: Path
    value: str
    why: str
    location: Location | None

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{dotted(self.path)}: {self.value!r} ({self.why})"


def _why(path: Path, value: str) -> str | None:
    if value == DEMO_PROJECT:
        return "the bundled stacks' demo project"
    host = value.lower().rstrip(".")
    if any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS) or host.endswith(EXAMPLE_TLDS):
        return "reserved for examples, RFC 2606"
    if "/" in value or value.count(".") == 3 or ":" in value:
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        if any(net.version == d.version and net.subnet_of(d) for d in DOCUMENTATION_NETWORKS):  # type: ignore[arg-type]
            return "reserved for documentation, RFC 5737/3849"
    return None


def _walk(value: Any, path: Path = ()) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))
    elif isinstance(value, str):
        yield path, value


def find(loaded: Any) -> list[Placeholder]:
    """Every placeholder in a LoadedStack, in file order."""
    out = []
    for path, value in _walk(loaded.spec.model_dump(mode="python", exclude_defaults=False)):
        why = _why(path, value)
        if why:
            out.append(Placeholder(path, value, why, loaded.positions.find(path)))
    return out
