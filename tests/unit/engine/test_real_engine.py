"""The real-engine path (Automation API) against a stand-in `pulumi` executable on PATH.

The stand-in (tests/fakes/pulumi) records its arguments and environment and answers with the
documented output and event formats, so these tests check what llmcloud asks of the CLI: exact
commands and flags, backend URL, passphrase handling, exit codes, confirmation and data safety.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FAKE = REPO / "tests" / "fakes" / "pulumi"
STACK = "urn:pulumi:dev-gcp::llmcloud::pulumi:pulumi:Stack::llmcloud-dev-gcp"
PROVIDER = "urn:pulumi:dev-gcp::llmcloud::pulumi:providers:gcp::gcp"
BUCKET_COMPONENT = "urn:pulumi:dev-gcp::llmcloud::llmcloud:gcp:GcsWeightsBucket::llm-dev-weights"
BUCKET = "urn:pulumi:dev-gcp::llmcloud::llmcloud:gcp:GcsWeightsBucket$gcp:storage/bucket:Bucket::llm-dev-weights"
CLUSTER_COMPONENT = "urn:pulumi:dev-gcp::llmcloud::llmcloud:gcp:GkeCluster::llm-dev"
CLUSTER = "urn:pulumi:dev-gcp::llmcloud::llmcloud:gcp:GkeCluster$gcp:container/cluster:Cluster::llm-dev"
POOL = "urn:pulumi:dev-gcp::llmcloud::llmcloud:gcp:GkeAcceleratorNodePool$gcp:container/nodePool:NodePool::llm-dev-l4"

STATE = [
    {"urn": STACK, "type": "pulumi:pulumi:Stack", "custom": False},
    {"urn": PROVIDER, "type": "pulumi:providers:gcp", "custom": True, "parent": STACK},
    {"urn": BUCKET_COMPONENT, "type": "llmcloud:gcp:GcsWeightsBucket", "custom": False, "parent": STACK},
    {
        "urn": BUCKET,
        "type": "gcp:storage/bucket:Bucket",
        "custom": True,
        "parent": BUCKET_COMPONENT,
        "provider": PROVIDER + "::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    },
    {"urn": CLUSTER_COMPONENT, "type": "llmcloud:gcp:GkeCluster", "custom": False, "parent": STACK},
    {
        "urn": CLUSTER,
        "type": "gcp:container/cluster:Cluster",
        "custom": True,
        "parent": CLUSTER_COMPONENT,
        "provider": PROVIDER + "::x",
    },
]


def pre(op: str, urn: str, type_: str, inputs: dict, parent: str = STACK, protect: bool = False) -> dict:
    return {
        "resourcePreEvent": {
            "metadata": {
                "op": op,
                "urn": urn,
                "type": type_,
                "provider": "",
                "new": {
                    "type": type_,
                    "urn": urn,
                    "custom": True,
                    "parent": parent,
                    "inputs": inputs,
                    "protect": protect,
                    "retainOnDelete": protect,
                },
            }
        }
    }


POOL_INPUTS = {
    "nodeConfig": {
        "machineType": "g2-standard-4",
        "spot": True,
        "guestAccelerators": [{"type": "nvidia-l4", "count": 1}],
        "labels": {"llmcloud.dev/pool": "l4"},
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
    },
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
}


def _enabled_apis() -> tuple[str, ...]:
    """What `up` enables for the dev stack (components/gcp/services.py), as the real preview would list it."""
    from helpers import resolved
    from llmcloud.components.gcp.services import enabled_by_llmcloud

    return enabled_by_llmcloud(resolved(Path(__file__).resolve().parents[3] / "stacks" / "dev.yaml", "gcp"))


# A fresh project has no API enabled: the plan enables those its resources need (the rehearsal checks it).
APIS = [
    pre(
        "create",
        f"urn:pulumi:dev-gcp::llmcloud::gcp:projects/service:Service::{api}",
        "gcp:projects/service:Service",
        {"service": api, "disableOnDestroy": False},
    )
    for api in _enabled_apis()
]
PREVIEW_EVENTS = [
    pre(
        "create",
        CLUSTER,
        "gcp:container/cluster:Cluster",
        {"location": "us-central1-a", "privateClusterConfig": {"enablePrivateNodes": True}},
        CLUSTER_COMPONENT,
    ),
    pre("create", POOL, "gcp:container/nodePool:NodePool", POOL_INPUTS),
    pre(
        "create",
        BUCKET,
        "gcp:storage/bucket:Bucket",
        {
            "name": "b",
            "publicAccessPrevention": "enforced",
            "uniformBucketLevelAccess": True,
            "versioning": {"enabled": True},
            "labels": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"},
        },
        BUCKET_COMPONENT,
    ),
]


@pytest.fixture
def fake_pulumi(fake_pulumi_cli, monkeypatch):
    """The shared stand-in (tests/conftest.py), answering with a dev-gcp state and preview by default."""
    monkeypatch.setenv("HF_TOKEN", "hf_test_value_for_the_fake_engine")
    fake_pulumi_cli.defaults = {
        "resources": STATE,
        "preview": {"events": [*APIS, *PREVIEW_EVENTS], "changes": {"create": 6}},
    }
    fake_pulumi_cli.script()
    return fake_pulumi_cli


def test_preview_uses_the_real_engine_and_prices_its_events(cli, fake_pulumi, tmp_path):
    result = cli("preview", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["engine"] == "pulumi"
    apis = [e["resourcePreEvent"]["metadata"]["urn"] for e in APIS]
    assert [s["urn"] for s in plan["steps"]] == [*apis, CLUSTER, POOL, BUCKET]
    bucket = plan["steps"][-1]["newState"]
    assert bucket["inputs"]["labels"] == "[secret]"
    pool_line = next(line for line in plan["cost"]["lines"] if line["resource"] == "node_pools.l4")
    assert pool_line["sku"] == "g2-standard-4 (spot)"
    ops = fake_pulumi.ops()
    assert ops[0] == ["stack", "select", "--stack", "dev-gcp"]
    assert ops[1] == ["stack", "init", "dev-gcp", "--secrets-provider", "passphrase"]
    preview = next(o for o in ops if o[0] == "preview")
    assert "--event-log" in preview and any(a.startswith("--client=127.0.0.1:") for a in preview)
    call = next(c for c in fake_pulumi.calls() if c["argv"][0] == "preview")
    home = tmp_path / "home"
    assert call["backend"] == f"file://{home / '.llmcloud' / 'state'}"
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "correct horse battery staple"
    assert call["cwd"] == str(home / ".llmcloud" / "workspaces" / "dev-gcp")


def test_stack_backend_from_stack_file(cli, fake_pulumi, write_stack, tmp_path):
    state = tmp_path / "team-state"
    file = write_stack(f"""
extends: base.yaml
backend: file://{state}
""")
    assert cli("preview", file, "--json").exit_code == 0
    call = next(c for c in fake_pulumi.calls() if c["argv"][0] == "preview")
    assert call["backend"] == f"file://{state}"
    assert state.is_dir()


def test_passphrase_from_pulumi_variables(cli, fake_pulumi, monkeypatch, tmp_path):
    monkeypatch.delenv("LLMCLOUD_PASSPHRASE")
    secret_file = tmp_path / "pass"
    secret_file.write_text("from-file")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(secret_file))
    assert cli("preview", "dev", "--json").exit_code == 0
    call = next(c for c in fake_pulumi.calls() if c["argv"][0] == "preview")
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(secret_file)
    assert "PULUMI_CONFIG_PASSPHRASE" not in call["env"]


def test_no_passphrase_exits_4_before_running_anything(cli, fake_pulumi, monkeypatch):
    monkeypatch.delenv("LLMCLOUD_PASSPHRASE")
    result = cli("up", "dev", "--yes")
    assert result.exit_code == 4
    assert "LLMCLOUD_PASSPHRASE" in result.stderr
    assert fake_pulumi.ops() == []


@pytest.mark.parametrize(
    ("cloud", "hint"), [("gcp", "application-default"), ("aws", "AWS_PROFILE"), ("azure", "az login")]
)
def test_no_credentials_exits_4_naming_what_the_cloud_expects(cli, fake_pulumi, monkeypatch, write_stack, cloud, hint):
    for var in ("GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(var, raising=False)
    file = write_stack("""
extends: base.yaml
node_pools:
  t4: {accelerator: T4, max_nodes: 1}
""")
    result = cli("preview", file, "--cloud", cloud)
    assert result.exit_code == 4, result.stderr
    assert hint in result.stderr
    assert fake_pulumi.ops() == []


def test_up_with_yes_deploys_and_masks_secret_outputs(cli, fake_pulumi):
    fake_pulumi.script(
        outputs={"cluster_name": "llm-dev", "kubeconfig": "apiVersion: v1 SECRET-KUBECONFIG"},
        secret_outputs=["kubeconfig"],
        up={"events": PREVIEW_EVENTS, "changes": {"create": 3}},
    )
    result = cli("up", "dev", "--yes")
    assert result.exit_code == 0, result.stderr
    up = next(o for o in fake_pulumi.ops() if o[0] == "up")
    assert "--yes" in up and "--skip-preview" in up
    assert "cluster_name: llm-dev" in result.stdout
    assert "SECRET-KUBECONFIG" not in result.stdout + result.stderr
    assert "Monthly cost of dev-gcp" in result.stderr


def test_up_without_terminal_or_yes_exits_2_and_deploys_nothing(cli, fake_pulumi):
    result = cli("up", "dev")
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr
    assert not any(o[0] == "up" for o in fake_pulumi.ops())


def test_up_over_budget_exits_3_before_deploying(cli, fake_pulumi):
    result = cli("up", "dev", "--yes", "--budget", "5")
    assert result.exit_code == 3
    assert "nothing deployed" in result.stderr
    assert not any(o[0] == "up" for o in fake_pulumi.ops())


def test_missing_hf_token_exits_4(cli, fake_pulumi, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    result = cli("up", "dev", "--yes")
    assert result.exit_code == 4
    assert "HF_TOKEN" in result.stderr


def test_locked_stack_points_to_cancel(cli, fake_pulumi):
    fake_pulumi.script(
        preview={
            "exit": 255,
            "stderr": "error: the stack is currently locked by 1 lock(s). "
            "Either wait for the other process(es) to end or delete the lock",
        }
    )
    result = cli("preview", "dev")
    assert result.exit_code == 1
    assert "llmcloud cancel dev" in result.stderr


def test_pending_operations_point_to_refresh(cli, fake_pulumi):
    fake_pulumi.script(
        up={"exit": 255, "stderr": "error: the current deployment has 1 resource(s) with pending operations"}
    )
    result = cli("up", "dev", "--yes")
    assert result.exit_code == 1
    assert "llmcloud refresh dev" in result.stderr


def test_cancel_and_refresh_commands(cli, fake_pulumi):
    assert cli("cancel", "dev", "--yes").exit_code == 0
    assert cli("refresh", "dev", "--json").exit_code == 0
    ops = [o[0] for o in fake_pulumi.ops()]
    assert "cancel" in ops and "refresh" in ops


def test_destroy_keeps_buckets_and_what_they_need(cli, fake_pulumi):
    result = cli("destroy", "dev", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "keeping data" in result.stderr and "llm-dev-weights" in result.stderr
    destroy = next(o for o in fake_pulumi.ops() if o[0] == "destroy")
    targets = {destroy[i + 1] for i, a in enumerate(destroy) if a == "--target"}
    assert targets == {CLUSTER_COMPONENT, CLUSTER}
    assert "kept: llm-dev-weights" in result.stdout
    assert sum(o[:2] == ["stack", "export"] for o in fake_pulumi.ops()) == 1  # the state is read once


def test_destroy_delete_data_needs_confirmation(cli, fake_pulumi):
    result = cli("destroy", "dev", "--delete-data")
    assert result.exit_code == 2
    assert "--delete-data needs --yes" in result.stderr
    assert not any(o[0] in ("destroy", "up") for o in fake_pulumi.ops())


def test_destroy_delete_data_unprotects_then_destroys_everything(cli, fake_pulumi):
    result = cli("destroy", "dev", "--delete-data", "--yes")
    assert result.exit_code == 0, result.stderr
    ops = [o for o in fake_pulumi.ops() if o[0] in ("up", "destroy")]
    assert ops[0][0] == "up" and ops[0][ops[0].index("--target") + 1] == BUCKET
    assert ops[1][0] == "destroy" and "--target" not in ops[1]


def test_drift_exits_5_when_changes_are_found(cli, fake_pulumi):
    fake_pulumi.script(
        preview={
            "events": [pre("update", POOL, "gcp:container/nodePool:NodePool", POOL_INPUTS)],
            "changes": {"update": 1},
        }
    )
    result = cli("preview", "dev", "--expect-no-changes")
    assert result.exit_code == 5
    assert "1 to update" in result.stderr
    preview = next(o for o in fake_pulumi.ops() if o[0] == "preview")
    assert "--expect-no-changes" in preview


def test_no_drift_exits_0(cli, fake_pulumi):
    fake_pulumi.script(
        preview={"events": [pre("same", POOL, "gcp:container/nodePool:NodePool", POOL_INPUTS)], "changes": {"same": 1}}
    )
    assert cli("preview", "dev", "--expect-no-changes", "--json").exit_code == 0


def test_outputs_masks_secrets_unless_asked(cli, fake_pulumi):
    fake_pulumi.script(
        outputs={"endpoint": "https://1.2.3.4", "api_key": "sk-live-0123456789abcdefghijkl"}, secret_outputs=["api_key"]
    )
    masked = cli("outputs", "dev", "--json")
    assert json.loads(masked.stdout) == {"endpoint": "https://1.2.3.4", "api_key": "[secret]"}
    shown = cli("outputs", "dev", "--json", "--show-secrets")
    assert json.loads(shown.stdout)["api_key"] == "sk-live-0123456789abcdefghijkl"


def test_up_json_writes_engine_events_as_json_lines(cli, fake_pulumi):
    fake_pulumi.script(up={"events": PREVIEW_EVENTS, "changes": {"create": 3}}, outputs={"cluster_name": "c"})
    result = cli("up", "dev", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.strip().splitlines() if line.startswith('{"')]
    events = [ln for ln in lines if "event" in ln]
    assert [e["urn"] for e in events if e["event"] == "resourcePre"] == [CLUSTER, POOL, BUCKET]
    assert any(e["event"] == "summary" for e in events)


def test_outputs_print_the_endpoint_and_a_curl_example_with_the_key_masked(cli, fake_pulumi):
    key = "k" * 48
    fake_pulumi.script(
        outputs={
            "endpoint": "https://api.example.com",
            "api_keys": {"default": key},
            "gateway": {"kind": "load_balancer", "auth": "api_key", "models": ["llama-8b"]},
        },
        secret_outputs=["api_keys"],
    )
    result = cli("outputs", "dev")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "endpoint: https://api.example.com" in out
    assert "curl -N https://api.example.com/v1/chat/completions" in out
    assert "Authorization: Bearer $LLMCLOUD_API_KEY" in out and '"model": "llama-8b"' in out
    assert key not in out and "llmcloud outputs dev --show-secrets" in out
