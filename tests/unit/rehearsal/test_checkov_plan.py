"""checkov's Terraform rules on what llmcloud would deploy: every bundled GCP and AWS stack's offline plan,
converted to a Terraform plan JSON (components/rehearsal/terraform.py), scanned with the terraform_plan
framework. Every failing check is either fixed or listed with its reason in
tests/data/checkov_terraform_plan_exceptions.yaml; an exception that no longer fails must be removed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from llmcloud.components.engine.plan import Plan
from llmcloud.components.rehearsal.terraform import plan_json, snake, terraform_type

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "plans"
EXCEPTIONS = REPO / "tests" / "data" / "checkov_terraform_plan_exceptions.yaml"


def _bridged_plans() -> list[Path]:
    """The golden offline plans of the bundled stacks on the bridged clouds (gcp, aws)."""
    return sorted(p for p in GOLDEN.glob("*.json") if p.stem.rsplit(".", 1)[-1] in ("gcp", "aws"))


def _exceptions() -> dict[tuple[str, str], dict]:
    out = {}
    for check, entry in yaml.safe_load(EXCEPTIONS.read_text())["exceptions"].items():
        assert entry.get("reason"), f"{check}: every exception needs a reason"
        assert entry.get("kind") in ("false-positive", "accepted", "gap"), check
        if entry["kind"] == "gap":
            assert str(entry.get("issue", "")).startswith("#"), f"{check}: a gap names the issue that fixes it"
        resources = entry["resource"] if isinstance(entry["resource"], list) else [entry["resource"]]
        for resource in resources:
            out[(check, resource)] = entry
    return out


def test_type_and_attribute_names_follow_terraform():
    assert terraform_type("gcp:container/cluster:Cluster") == "google_container_cluster"
    assert terraform_type("gcp:projects/iAMMember:IAMMember") == "google_project_iam_member"
    assert terraform_type("gcp:compute/sSLPolicy:SSLPolicy") == "google_compute_ssl_policy"
    assert terraform_type("gcp:serviceaccount/iAMMember:IAMMember") == "google_service_account_iam_member"
    assert terraform_type("aws:ec2/securityGroup:SecurityGroup") == "aws_security_group"
    block = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    assert terraform_type(block) == "aws_s3_bucket_public_access_block"
    assert terraform_type("aws:lb/loadBalancer:LoadBalancer") == "aws_lb"
    assert terraform_type("azure-native:storage:StorageAccount") is None
    assert snake("enablePrivateNodes") == "enable_private_nodes"
    assert snake("masterIpv4CidrBlock") == "master_ipv4_cidr_block"


def test_conversion_shapes_blocks_maps_unknowns_and_references():
    plan = Plan.from_preview_json(
        json.loads((GOLDEN / "dev.gcp.json").read_text()), stack="dev-gcp", environment="dev", cloud="gcp"
    )
    tf = plan_json(plan)
    by_type = {r["type"]: r for r in tf["planned_values"]["root_module"]["resources"]}
    cluster = by_type["google_container_cluster"]["values"]
    assert cluster["private_cluster_config"][0]["enable_private_nodes"] is True  # object -> one-element block
    assert isinstance(cluster["resource_labels"], dict)  # maps stay maps
    pool = by_type["google_container_node_pool"]["values"]
    assert "taint" in pool["node_config"][0] or "taints" not in pool["node_config"][0]
    change = next(c for c in tf["resource_changes"] if c["type"] == "google_container_cluster")
    assert change["change"]["after_unknown"].get("network") is True  # <computed> -> unknown
    configured = {r["address"]: r for r in tf["configuration"]["root_module"]["resources"]}
    refs = [
        r
        for c in configured.values()
        if c["type"] == "google_container_node_pool"
        for e in c["expressions"].values()
        for r in e["references"]
    ]
    assert any(r.startswith("google_container_cluster.") for r in refs)  # propertyDependencies -> references


def test_checkov_terraform_plan_rules_on_bundled_stacks(tmp_path):
    checkov = os.environ.get("LLMCLOUD_CHECKOV")
    if not checkov or not Path(checkov).exists():
        pytest.fail(
            "checkov is needed: python3 -m venv .cache/checkov && .cache/checkov/bin/pip install "
            "checkov==3.3.30 and export LLMCLOUD_CHECKOV=.cache/checkov/bin/checkov (./scripts/test does this)"
        )
    plans = _bridged_plans()
    assert {p.stem.rsplit(".", 1)[-1] for p in plans} == {"gcp", "aws"}
    for path in plans:
        data = json.loads(path.read_text())
        plan = Plan.from_preview_json(data, stack=data["stack"], environment=data["environment"], cloud=data["cloud"])
        (tmp_path / f"{path.stem.replace('.', '-')}.tfplan.json").write_text(json.dumps(plan_json(plan)))
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    proc = subprocess.run(
        [checkov, "-d", str(tmp_path), "--framework", "terraform_plan", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > 100  # the scan saw the resources, not an empty plan
    failed = {(f["check_id"], f["resource"].split(".")[0]): f for f in report["results"]["failed_checks"]}
    exceptions = _exceptions()
    unlisted = sorted(
        f"{c} {t} ({failed[(c, t)]['check_name']}) in {failed[(c, t)]['file_path']}"
        for c, t in failed
        if (c, t) not in exceptions
    )
    assert not unlisted, "checkov checks failing and not in the exceptions file:\n" + "\n".join(unlisted)
    stale = sorted(f"{check} {rtype}" for check, rtype in exceptions if (check, rtype) not in failed)
    assert not stale, f"these exceptions no longer fail: remove them from {EXCEPTIONS.name}:\n" + "\n".join(stale)
