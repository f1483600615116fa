"""llmcloud reap / status against a local file backend through the stand-in pulumi CLI (issue 10, part 3):
one expired and one live stack; only the expired one is destroyed, and its data is kept."""

from __future__ import annotations

import json

EXPIRED = "dev-gcp"
LIVE = "feature-gcp"


def _state(stack: str) -> list[dict]:
    root = f"urn:pulumi:{stack}::llmcloud::"
    return [
        {"urn": f"{root}pulumi:pulumi:Stack::llmcloud-{stack}", "type": "pulumi:pulumi:Stack", "custom": False},
        {"urn": f"{root}pulumi:providers:gcp::gcp", "type": "pulumi:providers:gcp", "custom": True},
        {"urn": f"{root}llmcloud:gcp:GcsWeightsBucket::w", "type": "llmcloud:gcp:GcsWeightsBucket", "custom": False},
        {
            "urn": f"{root}llmcloud:gcp:GcsWeightsBucket$gcp:storage/bucket:Bucket::w",
            "type": "gcp:storage/bucket:Bucket",
            "custom": True,
            "parent": f"{root}llmcloud:gcp:GcsWeightsBucket::w",
            "provider": f"{root}pulumi:providers:gcp::gcp::0000",
        },
        {"urn": f"{root}gcp:container/cluster:Cluster::llm", "type": "gcp:container/cluster:Cluster", "custom": True},
    ]


def _scenario(fake):
    fake.script(
        stacks={
            EXPIRED: {
                "lastUpdate": "2026-01-05T10:00:00.000Z",
                "resourceCount": 5,
                "resources": _state(EXPIRED),
                "outputs": {
                    "cloud": "gcp",
                    "environment": "dev",
                    "owner": "alice",
                    "expires_at": "2026-01-05T18:00:00Z",
                    "monthly_cost_expected": 697.0,
                },
            },
            LIVE: {
                "lastUpdate": "2026-01-05T10:00:00.000Z",
                "resourceCount": 5,
                "resources": _state(LIVE),
                "outputs": {
                    "cloud": "gcp",
                    "environment": "feature",
                    "owner": "bob",
                    "expires_at": "2999-01-01T00:00:00Z",
                    "monthly_cost_expected": 100.0,
                },
            },
        }
    )


def _destroys(fake) -> list[list[str]]:
    return [o for o in fake.ops() if o[0] == "destroy"]


def test_reap_destroys_only_the_expired_stack_and_keeps_its_data(cli, fake_pulumi, tmp_path):
    _scenario(fake_pulumi)
    backend = f"file://{tmp_path / 'state'}"
    result = cli("reap", "--backend", backend, "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["expired"] == [EXPIRED]
    assert data["reaped"][0]["kept"] == ["w"]
    [destroy] = _destroys(fake_pulumi)
    assert destroy[destroy.index("--stack") + 1] == EXPIRED
    targets = {destroy[i + 1] for i, a in enumerate(destroy) if a == "--target"}
    assert targets == {f"urn:pulumi:{EXPIRED}::llmcloud::gcp:container/cluster:Cluster::llm"}  # bucket kept
    assert ["stack", "ls", "--json"] in fake_pulumi.ops()


def test_reap_needs_yes_without_a_terminal(cli, fake_pulumi, tmp_path):
    _scenario(fake_pulumi)
    result = cli("reap", "--backend", f"file://{tmp_path / 'state'}")
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr
    assert _destroys(fake_pulumi) == []


def test_reap_with_nothing_expired(cli, fake_pulumi, tmp_path):
    fake_pulumi.script(stacks={LIVE: {"resourceCount": 3, "outputs": {"expires_at": "2999-01-01T00:00:00Z"}}})
    result = cli("reap", "--backend", f"file://{tmp_path / 'state'}", "--yes")
    assert result.exit_code == 0 and "no expired stacks" in result.stderr
    assert _destroys(fake_pulumi) == []


def test_status_lists_stacks_with_age_expiry_and_cost(cli, fake_pulumi, tmp_path):
    _scenario(fake_pulumi)
    result = cli("status", "--backend", f"file://{tmp_path / 'state'}", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["stack"]: row for row in json.loads(result.stdout)["stacks"]}
    assert rows[EXPIRED]["expired"] and not rows[LIVE]["expired"]
    assert rows[EXPIRED]["cloud"] == "gcp" and rows[LIVE]["environment"] == "feature"
    assert rows[EXPIRED]["monthly_cost_expected"] == 697.0 and rows[EXPIRED]["age_hours"] > 0
    table = cli("status", "--backend", f"file://{tmp_path / 'state'}")
    assert "(expired)" in table.stdout and "$697.00" in table.stdout and "$797.00/month" in table.stdout


def test_status_without_passphrase_exits_4(cli, fake_pulumi, monkeypatch):
    monkeypatch.delenv("LLMCLOUD_PASSPHRASE")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    assert cli("status").exit_code == 4


def test_up_records_expiry_and_cost_and_runs_the_preflight(cli, fake_pulumi, write_stack, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_value_for_the_fake_engine")
    monkeypatch.setenv("LLMCLOUD_GCP_COMPUTE_URL", "http://127.0.0.1:9")  # offline: preflight is skipped
    file = write_stack("extends: base.yaml\nttl: 8h\n")
    fake_pulumi.script(up={"changes": {"create": 1}}, outputs={"expires_at": "x"})
    result = cli("up", file, "--yes", "--strict")
    assert result.exit_code == 0, result.stderr
    assert "preflight skipped" not in result.stderr  # no accelerator pools: nothing to ask
    assert any(o[0] == "up" for o in fake_pulumi.ops())


def test_up_strict_stops_on_a_blocked_pool_before_deploying(cli, fake_pulumi, recorded, monkeypatch):
    for (method, path), answer in {
        ("GET", "/compute/v1/projects/llmcloud-demo/regions/us-central1"): "gcp_region_us-central1.json",
        (
            "GET",
            "/compute/v1/projects/llmcloud-demo/aggregated/acceleratorTypes",
        ): "gcp_accelerator_types_nvidia-l4.json",
    }.items():
        recorded.add(method, path, answer)
    monkeypatch.setenv("HF_TOKEN", "hf_test_value_for_the_fake_engine")
    monkeypatch.setenv("LLMCLOUD_GCP_COMPUTE_URL", recorded.url)
    blocked = cli("up", "dev", "--yes", "--strict")
    assert blocked.exit_code == 3, blocked.stderr
    assert "preflight" in blocked.stderr and "nothing deployed" in blocked.stderr
    assert not any(o[0] == "up" for o in fake_pulumi.ops())
    warned = cli("up", "dev", "--yes")
    assert warned.exit_code == 0, warned.stderr
    assert "may not reach max_nodes" in warned.stderr
    assert any(o[0] == "up" for o in fake_pulumi.ops())


def test_reap_of_one_cloud_leaves_other_clouds_stacks(cli, fake_pulumi, tmp_path):
    """A CI reaper logged in to one cloud reaps only that cloud's stacks and lists them for the summary."""
    _scenario(fake_pulumi)
    backend = f"file://{tmp_path / 'state'}"
    other = cli("reap", "--backend", backend, "--yes", "--cloud", "aws", "--markdown")
    assert other.exit_code == 0, other.stderr
    assert other.stdout.strip() == "No expired aws stacks in the backend."
    assert _destroys(fake_pulumi) == []
    mine = cli("reap", "--backend", backend, "--yes", "--cloud", "gcp", "--markdown")
    assert mine.exit_code == 0, mine.stderr
    assert f"- `{EXPIRED}` (expired 2026-01-05T18:00:00Z): destroyed, data kept" in mine.stdout
    assert LIVE not in mine.stdout
    assert len(_destroys(fake_pulumi)) == 1


def test_reap_refuses_an_unknown_cloud(cli, fake_pulumi, tmp_path):
    result = cli("reap", "--backend", f"file://{tmp_path / 'state'}", "--yes", "--cloud", "gcpp")
    assert result.exit_code == 2 and "unknown cloud 'gcpp'" in result.stderr
    assert _destroys(fake_pulumi) == []
