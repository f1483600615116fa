"""A seeded fuzz test of the loader boundary: 2,000+ mutated stack files through load + resolve,
in-process. Every answer must be a valid stack or StackErrors whose lines are one line each, located
in a file, and free of any planted token. Anything else (a traceback, a hang) fails with the mutated
file's text as the reproducer.

    LLMCLOUD_FUZZ_SEED=N LLMCLOUD_FUZZ_CASES=M pytest tests/unit/spec/test_fuzz_stacks.py   # hunt by hand

The mutation kinds are those of issue 21: typed YAML tags with bad values (also on keys), huge and
non-finite numbers, merge keys of every shape, hostile `extends:` names, extreme dates, tokens in
keys, values and comments, byte-level damage, duplicate keys and odd types anywhere.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from llmcloud.components.resolve import resolve
from llmcloud.components.spec import StackErrors, load_stack

REPO = Path(__file__).resolve().parents[3]
STACKS = {
    name: (REPO / "stacks" / f"{name}.yaml").read_text()
    for name in ("base", "dev", "prod", "gcp-tpu", "aws-example", "azure-example")
}
SEED = int(os.environ.get("LLMCLOUD_FUZZ_SEED", "20261201"))
CASES = int(os.environ.get("LLMCLOUD_FUZZ_CASES", "2100"))
TOKEN = "ghp_" + "FuzzSentinel0123456789abcdefghijklmnop"  # a GitHub token's shape

HOSTILE_SCALARS = [
    "!!int abc",
    "!!int 1.5",
    "!!bool maybe",
    "!!float x",
    "!!float .inf",
    "!!timestamp next-friday",
    "!!timestamp 2026-13-45",
    "!!null 5",
    "!!binary ###",
    "!!binary " + "aGVsbG8=",
    "!!str",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!pairs [a: 1]",
    "!!python/name:os.system",
    "!!python/object/apply:os.system ['true']",
    "!custom value",
    "!<tag:example.com,2026:x> 1",
    "9" * 4301,
    "-" + "9" * 400,
    "1e400",
    "-1e400",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "1_000",
    "-0",
    "~",
    "null",
    "",
    "''",
    '""',
    "true",
    "no",
    "yes",
    "on",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
    '"\\0"',
    '"\\x00\\x01"',
    '"\\uD800"',
    "'\t'",
    '"' + "x" * 5000 + '"',
    "*undefined",
    "&a 1",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    "2026-12-01",
    "12:30:00",
    "1.30",
    "A100",
    "H100-80GB",
    "l4",
    "Auto",
    "NONE",
    TOKEN,
    f'"{TOKEN}"',
    f"hf://org/{TOKEN}",
    "ü" * 40,
    "\u202e\u202d",
    "-1",
    "0",
    "65537",
    "1.5",
    "1e18",
    "10000000000000000000",
]
HOSTILE_KEYS = [
    "!!int abc",
    "!!bool x",
    "!!null",
    "? [a, b]",
    "? {a: 1}",
    "<<",
    "1",
    "true",
    "~",
    TOKEN,
    '"a\\nb"',
    '"x.y"',
    "node_pools",
    "extends",
    "ünïcödé",
    "'" + "k" * 300 + "'",
]
MERGES = [
    "<<: ~",
    "<<: [1, 2]",
    "<<: 5",
    "<<: *nowhere",
    "<<: []",
    "<<: [{}]",
    "<<: {a: 1}",
    "<<: [[1]]",
    "<<: !!binary aGVsbG8=",
]
EXTENDS = [
    '"base\\0.yaml"',
    "a" * 300 + ".yaml",
    "/etc/passwd",
    "/etc/hostname.yaml",
    "../../../../etc/x.yaml",
    "dev.yaml",
    "base.yaml",
    ".",
    "..",
    "~",
    '""',
    "[base.yaml]",
    "{a: b}",
    "5",
    f"{TOKEN}.yaml",
    "stacks",
    "/dev/zero",
    '"base.yaml\\n"',
    "base.yml",
    "nonexistent.yaml",
]
BYTES = [
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\t",
    b"\r",
    b"\n---\n",
    b"%YAML 1.1\n",
    b"&",
    b"*",
    b"!",
    b"{",
    b"[",
    b"'",
    b'"',
    b"|",
    b">",
    b"#",
    b": ",
    b"- ",
    b"\xe2\x80\xae",
]


def _value_lines(lines: list[str]) -> list[int]:
    return [i for i, ln in enumerate(lines) if ":" in ln and not ln.lstrip().startswith("#")]


def mutate(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(
            [
                "value",
                "value",
                "key",
                "merge",
                "extends",
                "bytes",
                "token-comment",
                "duplicate",
                "indent",
                "truncate",
                "anchor",
            ]
        )
        targets = _value_lines(lines) or [0]
        i = rng.choice(targets) if lines else 0
        if not lines:
            lines = [""]
        line = lines[i]
        indent = line[: len(line) - len(line.lstrip())]
        key = line.split(":", 1)[0].strip() if ":" in line else "k"
        if kind == "value":
            lines[i] = f"{indent}{key}: {rng.choice(HOSTILE_SCALARS)}"
        elif kind == "key":
            lines[i] = f"{indent}{rng.choice(HOSTILE_KEYS)}: {line.split(':', 1)[1].strip() if ':' in line else 1}"
        elif kind == "merge":
            lines.insert(
                i + 1,
                f"{indent}  {rng.choice(MERGES)}" if line.rstrip().endswith(":") else f"{indent}{rng.choice(MERGES)}",
            )
        elif kind == "extends":
            lines = [ln for ln in lines if not ln.startswith("extends:")]
            lines.insert(0, f"extends: {rng.choice(EXTENDS)}")
        elif kind == "bytes":
            raw = "\n".join(lines).encode()
            pos = rng.randrange(len(raw) + 1)
            raw = raw[:pos] + rng.choice(BYTES) + raw[pos + rng.randint(0, 3) :]
            return raw.decode("utf-8", "surrogateescape")
        elif kind == "token-comment":
            lines.insert(i, f"{indent}# {TOKEN}")
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "indent":
            lines[i] = ("  " if rng.random() < 0.5 else "\t") + line
        elif kind == "truncate":
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: rng.randint(0, len(lines[-1]))]
        elif kind == "anchor":
            lines[i] = f"{indent}{key}: &x {line.split(':', 1)[1].strip() or '{}'}"
            lines.append("extra: *x")
    return "\n".join(lines) + "\n"


def check(path: Path) -> str | None:
    """None when the loader answered properly; else what went wrong."""
    try:
        resolve(load_stack(str(path)))
    except StackErrors as exc:
        if not exc.errors:
            return "StackErrors without a message"
        for e in exc.errors:
            line = e.render()
            if "\n" in line or "\r" in line:
                return f"a message of more than one line: {line!r}"
            if TOKEN in line or TOKEN[4:20] in line:
                return f"the token is echoed: {line!r}"
            located = e.location and (
                e.location.file.startswith(str(path.parent)) or e.location.file == "<command line>"
            )
            if not located:
                return f"an error without a location in the stack files: {line!r}"
    except Exception as exc:  # the bug this test hunts
        import traceback

        return "".join(traceback.format_exception(exc))[-2000:]
    return None


def test_fuzz_loader_never_crashes(tmp_path):
    rng = random.Random(SEED)
    failures: list[tuple[str, str, str]] = []
    start = time.perf_counter()
    # Two directories, each with pristine copies: a mutated child next to the real base.yaml, and a
    # mutated base.yaml under the real dev.yaml (one write per case: the disk is the slow part).
    dirs = {}
    for role in ("child", "base"):
        dirs[role] = tmp_path / role
        dirs[role].mkdir()
        for name in ("base", "dev"):
            (dirs[role] / f"{name}.yaml").write_text(STACKS[name])
    for _case in range(CASES):
        target = rng.choice(["dev", "dev", "base", "prod", "gcp-tpu", "aws-example", "azure-example"])
        text = mutate(rng, STACKS[target])
        directory = dirs["base" if target == "base" else "child"]
        path = directory / ("base.yaml" if target == "base" else "dev.yaml")
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        t0 = time.perf_counter()
        problem = check(directory / "dev.yaml")
        if problem is None and time.perf_counter() - t0 > 5:
            problem = f"took {time.perf_counter() - t0:.1f} s"
        if problem:
            failures.append((target, text, problem))
            if len(failures) >= 5:
                break
        if target == "base":
            path.write_text(STACKS["base"])
    elapsed = time.perf_counter() - start
    report = "\n\n".join(
        f"--- mutated {t}.yaml (seed {SEED}):\n{text[:1500]}\n--- problem:\n{p}" for t, text, p in failures
    )
    assert not failures, report
    assert elapsed < 180, f"{CASES} cases took {elapsed:.0f} s"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mutations_are_reproducible(seed):
    assert mutate(random.Random(seed), STACKS["dev"]) == mutate(random.Random(seed), STACKS["dev"])
