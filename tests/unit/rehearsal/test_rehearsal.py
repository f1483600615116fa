"""The rehearsal (components/rehearsal): each check class catches a stack or plan that has its problem, and
says nothing once the problem is fixed. Plans are the golden offline plans of the bundled stacks (fast,
and the same every day); each test adds or removes exactly the thing its check is about."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from llmcloud.components.engine.plan import Plan, Step
from llmcloud.components.rehearsal import ADVISORY, ERROR, GATE, Finding, exit_code, rehearse, render, summary, versions
from llmcloud.components.resolve import resolve
from llmcloud.components.spec import load_stack

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "plans"
TODAY = dt.date(2026, 12, 1)


def _load(stack: str, cloud: str):
    data = json.loads((GOLDEN / f"{stack}.{cloud}.json").read_text())
    plan = Plan.from_preview_json(data, stack=data["stack"], environment=data["environment"], cloud=data["cloud"])
    return resolve(load_stack(str(REPO / "stacks" / f"{stack}.yaml")), cloud), plan


def _of(findings, check, text=""):
    return [f for f in findings if f.check == check and text in f.render()]


def _one(plan, type_, name_part=""):
    return next(s for s in plan.steps if s.type == type_ and name_part in s.urn)


def _add_dep(step, urn):
    step.dependencies = sorted({*step.dependencies, urn})


# ---- exit codes and rendering ---------------------------------------------------------------------------


def test_exit_code_orders_error_then_gate_then_advisory():
    err = Finding("dated", ERROR, "x", "m", path=("cluster", "kubernetes_version"))
    gate = Finding("ordering", GATE, "y", "m")
    adv = Finding("dated", ADVISORY, "z", "m")
    assert exit_code([adv]) == 0
    assert exit_code([gate, adv]) == 3
    assert exit_code([gate, err]) == 2
    assert render([adv, gate, err])[0].startswith("error rehearsal/dated")
    assert summary([gate, gate, adv]) == "2 gates, 1 advisory"


# ---- scheduling -----------------------------------------------------------------------------------------


def test_scheduling_a_tainted_system_pool_strands_the_charts():
    r, plan = _load("dev", "aws")
    assert not _of(rehearse(r, plan, TODAY), "scheduling", "helm keda")
    system = _one(plan, "aws:eks/nodeGroup:NodeGroup", "EksCluster")
    system.inputs["taints"] = [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    found = _of(rehearse(r, plan, TODAY), "scheduling", "helm keda: keda-operator:")
    assert found and found[0].severity == GATE
    assert "CriticalAddonsOnly=true:NoSchedule not tolerated" in found[0].message


def test_scheduling_values_that_tolerate_the_taint_fix_it():
    r, plan = _load("dev", "aws")
    _one(plan, "aws:eks/nodeGroup:NodeGroup", "EksCluster").inputs["taints"] = [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
    ]
    keda = _one(plan, "kubernetes:helm.sh/v3:Release", "keda")
    keda.inputs["values"] = {"tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}
    assert not _of(rehearse(r, plan, TODAY), "scheduling", "helm keda")


def test_scheduling_a_model_too_big_for_its_pool_points_at_the_pool():
    r, plan = _load("dev", "gcp")
    pool = _one(plan, "gcp:container/nodePool:NodePool", "GkeAcceleratorNodePool")
    name = pool.inputs["nodeConfig"]["labels"]["llmcloud.dev/pool"]
    server = next(s for s in plan.steps if s.type == "kubernetes:apps/v1:Deployment" and "ModelServer" in s.urn)
    container = server.inputs["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["requests"]["memory"] = "4000Gi"
    found = _of(rehearse(r, plan, TODAY), "scheduling", "no node of the pools it may use is big enough")
    assert found and found[0].severity == ERROR
    assert found[0].path == ("node_pools", name, "machine_type") and "stacks/dev.yaml:" in found[0].location


# ---- ordering -------------------------------------------------------------------------------------------


def test_ordering_custom_resource_before_its_crd():
    r, plan = _load("dev", "gcp")
    scaled = _one(plan, "kubernetes:keda.sh/v1alpha1:ScaledObject")
    keda = _one(plan, "kubernetes:helm.sh/v3:Release", "keda")
    scaled.dependencies = []  # neither the release nor the KEDA component that holds it
    scaled.property_dependencies = {}
    assert _of(rehearse(r, plan, TODAY), "ordering", f"ScaledObject {scaled.name}: does not wait for {keda.name}")
    _add_dep(scaled, keda.urn)
    assert not _of(rehearse(r, plan, TODAY), "ordering", f"ScaledObject {scaled.name}: does not wait for {keda.name}")


def test_ordering_a_keda_trigger_names_an_authentication_the_plan_creates_and_waits_for():
    r, plan = _load("prod", "gcp")
    scaled = [s for s in plan.steps if s.type == "kubernetes:keda.sh/v1alpha1:ScaledObject"]
    auth = _one(plan, "kubernetes:keda.sh/v1alpha1:TriggerAuthentication")
    assert len(scaled) > 1 and not _of(rehearse(r, plan, TODAY), "ordering", "TriggerAuthentication")
    # the ScaledObject no longer waits for it: KEDA retries, an advisory
    first = scaled[0]
    first.dependencies = [_one(plan, "kubernetes:helm.sh/v3:Release", "keda").urn]  # nothing that leads to it
    first.property_dependencies = {}
    waits = _of(rehearse(r, plan, TODAY), "ordering", f"ScaledObject {first.name}: does not wait for {auth.name}")
    assert [f.severity for f in waits] == [ADVISORY]
    # it is not created at all: every ScaledObject that names it is a gate, once each
    plan.steps = [s for s in plan.steps if s.urn != auth.urn]
    missing = _of(rehearse(r, plan, TODAY), "ordering", "which the plan does not create in namespace llmcloud")
    assert sorted(f.subject for f in missing) == sorted(f"ScaledObject {s.name}" for s in scaled)
    assert {f.severity for f in missing} == {GATE} and "queue-depth, kv-cache, running" in missing[0].message
    # in another namespace it is not the one named; cluster-wide, it is found only when the ref says so
    auth.inputs["metadata"]["namespace"] = "elsewhere"
    plan.steps.append(auth)
    assert len(_of(rehearse(r, plan, TODAY), "ordering", "which the plan does not create")) == len(scaled)
    auth.type = "kubernetes:keda.sh/v1alpha1:ClusterTriggerAuthentication"
    for s in scaled:
        for t in s.inputs["spec"]["triggers"]:
            t["authenticationRef"]["kind"] = "ClusterTriggerAuthentication"
        _add_dep(s, auth.urn)
    assert not _of(rehearse(r, plan, TODAY), "ordering", "TriggerAuthentication")


def test_ordering_workload_identity_member_before_the_cluster():
    r, plan = _load("dev", "gcp")
    cluster = _one(plan, "gcp:container/cluster:Cluster")
    member = next(
        s for s in plan.by_type("gcp:serviceaccount/iAMMember:IAMMember") if "svc.id.goog" in s.inputs["member"]
    )
    member.dependencies = []  # neither directly nor through its service account (which waits for the cluster)
    member.property_dependencies = {}
    found = _of(rehearse(r, plan, TODAY), "ordering", f"IAMMember {member.name}: does not wait for {cluster.name}")
    assert found and found[0].severity == GATE
    _add_dep(member, cluster.urn)
    assert not _of(rehearse(r, plan, TODAY), "ordering", f"IAMMember {member.name}")


def test_ordering_eks_node_group_before_the_cni_addon():
    r, plan = _load("dev", "aws")
    cni = next(s for s in plan.by_type("aws:eks/addon:Addon") if s.inputs["addonName"] == "vpc-cni")
    for group in plan.by_type("aws:eks/nodeGroup:NodeGroup"):
        group.dependencies = [d for d in group.dependencies if d != cni.urn]
    assert _of(rehearse(r, plan, TODAY), "ordering", f"does not wait for {cni.name}")
    for group in plan.by_type("aws:eks/nodeGroup:NodeGroup"):
        _add_dep(group, cni.urn)
    assert not _of(rehearse(r, plan, TODAY), "ordering", f"does not wait for {cni.name}")


def test_ordering_dependency_through_a_chain_counts():
    _, plan = _load("dev", "gcp")
    scaled = _one(plan, "kubernetes:keda.sh/v1alpha1:ScaledObject")
    keda = _one(plan, "kubernetes:helm.sh/v3:Release", "keda")
    scaled.dependencies = []
    middle = _one(plan, "kubernetes:core/v1:Namespace")
    _add_dep(middle, keda.urn)
    _add_dep(scaled, middle.urn)
    assert plan.depends_on(scaled, keda.urn)


# ---- reachability ---------------------------------------------------------------------------------------


def _drop_firewalls(plan):
    plan.steps = [s for s in plan.steps if s.type != "gcp:compute/firewall:Firewall"]


def test_reachability_private_gke_needs_a_rule_for_webhook_ports():
    r, plan = _load("gcp-tpu", "gcp")
    _drop_firewalls(plan)
    found = _of(rehearse(r, plan, TODAY), "reachability")
    ports = {p for f in found for p in (6443, 9443) if f"tcp:{p}" in f.message}
    assert ports == {6443, 9443} and all(f.severity == GATE for f in found)
    assert any("LeaderWorkerSet is refused" in f.message for f in found)
    cluster = _one(plan, "gcp:container/cluster:Cluster")
    master = cluster.inputs["privateClusterConfig"]["masterIpv4CidrBlock"]
    plan.steps.append(
        Step(
            op="create",
            urn="urn:pulumi:t::llmcloud::gcp:compute/firewall:Firewall::webhooks",
            type="gcp:compute/firewall:Firewall",
            inputs={
                "direction": "INGRESS",
                "sourceRanges": [master],
                "allows": [{"protocol": "tcp", "ports": ["6443", "9443"]}],
            },
        )
    )
    assert not _of(rehearse(r, plan, TODAY), "reachability")


def test_reachability_public_nodes_and_aks_tunnel_need_nothing():
    r, plan = _load("dev", "gcp")
    _one(plan, "gcp:container/cluster:Cluster").inputs["privateClusterConfig"]["enablePrivateNodes"] = False
    assert not _of(rehearse(r, plan, TODAY), "reachability")
    r, plan = _load("azure-example", "azure")
    assert not _of(rehearse(r, plan, TODAY), "reachability")


# ---- prerequisites --------------------------------------------------------------------------------------


def test_prerequisites_gcp_apis_the_plan_does_not_enable():
    r, plan = _load("dev", "gcp")
    plan.steps = [s for s in plan.steps if s.type != "gcp:projects/service:Service"]
    found = _of(rehearse(r, plan, TODAY), "prerequisites", "container.googleapis.com")
    assert found and found[0].severity == GATE
    enable = Step(
        op="create",
        urn="urn:pulumi:t::llmcloud::gcp:projects/service:Service::container",
        type="gcp:projects/service:Service",
        inputs={"service": "container.googleapis.com"},
    )
    plan.steps.insert(0, enable)
    assert not _of(rehearse(r, plan, TODAY), "prerequisites", "container.googleapis.com")
    # ... and once enabled in the plan, the cluster must wait for it
    cluster = _one(plan, "gcp:container/cluster:Cluster")
    cluster.dependencies = [d for d in cluster.dependencies if d != enable.urn]
    assert _of(rehearse(r, plan, TODAY), "ordering", f"Cluster {cluster.name}: does not wait for container")


def test_prerequisites_azure_providers_are_advisories():
    r, plan = _load("azure-example", "azure")
    found = _of(rehearse(r, plan, TODAY), "prerequisites", "Microsoft.ContainerService")
    assert found and found[0].severity == ADVISORY


# ---- dated facts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("service,expected", [("eks", "1.36"), ("aks", "1.36"), ("gke", "1.35")])
def test_default_version_is_newest_in_standard_support(service, expected):
    assert versions.default_version(service, TODAY) == expected
    assert versions.status(service, expected, TODAY) == "standard"


def test_the_dated_eks_rows_agree_with_the_version_an_eks_stack_gets():
    """The rehearsal's dated rows and the AWS facts the cluster's version comes from (aws.yaml eks_versions)
    name the same newest and oldest standard-support versions: a bundled stack on the newest is not
    "newer than any version in the catalog"."""
    from llmcloud.components.aws.versions import eks_versions

    facts = eks_versions()
    assert versions.default_version("eks", TODAY) == facts["newest"]
    assert versions.status("eks", facts["standard_min"], TODAY) == "standard"
    assert versions.status("eks", facts["extended_min"], TODAY) == "extended"


def test_version_windows_carry_dates_and_sources():
    for service in ("eks", "aks", "gke"):
        rows = versions.windows(service)
        assert len(rows) >= 5
        for w in rows.values():
            assert w.released < w.standard_end < w.last_end and w.source.startswith("https://")
            assert w.checked <= TODAY


def test_dated_eks_facts_from_the_issue():
    assert versions.status("eks", "1.31", dt.date(2026, 11, 26)) == "extended"
    assert versions.status("eks", "1.31", dt.date(2026, 11, 27)) == "ended"
    assert versions.status("eks", "1.34", dt.date(2026, 12, 2)) == "standard"
    assert versions.status("eks", "1.34", dt.date(2026, 12, 3)) == "extended"


def _azure_stack(tmp_path, version):
    text = (REPO / "stacks" / "azure-example.yaml").read_text()
    assert 'kubernetes_version: "1.36"' in text
    path = tmp_path / "stacks" / "azure-lab.yaml"
    path.parent.mkdir(exist_ok=True)
    for other in (REPO / "stacks").glob("*.yaml"):
        if other.name != "azure-example.yaml":
            (path.parent / other.name).write_text(other.read_text())
    path.write_text(text.replace('kubernetes_version: "1.36"', f'kubernetes_version: "{version}"'))
    return path


def test_dated_version_past_its_last_day_is_refused_with_its_line(cli, tmp_path, monkeypatch):
    path = _azure_stack(tmp_path, "1.31")
    monkeypatch.setenv("LLMCLOUD_TODAY", "2026-12-01")
    result = cli("validate", str(path))
    assert result.exit_code == 2, result.stderr
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "kubernetes_version" in text)
    assert f"azure-lab.yaml:{line}:" in result.stderr
    assert "aks 1.31: left its last support on 2026-11-30" in result.stderr
    assert 'kubernetes_version: "1.36"' in result.stderr  # the fix names the default version
    # the same file, a year earlier: in standard support, no finding about it
    monkeypatch.setenv("LLMCLOUD_TODAY", "2025-01-15")
    result = cli("validate", str(path))
    assert result.exit_code == 0 and "aks 1.31" not in result.stderr


def test_dated_version_past_standard_support_is_an_advisory_with_the_cost(cli, tmp_path, monkeypatch):
    path = _azure_stack(tmp_path, "1.33")
    monkeypatch.setenv("LLMCLOUD_TODAY", "2026-12-01")
    result = cli("validate", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    finding = next(f for f in json.loads(result.stdout)["rehearsal"] if f["subject"] == "aks 1.33")
    assert finding["severity"] == "advisory" and "$0.60 per cluster-hour" in finding["message"]


def test_dated_version_leaving_standard_support_soon_is_an_advisory():
    from dataclasses import replace

    r, _ = _load("aws-example", "aws")
    r = replace(r, kubernetes_version="1.34")  # bundled: 1.36 since #18; 1.34 ends standard support 2026-12-02
    found = [f for f in rehearse(r, None, TODAY) if f.subject == "eks 1.34"]
    assert found and found[0].severity == ADVISORY and "in 1 day" in found[0].message
    assert not [f for f in rehearse(r, None, dt.date(2026, 9, 1)) if f.subject == "eks 1.34"]


def test_dated_prices_older_than_half_a_year_are_advised():
    r, _ = _load("dev", "gcp")
    assert not _of(rehearse(r, None, TODAY), "dated", "prices")
    assert _of(rehearse(r, None, dt.date(2027, 9, 1)), "dated", "prices are as of")


def test_today_is_injectable(monkeypatch):
    from llmcloud.components.clock import today

    monkeypatch.setenv("LLMCLOUD_TODAY", "2030-02-03")
    assert today() == dt.date(2030, 2, 3)
    monkeypatch.setenv("LLMCLOUD_TODAY", "tomorrow")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        today()
    monkeypatch.delenv("LLMCLOUD_TODAY")
    assert today() == dt.datetime.now(dt.UTC).date()


def test_bad_today_is_one_clear_line(cli, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_TODAY", "2026-13-01")
    result = cli("validate", "aws-example")
    assert result.exit_code == 2 and "LLMCLOUD_TODAY='2026-13-01' is not a date" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the plan JSON carries what the engine orders by ----------------------------------------------------


def test_offline_plan_records_dependencies_like_pulumi_preview_json():
    data = json.loads((GOLDEN / "dev.gcp.json").read_text())
    pools = [s for s in data["steps"] if s["newState"]["type"] == "gcp:container/nodePool:NodePool"]
    cluster = next(s["urn"] for s in data["steps"] if s["newState"]["type"] == "gcp:container/cluster:Cluster")
    assert all(cluster in s["newState"]["propertyDependencies"]["cluster"] for s in pools)
    assert all(cluster in s["newState"]["dependencies"] for s in pools)
    plan = Plan.from_preview_json(copy.deepcopy(data), stack="dev-gcp", environment="dev", cloud="gcp")
    first = data["steps"][0]["newState"]
    assert plan.to_json()["steps"][0]["newState"].get("dependencies") == first.get("dependencies")


def test_dated_images_are_advised_once_their_pin_is_old():
    """Every pinned image carries the day it was checked upstream (components/k8s/images.py); a plan that runs
    one checked more than a year before `today` gets an advisory naming it, and none on the day of the check."""
    from llmcloud.components.k8s import images

    r, plan = _load("dev", "gcp")
    served = {f.subject for f in rehearse(r, plan, TODAY) if f.check == "dated"}
    assert not any("vllm" in s for s in served)
    later = dt.date.fromisoformat(images.CHECKED) + dt.timedelta(days=400)
    dated = {f.subject for f in rehearse(r, plan, later) if f.check == "dated"}
    assert any("vllm" in s for s in dated), dated  # the serving image the plan runs
