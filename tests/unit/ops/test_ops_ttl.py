"""ttl / expires_at in stack files and the deadline stamped by `up` (issue 10, part 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import plan, resolved
from llmcloud.components import ttl
from llmcloud.components.spec import StackErrors


def test_parse_ttl():
    assert ttl.parse_ttl("8h") == timedelta(hours=8)
    assert ttl.parse_ttl("3d") == timedelta(days=3)
    assert ttl.parse_ttl("30m") == timedelta(minutes=30)
    with pytest.raises(ValueError):
        ttl.parse_ttl("8 hours")


def test_ttl_and_expires_at_together_is_an_error(write_stack):
    file = write_stack("extends: base.yaml\nttl: 8h\nexpires_at: 2026-12-01T18:00:00Z\n")
    with pytest.raises(StackErrors) as exc:
        resolved(file)
    assert "ttl and expires_at are both set" in exc.value.render()


def test_bad_ttl_is_an_error(write_stack):
    file = write_stack("extends: base.yaml\nttl: forever\n")
    with pytest.raises(StackErrors) as exc:
        resolved(file)
    assert "ttl" in exc.value.render()


def test_preview_of_a_ttl_stack_does_not_change_between_runs(write_stack):
    file = write_stack("extends: base.yaml\nttl: 8h\n")
    first, second = plan(file), plan(file)
    assert first.outputs["expires_at"] == "ttl 8h" == second.outputs["expires_at"]
    bucket = next(s for s in first.resources() if s.type == "gcp:storage/bucket:Bucket")
    assert bucket.inputs["labels"]["llmcloud-expires"] == "ttl-8h"


def test_up_stamps_the_deadline_once(write_stack):
    r = resolved(write_stack("extends: base.yaml\nttl: 8h\n"))
    now = datetime(2026, 8, 1, 10, 0, tzinfo=UTC)
    stamped = ttl.stamp(r, now=now)
    assert stamped.expires_at == "2026-08-01T18:00:00Z"
    assert stamped.labels["llmcloud-expires"] == "2026-08-01t1800z"
    again = ttl.stamp(stamped, now=now + timedelta(minutes=5), monthly_cost_expected=123.456)
    assert again.expires_at == stamped.expires_at and again.monthly_cost_expected == 123.46
    outputs = plan_outputs(again)
    assert outputs["expires_at"] == "2026-08-01T18:00:00Z" and outputs["monthly_cost_expected"] == 123.46
    assert ttl.expired(again.expires_at, now + timedelta(hours=9))
    assert not ttl.expired(again.expires_at, now)
    assert not ttl.expired("ttl 8h", now)


def plan_outputs(r):
    from llmcloud.components.engine import offline

    return offline.run(r).outputs
