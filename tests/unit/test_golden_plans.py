"""The offline plan of every bundled stack on every cloud equals its golden file (tests/golden/).

When a change is meant to alter what would be deployed, regenerate with `python -m tests.golden.regen`
and review the diff of tests/golden/plans/ like code.
"""

from __future__ import annotations

import json

import pytest
from golden import regen


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    return regen.generate()  # under regen.FIXED_ENV, restored afterwards


def test_every_bundled_stack_has_a_golden_plan(expected: dict[str, str]) -> None:
    index = json.loads(expected["_index.json"])
    assert set(index) == set(regen.bundled_stacks())
    # Every bundled stack plans on its own cloud at least: a bundled stack that plans nowhere is broken.
    assert all(any(":" not in entry for entry in clouds) for clouds in index.values()), index


def test_golden_plans_unchanged(expected: dict[str, str]) -> None:
    diff = regen.differences(expected)
    assert not diff, (
        "the offline plans differ from tests/golden/plans: "
        + ", ".join(diff)
        + ". If the change is intended, run `python -m tests.golden.regen` and review the diff."
    )


def test_golden_plans_hold_no_machine_specific_values(expected: dict[str, str]) -> None:
    import getpass
    import os

    text = "".join(expected.values())
    user = getpass.getuser()
    if user not in ("golden", "root"):  # root: too common a word to search for
        assert user not in text
    assert os.path.expanduser("~") not in text
