"""Policy rules: each one fires on a violating resource and stays quiet on a compliant one; the bundled
stacks pass every mandatory rule; preview exits 3 on a mandatory violation; the policy pack adapter
reports the same findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import repo_plan, resolved
from llmcloud.components.engine.plan import Step
from llmcloud.components.policy import ADVISORY, MANDATORY, RULES, Context, evaluate, evaluate_steps

REPO = Path(__file__).resolve().parents[3]
DEV, PROD = Context("dev"), Context("prod")


def step(type_: str, inputs: dict, name: str = "r", protect: bool = False, retain: bool = False) -> Step:
    return Step(
        op="create",
        urn=f"urn:pulumi:s::llmcloud::{type_}::{name}",
        type=type_,
        inputs=inputs,
        protect=protect,
        retain_on_delete=retain,
    )


def pod(container: dict, pod_sc: dict | None = None) -> dict:
    return {"spec": {"template": {"spec": {"securityContext": pod_sc or {}, "containers": [container]}}}}


GOOD_CONTAINER = {
    "name": "c",
    "image": "vllm/vllm-openai:v0.10.1.1",
    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    "resources": {"limits": {"memory": "1Gi"}},
}
GOOD_GCS = {"publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True, "versioning": {"enabled": True}}
GOOD_ACCOUNT = {
    "allowBlobPublicAccess": False,
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowSharedKeyAccess": False,
}
PAB = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}

# rule id -> (context, violating steps, compliant steps)
CASES = {
    "LLM-DATA-001": (
        DEV,
        [step("gcp:storage/bucket:Bucket", {**GOOD_GCS, "publicAccessPrevention": "inherited"})],
        [step("gcp:storage/bucket:Bucket", GOOD_GCS)],
    ),
    "LLM-DATA-002": (
        DEV,
        [step("azure-native:storage:StorageAccount", {**GOOD_ACCOUNT, "minimumTlsVersion": "TLS1_0"})],
        [step("azure-native:storage:StorageAccount", GOOD_ACCOUNT)],
    ),
    "LLM-DATA-003": (
        DEV,
        [step("gcp:storage/bucket:Bucket", {**GOOD_GCS, "versioning": {"enabled": False}})],
        [step("gcp:storage/bucket:Bucket", GOOD_GCS)],
    ),
    "LLM-DATA-004": (
        PROD,
        [step("gcp:storage/bucket:Bucket", GOOD_GCS)],
        [step("gcp:storage/bucket:Bucket", GOOD_GCS, protect=True, retain=True)],
    ),
    "LLM-NET-001": (
        DEV,
        [step("gcp:compute/firewall:Firewall", {"sourceRanges": ["0.0.0.0/0"]}, "allow-all")],
        [step("gcp:compute/firewall:Firewall", {"sourceRanges": ["10.0.0.0/8"]}, "internal")],
    ),
    "LLM-NET-002": (
        PROD,
        [step("gcp:container/cluster:Cluster", {"privateClusterConfig": {"enablePrivateNodes": False}})],
        [
            step(
                "gcp:container/cluster:Cluster",
                {
                    "privateClusterConfig": {"enablePrivateNodes": True},
                    "masterAuthorizedNetworksConfig": {"cidrBlocks": [{}]},
                },
            )
        ],
    ),
    "LLM-NET-003": (
        DEV,
        [step("aws:eks/cluster:Cluster", {"vpcConfig": {"endpointPublicAccess": True}})],
        [step("aws:eks/cluster:Cluster", {"vpcConfig": {"endpointPublicAccess": False}})],
    ),
    "LLM-IAM-001": (
        DEV,
        [step("gcp:serviceaccount/key:Key", {"serviceAccountId": "sa"})],
        [step("gcp:serviceaccount/account:Account", {"accountId": "sa"})],
    ),
    "LLM-API-001": (Context("prod", gateway_auth="none"), [], []),
    "LLM-K8S-001": (
        DEV,
        [step("aws:eks/nodeGroup:NodeGroup", {"amiType": "AL2023_x86_64_NVIDIA", "taints": []})],
        [
            step(
                "aws:eks/nodeGroup:NodeGroup",
                {
                    "amiType": "AL2023_x86_64_NVIDIA",
                    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
                },
            )
        ],
    ),
    "LLM-K8S-002": (
        DEV,
        [step("kubernetes:apps/v1:Deployment", pod({**GOOD_CONTAINER, "securityContext": {"privileged": True}}))],
        [step("kubernetes:apps/v1:Deployment", pod(GOOD_CONTAINER))],
    ),
    "LLM-K8S-003": (
        DEV,
        [
            step(
                "kubernetes:apps/v1:Deployment",
                pod({**GOOD_CONTAINER, "securityContext": {"allowPrivilegeEscalation": False}}),
            )
        ],
        [
            step(
                "kubernetes:apps/v1:Deployment",
                pod({**GOOD_CONTAINER, "securityContext": {"allowPrivilegeEscalation": False}}, {"runAsNonRoot": True}),
            )
        ],
    ),
    "LLM-K8S-004": (
        DEV,
        [step("kubernetes:apps/v1:Deployment", pod({**GOOD_CONTAINER, "resources": {}}))],
        [step("kubernetes:apps/v1:Deployment", pod(GOOD_CONTAINER))],
    ),
    "LLM-K8S-005": (
        DEV,
        [step("kubernetes:apps/v1:Deployment", pod({**GOOD_CONTAINER, "image": "vllm/vllm-openai:latest"}))],
        [
            step(
                "kubernetes:apps/v1:Deployment", pod({**GOOD_CONTAINER, "image": "vllm/vllm-openai@sha256:" + "a" * 64})
            )
        ],
    ),
}


def test_every_rule_has_a_case():
    assert {r.id for r in RULES} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_violation_and_not_on_compliance(rule_id):
    ctx, bad, good = CASES[rule_id]
    assert rule_id in {v.rule for v in evaluate_steps(bad, ctx)}
    if rule_id != "LLM-API-001":
        assert rule_id not in {v.rule for v in evaluate_steps(good, ctx)}


def test_s3_buckets_need_all_companions():
    bucket = step("aws:s3/bucketV2:BucketV2", {"bucket": "b"}, "weights")
    bad = {v.rule for v in evaluate_steps([bucket], DEV)}
    assert {"LLM-DATA-001", "LLM-DATA-002", "LLM-DATA-003"} <= bad
    good = [
        bucket,
        step("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", PAB),
        step("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {}),
        step("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Enabled"}}),
    ]
    assert not {"LLM-DATA-001", "LLM-DATA-002", "LLM-DATA-003"} & {v.rule for v in evaluate_steps(good, DEV)}
    half = [
        *good[:1],
        step("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {**PAB, "ignorePublicAcls": False}),
    ]
    messages = [v.message for v in evaluate_steps(half, DEV) if v.rule == "LLM-DATA-001"]
    assert messages == ["public access block flags not set: ignorePublicAcls"]


def test_auth_none_is_advisory_in_dev_and_mandatory_in_prod():
    dev = [v for v in evaluate_steps([], Context("dev", gateway_auth="none")) if v.rule == "LLM-API-001"]
    prod = [v for v in evaluate_steps([], Context("prod", gateway_auth="none")) if v.rule == "LLM-API-001"]
    assert dev[0].severity == ADVISORY and prod[0].severity == MANDATORY


@pytest.mark.parametrize("name", ["dev", "prod", "gcp-tpu", "aws-example", "azure-example"])
def test_bundled_stacks_pass_every_mandatory_rule(name):
    if not (REPO / "stacks" / f"{name}.yaml").exists():
        pytest.skip(f"stacks/{name}.yaml is not bundled")
    result = evaluate(repo_plan(name), resolved(REPO / "stacks" / f"{name}.yaml"))
    assert result["mandatory"] == 0, result["violations"]


def test_prod_without_data_protection_is_blocked_with_exit_3(cli, write_stack, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    file = write_stack(
        """
extends: base.yaml
environment: prod
protect_data: false
gateway: {auth: none}
""",
        name="prod",
    )
    result = cli("preview", file, "--offline", "--json")
    assert result.exit_code == 3, result.stderr
    policy = json.loads(result.stdout)["policy"]
    assert {"LLM-DATA-004", "LLM-API-001"} <= {v["rule"] for v in policy["violations"]}
    assert "mandatory policy violation" in result.stderr


def test_policy_list(cli):
    result = cli("policy", "list", "--json")
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [r.id for r in RULES]
    assert all(r["fix"] for r in rows)


PACK_PROBE = """
import json, pulumi_policy
from llmcloud.components.policy import RULES
from llmcloud.components.policy.pack.rules import policies, validator

opts = pulumi_policy.PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None,
                                           aliases=[], custom_timeouts=None, additional_secret_outputs=[])
bucket = pulumi_policy.PolicyResource(
    "gcp:storage/bucket:Bucket", {"publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True,
                                  "versioning": {"enabled": True}},
    "urn:pulumi:prod-gcp::llmcloud::gcp:storage/bucket:Bucket::weights", "weights", opts, None, None, [], {})

class Args:
    resources = [bucket]
    def get_config(self):
        return {}

reported = []
rule = next(r for r in RULES if r.id == "LLM-DATA-004")
validator(rule)(Args(), lambda message, urn=None: reported.append(message))
print(json.dumps({"reported": reported, "fix": rule.fix, "names": [p.name for p in policies()],
                  "ids": [r.id.lower() for r in RULES]}))
"""


def test_policy_pack_reports_the_same_findings():
    """The pack runs in the policy SDK's own virtualenv (it pins protobuf 5.29): LLMCLOUD_POLICY_PYTHON."""
    import os
    import subprocess

    python = os.environ.get("LLMCLOUD_POLICY_PYTHON")
    if not python:
        pytest.fail(
            "LLMCLOUD_POLICY_PYTHON is not set: python3 -m venv .cache/policy && "
            ".cache/policy/bin/pip install pulumi-policy==1.21.0 (./scripts/test does this)"
        )
    env = {**os.environ, "PYTHONPATH": str(REPO / ".editable")}
    proc = subprocess.run([python, "-c", PACK_PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["reported"] == ["weights: bucket is not protected and retained on delete; fix: " + data["fix"]]
    assert data["names"] == data["ids"]
