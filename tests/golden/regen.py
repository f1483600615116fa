"""Golden plans: the offline plan JSON of every bundled stack on every cloud it plans on.

A change in what llmcloud would deploy shows up as a diff of these files in review. Regenerate them
on purpose, then read the diff:

    python -m tests.golden.regen          # rewrite tests/golden/plans/*.json
    python -m tests.golden.regen --check  # exit 1 and list the files that differ (what the test does)

They are made with a fixed owner and a fixed date (FIXED_ENV below), so they are the same on every
machine, for every user and on every day.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLANS = Path(__file__).resolve().parent / "plans"
# Everything a plan may read from the machine, fixed: who the owner is, what day it is.
FIXED_ENV = {"LLMCLOUD_OWNER": "golden", "LLMCLOUD_TODAY": "2026-12-01"}
UNSET_ENV = ("HF_TOKEN",)  # the bundled stacks' token variable: set or not changes the plan's notices


def bundled_stacks() -> list[str]:
    return sorted(p.stem for p in (REPO / "stacks").glob("*.yaml") if p.stem != "base")


def render(stack: str, cloud: str) -> str | None:
    """The plan JSON text of `stack` on `cloud`, or None when the stack does not resolve there."""
    from llmcloud.components.engine import offline
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import StackErrors, load_stack

    try:
        resolved = resolve(load_stack(str(REPO / "stacks" / f"{stack}.yaml")), cloud)
    except StackErrors:
        return None
    plan = offline.run(resolved).to_json()  # steps by URN, notices sorted: the same text on every run
    # The one machine-specific value, the stack file's absolute path, is written relative to the repository.
    return json.dumps(plan, indent=1, sort_keys=True).replace(str(REPO) + "/", "") + "\n"


def generate() -> dict[str, str]:
    """file name -> expected content; stacks that do not resolve on a cloud are listed in _index.json."""
    saved = dict(os.environ)
    os.environ.update(FIXED_ENV)
    for name in UNSET_ENV:
        os.environ.pop(name, None)
    try:
        return _generate()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _generate() -> dict[str, str]:
    files: dict[str, str] = {}
    index: dict[str, list[str]] = {}
    for stack in bundled_stacks():
        from llmcloud.components.registry import CLOUDS

        for cloud in CLOUDS:
            text = render(stack, cloud)
            if text is not None:
                files[f"{stack}.{cloud}.json"] = text
            index.setdefault(stack, []).append(cloud if text is not None else f"{cloud}: does not resolve")
    files["_index.json"] = json.dumps(index, indent=1, sort_keys=True) + "\n"
    return files


def differences(expected: dict[str, str]) -> list[str]:
    on_disk = {p.name for p in PLANS.glob("*.json")}
    changed = [n for n, text in expected.items() if not (PLANS / n).exists() or (PLANS / n).read_text() != text]
    return sorted(changed + [n for n in on_disk - expected.keys()])


def main(argv: list[str]) -> int:
    expected = generate()
    if "--check" in argv:
        diff = differences(expected)
        for name in diff:
            print(f"differs: tests/golden/plans/{name}")
        return 1 if diff else 0
    PLANS.mkdir(exist_ok=True)
    for stale in {p.name for p in PLANS.glob("*.json")} - expected.keys():
        (PLANS / stale).unlink()
    for name, text in expected.items():
        (PLANS / name).write_text(text)
    print(f"wrote {len(expected)} files under {PLANS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
