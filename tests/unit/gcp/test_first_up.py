"""Issue 17: what a first `llmcloud up` on a fresh Google Cloud project needs, asserted on the plan,
the validator and the prerequisites (one test or more per numbered item)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from helpers import get, one, plan, repo_plan, resolved
from llmcloud.components.engine import offline
from llmcloud.components.gcp import checks
from llmcloud.components.gcp.services import REQUIRED_SERVICES, enabled_by_llmcloud, required_services
from llmcloud.components.spec.errors import StackErrors

REPO = Path(__file__).resolve().parents[3]
GCP_STACKS = ("dev", "prod", "gcp-tpu")
POOL = "gcp:container/nodePool:NodePool"
CLUSTER = "gcp:container/cluster:Cluster"


def _deps(stack_path: Path | str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, set[str]], list]:
    """Resource name -> names of the resources it waits for (explicit depends_on and inputs), as the
    engine would register them."""
    seen: dict[str, set[str]] = {}
    original = offline._CapturingMonitor.RegisterResource

    def register(self, request):
        seen[request.name] = {u.rsplit("::", 1)[-1] for u in request.dependencies}
        for deps in request.propertyDependencies.values():
            seen[request.name] |= {u.rsplit("::", 1)[-1] for u in deps.urns}
        return original(self, request)

    monkeypatch.setattr(offline._CapturingMonitor, "RegisterResource", register)
    p = offline.run(resolved(stack_path))
    return seen, p


def _gcp_stack(write_stack, body: str, name: str = "dev") -> Path:
    return write_stack("extends: base.yaml\n" + body, name)


# ------------------------------------------------------------------ 1. APIs on a fresh project
# Resource type prefix -> the API that serves it (independent of services.py, from each type's docs).
API_OF_TYPE = {
    "gcp:compute/": "compute.googleapis.com",
    "gcp:container/": "container.googleapis.com",
    "gcp:serviceaccount/": "iam.googleapis.com",
    "gcp:projects/iAMMember": "cloudresourcemanager.googleapis.com",
    "gcp:storage/": "storage.googleapis.com",
    "gcp:secretmanager/": "secretmanager.googleapis.com",
    "gcp:certificatemanager/": "certificatemanager.googleapis.com",
    "gcp:artifactregistry/": "artifactregistry.googleapis.com",
}


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_api_the_plan_uses_is_enabled_and_kept_on_destroy(stack):
    p = repo_plan(stack)
    services = {s.inputs["service"]: s for s in p.by_type("gcp:projects/service:Service")}
    for s in services.values():
        assert s.inputs["disableOnDestroy"] is False
        assert s.inputs["project"] == "llmcloud-demo"
    used = {
        api
        for s in p.resources("gcp:")
        if s.type != "gcp:projects/service:Service"
        for prefix, api in API_OF_TYPE.items()
        if s.type.startswith(prefix)
    }
    assert used, "the plan has Google Cloud resources"
    assert used <= set(services), f"used but not enabled: {sorted(used - set(services))}"
    # what the nodes and pods call at run time
    for api in (
        "containerfilesystem.googleapis.com",
        "monitoring.googleapis.com",
        "iamcredentials.googleapis.com",
        "logging.googleapis.com",
    ):
        assert api in services
    # Service Usage enables the others: it is a prerequisite, never a resource
    assert "serviceusage.googleapis.com" not in services
    assert "serviceusage.googleapis.com" in required_services(resolved(REPO / "stacks" / f"{stack}.yaml"))
    assert set(services) == set(enabled_by_llmcloud(resolved(REPO / "stacks" / f"{stack}.yaml")))
    assert set(services) <= set(REQUIRED_SERVICES)


def test_cluster_and_every_cloud_resource_wait_for_the_apis(monkeypatch):
    deps, p = _deps(REPO / "stacks" / "dev.yaml", monkeypatch)
    services = {s.name for s in p.by_type("gcp:projects/service:Service")}
    assert services
    container_api = next(
        s.name for s in p.by_type("gcp:projects/service:Service") if s.inputs["service"] == "container.googleapis.com"
    )
    assert container_api in deps["llm-dev"]  # the cluster
    for step in p.resources("gcp:"):
        if step.type == "gcp:projects/service:Service":
            continue
        assert deps[step.name] & services or any(
            deps[step.name] & {d} and deps.get(d, set()) & services for d in deps[step.name]
        ), step.name


def test_a_stack_without_api_keys_does_not_enable_secret_manager(write_stack):
    r = resolved(_gcp_stack(write_stack, "gateway: {auth: none}\n"))
    assert "secretmanager.googleapis.com" not in required_services(r)
    assert "certificatemanager.googleapis.com" in required_services(r)  # load balancer + managed certificate


# ------------------------------------------------------------------ 2. Workload Identity after the cluster
def test_workload_identity_members_wait_for_the_cluster(monkeypatch):
    deps, p = _deps(REPO / "stacks" / "dev.yaml", monkeypatch)
    for name in ("llm-dev-serving-wi", "llm-dev-serving-metrics-keda"):
        assert "llm-dev" in deps[name], f"{name} must wait for the cluster"
    member = one(p, "gcp:projects/iAMMember:IAMMember", "llm-dev-serving-metrics-keda").inputs["member"]
    # the pool comes from the cluster's workloadIdentityConfig (echoed by the offline engine)
    assert member == (
        "principal://iam.googleapis.com/projects/000000000000/locations/global/workloadIdentityPools/"
        "llmcloud-demo.svc.id.goog/subject/ns/keda/sa/keda-operator"
    )


# ------------------------------------------------------------------ 3. control plane -> webhooks
def _firewall_ports(p) -> set[int]:
    fw = one(p, "gcp:compute/firewall:Firewall")
    return {int(port) for allow in fw.inputs["allows"] if allow["protocol"] == "tcp" for port in allow["ports"]}


def test_control_plane_reaches_every_webhook_and_aggregated_api_port():
    p = repo_plan("dev")
    fw = one(p, "gcp:compute/firewall:Firewall")
    cluster = one(p, CLUSTER).inputs
    assert fw.inputs["direction"] == "INGRESS"
    assert fw.inputs["sourceRanges"] == [cluster["privateClusterConfig"]["masterIpv4CidrBlock"]]
    # KEDA metrics API server 6443, KEDA and LWS webhooks 9443; 443/10250 are GKE's own rule
    assert _firewall_ports(p) == {6443, 9443}
    assert fw.inputs["targetServiceAccounts"]  # only the cluster's nodes, not the whole VPC
    assert fw.inputs["network"] == one(p, "gcp:container/cluster:Cluster").inputs["network"]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_chart_installed_on_gke_has_its_ports_open(stack):
    from llmcloud.components.gcp.cluster import CHART_CONTROL_PLANE_PORTS, GKE_OPEN_PORTS
    from llmcloud.components.k8s import images

    p = repo_plan(stack)
    by_ref = {pin.chart: key for key, pin in images.CHARTS.items()}
    releases = p.by_type("kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        key = by_ref[release.inputs["chart"]]
        # a chart installed on GKE whose ports nobody read would fail here
        entry = CHART_CONTROL_PLANE_PORTS[key]
        assert release.inputs["version"] == entry.pinned, f"{key} moved: re-read its webhook ports"
        assert set(entry.ports) - set(GKE_OPEN_PORTS) <= _firewall_ports(p)


def test_webhook_ports_were_read_at_the_pinned_versions():
    from llmcloud.components.gcp.cluster import CHART_CONTROL_PLANE_PORTS
    from llmcloud.components.k8s import images

    for key, entry in CHART_CONTROL_PLANE_PORTS.items():
        assert images.CHARTS[key].version == entry.pinned, f"{key} moved: re-read its webhook ports"
        assert entry.read_at and entry.ports


# ------------------------------------------------------------------ 4. no on-demand A3 High 1/2/4g, A3 Ultra, A4
@pytest.mark.parametrize(("accelerator", "count"), [("H100", 1), ("H100", 4), ("H200", 8), ("B200", 8)])
def test_on_demand_is_refused_where_google_sells_none(write_stack, accelerator, count):
    from llmcloud.components import catalog

    cat = catalog.load("gcp")
    region = next(r for r in sorted(cat.regions) if cat.zones_offering(r, accelerator))
    body = (
        f"gcp: {{project: llmcloud-demo, region: {region}}}\nnode_pools:\n  p: {{accelerator: {accelerator}, "
        f"accelerators_per_node: {count}, max_nodes: 1, spot: SPOT}}\n"
    )
    with pytest.raises(StackErrors) as err:
        resolved(_gcp_stack(write_stack, body.replace("SPOT", "false")))
    text = str(err.value)
    assert "cannot run on demand" in text and "node_pools.p.spot" in text and "set spot: true" in text
    assert resolved(_gcp_stack(write_stack, body.replace("SPOT", "true"))).node_pools["p"].spot


def test_eight_gpu_a3_high_stays_on_demand(write_stack):
    r = resolved(
        _gcp_stack(write_stack, "node_pools:\n  p: {accelerator: H100, accelerators_per_node: 8, max_nodes: 1}\n")
    )
    assert r.node_pools["p"].machine_type == "a3-highgpu-8g" and not r.node_pools["p"].spot


def _a3_pool(write_stack, extra: str, accelerator: str = "H100", count: int = 1) -> Path:
    fields = extra if "max_nodes" in extra else f"max_nodes: 2, {extra}"
    return _gcp_stack(
        write_stack, f"node_pools:\n  p: {{accelerator: {accelerator}, accelerators_per_node: {count}, {fields}}}\n"
    )


def _pool_step(path: Path):
    return next(s for s in plan(path).by_type(POOL) if s.name.endswith("-p"))


def test_flex_start_pool_is_built_as_gke_documents(write_stack):
    r = resolved(_a3_pool(write_stack, "provisioning: flex_start"))
    assert r.node_pools["p"].machine_type == "a3-highgpu-1g" and not r.node_pools["p"].spot
    pool = _pool_step(_a3_pool(write_stack, "provisioning: flex_start")).inputs
    cfg = pool["nodeConfig"]
    assert cfg["flexStart"] is True and not cfg.get("spot")
    assert cfg["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    assert pool["initialNodeCount"] == 0 and pool["autoscaling"]["locationPolicy"] == "ANY"
    assert pool["management"]["autoRepair"] is False
    assert "upgradeSettings" not in pool  # GKE picks short-lived upgrades for flex-start nodes


def test_reservation_pool_consumes_the_named_reservation(write_stack):
    path = _a3_pool(write_stack, "provisioning: reservation, reservation: h200-res", "H200", 8)
    cfg = _pool_step(path).inputs["nodeConfig"]
    assert cfg["reservationAffinity"] == {
        "consumeReservationType": "SPECIFIC_RESERVATION",
        "key": "compute.googleapis.com/reservation-name",
        "values": ["h200-res"],
    }
    assert "flexStart" not in cfg and not cfg.get("spot")


def test_on_demand_and_spot_pools_have_no_provisioning_settings():
    for stack in GCP_STACKS:
        for step in repo_plan(stack).by_type(POOL):
            assert "flexStart" not in step.inputs["nodeConfig"]
            assert "reservationAffinity" not in step.inputs["nodeConfig"]


@pytest.mark.parametrize(
    ("extra", "accelerator", "count", "field", "text"),
    [
        ("provisioning: flex_start, spot: true", "H100", 1, "provisioning", "two ways to buy"),
        ("provisioning: reservation", "H200", 8, "provisioning", "names no reservation"),
        ("reservation: h200-res, spot: true", "H200", 8, "reservation", "does not use it"),
        ("provisioning: reservation, reservation: r1", "H100", 1, "provisioning", "cannot use a reservation"),
        ("provisioning: flex_start, tpu_topology: 4x4, max_nodes: 4", "TPU-v5e", 4, "provisioning", "single-host"),
        ("provisioning: reservation, reservation: 'Bad_Name'", "H200", 8, "reservation", ""),
        ("spot: true, capacity_reservation: cr-0123456789abcdef0", "H200", 8, "capacity_reservation", "aws"),
    ],
)
def test_provisioning_gke_would_refuse_is_a_located_error(write_stack, cli, extra, accelerator, count, field, text):
    result = cli("validate", str(_a3_pool(write_stack, extra, accelerator, count)))
    assert result.exit_code == 2 and "Traceback" not in result.output
    line = next(ln for ln in result.output.splitlines() if f"node_pools.p.{field}" in ln)
    assert re.search(r"dev\.yaml:\d+:\d+: ", line) and text in line


def test_flex_start_on_a_cpu_pool_is_refused(write_stack):
    with pytest.raises(StackErrors) as err:
        resolved(_a3_pool(write_stack, "provisioning: flex_start", "none", 1))
    assert "node_pools.p.provisioning" in str(err.value) and "GPU and TPU" in str(err.value)


def test_flex_start_and_reservation_are_priced_as_on_demand_and_say_so(write_stack):
    from llmcloud.components.cost import price_plan

    def line(extra, accelerator="H200", count=8):
        p = plan(_a3_pool(write_stack, extra, accelerator, count))
        cost = price_plan(p, region="us-central1", expected_nodes={})
        return next(ln for ln in cost["lines"] if ln["resource"] == "node_pools.p")

    flex = line("provisioning: flex_start")
    reserved = line("provisioning: reservation, reservation: h200-res")
    spot = line("spot: true")
    assert flex["unit_price"] == reserved["unit_price"] > spot["unit_price"]
    assert "flex-start: priced as on demand" in flex["note"] and "8 × H200" in flex["note"]
    assert "reservation" in reserved["note"]


def test_flex_start_preflight_reads_the_preemptible_quota(write_stack):
    from llmcloud.components.gcp import preflight

    class Api:  # the two Compute Engine reads preflight makes, answered from memory
        def get(self, path, params=None):
            if path.endswith("/regions/us-central1"):
                return {"quotas": [{"metric": "PREEMPTIBLE_NVIDIA_H100_GPUS", "limit": 16, "usage": 0}]}
            return {"items": {"zones/us-central1-a": {"acceleratorTypes": [{}]}}}

    for extra, metric in (("provisioning: flex_start", "PREEMPTIBLE_NVIDIA_H100_GPUS"), ("spot: false", None)):
        r = resolved(_a3_pool(write_stack, extra, "H100", 8))
        [c] = preflight.check(r, list(r.node_pools.values()), api=Api())
        assert c.metric == (metric or "NVIDIA_H100_GPUS")
        assert (c.limit == 16) is bool(metric)


# ------------------------------------------------------------------ 5. service account ids
ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def test_service_account_ids_are_valid_and_distinct_for_long_environment_names(write_stack):
    # 21 characters, the longest GKE's 40-character names allow (checks._gke_name_errors): llm-<env>-nodes and
    # llm-<env>-serving are 31 and 33, over the 30 an account id may have
    env = "a-very-long-environme"
    assert len(env) == 21
    p = plan(_gcp_stack(write_stack, f"environment: {env}\n", env))
    ids = [s.inputs["accountId"] for s in p.by_type("gcp:serviceaccount/account:Account")]
    assert len(ids) == 2 and len(set(ids)) == 2, ids
    assert all(ID.match(i) for i in ids), ids
    assert checks.account_id("llm-dev-nodes") == "llm-dev-nodes"  # short ids keep their name (no replacement)


# ------------------------------------------------------------------ 6. initial node count within min..max
@pytest.mark.parametrize("stack", GCP_STACKS)
def test_initial_total_is_within_min_and_max(stack):
    for pool in repo_plan(stack).by_type(POOL):
        i = pool.inputs
        zones = len(i.get("nodeLocations") or []) or (
            len(one(repo_plan(stack), CLUSTER).inputs.get("nodeLocations") or []) or 1
        )
        total = i["initialNodeCount"] * zones
        lo, hi = i["autoscaling"]["totalMinNodeCount"], i["autoscaling"]["totalMaxNodeCount"]
        assert lo <= total <= hi, (pool.name, total, lo, hi)


def test_a_pool_whose_per_zone_start_would_exceed_max_uses_fewer_zones(write_stack):
    r = resolved(_gcp_stack(write_stack, "node_pools:\n  l4: {accelerator: L4, min_nodes: 1, max_nodes: 2}\n"))
    zones = r.node_pools["l4"].zones
    assert len(zones) >= 3  # one node in each would be 3 > max_nodes 2
    pool = one(
        plan(_gcp_stack(write_stack, "node_pools:\n  l4: {accelerator: L4, min_nodes: 1, max_nodes: 2}\n")),
        POOL,
        "llm-dev-l4",
    ).inputs
    assert pool["nodeLocations"] == list(zones[:2]) and pool["initialNodeCount"] == 1
    assert checks.initial_node_count(1, 5, 3) == 1
    assert checks.initial_node_count(4, 6, 3) == 2
    assert checks.initial_node_count(4, 5, 3) is None
    assert checks.initial_node_count(0, 1, 4) == 0


# ------------------------------------------------------------------ 7. Cloud Armor: 10 ranges per rule
def test_allowed_cidrs_are_split_into_rules_of_ten(write_stack):
    cidrs = [f"198.18.{i}.0/24" for i in range(23)]
    p = plan(_gcp_stack(write_stack, f"gateway:\n  allowed_cidrs: [{', '.join(cidrs)}]\n"))
    rules = one(p, "gcp:compute/securityPolicy:SecurityPolicy").inputs["rules"]
    allow = [r for r in rules if r["action"] == "allow"]
    assert len(allow) == 3
    assert all(len(r["match"]["config"]["srcIpRanges"]) <= checks.ARMOR_RANGES_PER_RULE for r in allow)
    assert [c for r in allow for c in r["match"]["config"]["srcIpRanges"]] == cidrs
    assert len({r["priority"] for r in rules}) == len(rules)
    assert rules[-1]["action"] == "deny(403)" and rules[-1]["priority"] == 2147483647


# ------------------------------------------------------------------ 8. placeholders that lock you out
def test_prod_placeholder_range_blocks_up_but_not_preview():
    r = resolved(REPO / "stacks" / "prod.yaml")
    blockers = checks.deploy_blockers(r)
    assert blockers and "203.0.113.0/24" in blockers[0]
    assert "PLACEHOLDER" in (REPO / "stacks" / "prod.yaml").read_text()
    assert checks.documentation_ranges(["203.0.113.0/25", "198.51.100.7/32", "8.8.8.0/24", "2001:db8::/48"]) == [
        "203.0.113.0/25",
        "198.51.100.7/32",
        "2001:db8::/48",
    ]


def test_prod_with_a_real_range_deploys(write_stack):
    text = (REPO / "stacks" / "prod.yaml").read_text().replace("203.0.113.0/24", "34.120.0.0/16")
    r = resolved(write_stack(text, "prod"))
    assert checks.deploy_blockers(r) == []
    assert ipaddress.ip_network("34.120.0.0/16")


def test_up_refuses_documentation_ranges_before_deploying(cli, fake_pulumi_cli, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    result = cli("up", "prod", "--yes")
    assert result.exit_code == 2
    assert "documentation ranges" in result.stderr
    assert not any(o[0] == "up" for o in fake_pulumi_cli.ops())


# ------------------------------------------------------------------ 9. one project, several environments
def test_two_environments_in_one_project_have_separate_identities(write_stack):
    members = {}
    for env in ("dev", "staging"):
        p = plan(_gcp_stack(write_stack, f"environment: {env}\n", env))
        wi = one(p, "gcp:serviceaccount/iAMMember:IAMMember")
        members[env] = wi.inputs["member"]
        sa = one(p, "kubernetes:core/v1:ServiceAccount")
        assert members[env].endswith(f"[llmcloud/{get(sa.inputs, 'metadata.name')}]")
        keda = one(p, "gcp:projects/iAMMember:IAMMember", f"llm-{env}-serving-metrics-keda")
        assert keda.retain_on_delete is True  # shared by every environment: one destroy must not remove it
    assert members["dev"] != members["staging"]


# ------------------------------------------------------------------ 10. deletion protection
@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True), ("gcp-tpu", False)])
def test_deletion_protection_follows_protect_data(stack, protected):
    assert one(repo_plan(stack), CLUSTER).inputs["deletionProtection"] is protected


# ------------------------------------------------------------------ 11. node service account everywhere
def test_default_pool_and_every_pool_run_as_the_node_service_account():
    p = repo_plan("dev")
    cluster = one(p, CLUSTER).inputs
    assert cluster["nodeConfig"]["serviceAccount"]  # the temporary default pool too
    assert cluster["nodeConfig"]["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    accounts = {s.inputs["nodeConfig"]["serviceAccount"] for s in p.by_type(POOL)}
    assert accounts == {cluster["nodeConfig"]["serviceAccount"]}
    roles = {s.inputs["role"] for s in p.by_type("gcp:projects/iAMMember:IAMMember") if "-nodes-" in s.name}
    assert {
        "roles/container.defaultNodeServiceAccount",
        "roles/serviceusage.serviceUsageConsumer",
        "roles/artifactregistry.reader",
    } <= roles
    assert "roles/editor" not in roles


# ------------------------------------------------------------------ 12. monitoring keeps GKE's defaults
@pytest.mark.parametrize(("stack", "dcgm"), [("dev", True), ("prod", True), ("gcp-tpu", False)])
def test_monitoring_keeps_kube_state_metrics_and_adds_dcgm_for_gpus(stack, dcgm):
    components = one(repo_plan(stack), CLUSTER).inputs["monitoringConfig"]["enableComponents"]
    # POD/DEPLOYMENT/...: the kube state metrics package that the vLLM restart alert reads
    assert {
        "SYSTEM_COMPONENTS",
        "POD",
        "DEPLOYMENT",
        "STATEFULSET",
        "DAEMONSET",
        "HPA",
        "STORAGE",
        "CADVISOR",
        "KUBELET",
    } <= set(components)
    assert ("DCGM" in components) is dcgm


# ------------------------------------------------------------------ 13. maintenance and upgrades
def _weekly_hours(window: dict) -> float:
    from datetime import datetime

    start = datetime.fromisoformat(window["startTime"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(window["endTime"].replace("Z", "+00:00"))
    days = re.search(r"BYDAY=([A-Z,]+)", window["recurrence"]).group(1).split(",")
    return (end - start).total_seconds() / 3600 * len(days)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_accelerator_pools_upgrade_in_place_inside_a_maintenance_window(stack):
    p = repo_plan(stack)
    window = one(p, CLUSTER).inputs["maintenancePolicy"]["recurringWindow"]
    assert "FREQ=WEEKLY" in window["recurrence"]
    # GKE: at least 48 hours of windows in any 32 days, each window at least 4 hours
    assert _weekly_hours(window) * 4 >= 48
    accelerator_pools = [s for s in p.by_type(POOL) if s.name != f"llm-{p.environment}-system"]
    assert accelerator_pools
    for pool in accelerator_pools:
        assert pool.inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}


def _exclusions_stack(write_stack, rows: str) -> Path:
    return _gcp_stack(write_stack, f"gcp:\n  project: llmcloud-demo\n  maintenance_exclusions:\n{rows}")


def test_maintenance_exclusions_reach_the_cluster_in_utc(write_stack):
    path = _exclusions_stack(
        write_stack,
        "    - {name: launch, start: 2026-12-20T00:00:00Z, end: '2027-01-05T00:00:00+01:00'}\n"
        "    - {name: hold, start: '2026-12-01T00:00:00Z', end: end_of_support, scope: NO_MINOR_OR_NODE_UPGRADES}\n",
    )
    policy = one(plan(path), CLUSTER).inputs["maintenancePolicy"]
    assert policy["recurringWindow"]["recurrence"] == "FREQ=WEEKLY;BYDAY=SA,SU"
    launch, hold = policy["maintenanceExclusions"]
    # GKE returns UTC: any other offset would be a diff on every preview
    assert launch == {
        "exclusionName": "launch",
        "startTime": "2026-12-20T00:00:00Z",
        "endTime": "2027-01-04T23:00:00Z",
        "exclusionOptions": {"scope": "NO_UPGRADES"},
    }
    assert "endTime" not in hold
    assert hold["exclusionOptions"] == {"scope": "NO_MINOR_OR_NODE_UPGRADES", "endTimeBehavior": "UNTIL_END_OF_SUPPORT"}


def test_exclusion_times_reach_the_cluster_in_utc_from_the_typed_block(write_stack):
    """cloud_options is the stack's typed GcpSpec (issue 13): exclusions are read as attributes."""
    from llmcloud.components.gcp import gcp_options
    from llmcloud.components.gcp.checks import maintenance_exclusions

    path = _exclusions_stack(
        write_stack, "    - {name: a, start: 2026-12-01T00:00:00Z, end: 2026-12-02T00:00:00+02:00}\n"
    )
    r = resolved(path)
    assert gcp_options(r).maintenance_exclusions[0].name == "a"
    assert maintenance_exclusions(r)[0]["end"] == "2026-12-01T22:00:00Z"
    assert gcp_options(r).image_cache is False


def test_bundled_stacks_have_no_exclusions():
    for stack in GCP_STACKS:
        assert "maintenanceExclusions" not in one(repo_plan(stack), CLUSTER).inputs["maintenancePolicy"]


@pytest.mark.parametrize(
    ("row", "field", "text"),
    [
        ("{name: a, start: 2026-12-01T00:00:00Z, end: 2027-01-01T00:00:01Z}", "[0].end", "at most 30 days"),
        ("{name: a, start: 2026-12-01T00:00:00Z, end: end_of_support}", "[0].end", "minor scopes"),
        ("{name: a, start: 2026-12-02T00:00:00Z, end: 2026-12-01T00:00:00Z}", "[0].end", "not after start"),
        ("{name: a, start: 2026-12-01T00:00:00, end: 2026-12-02T00:00:00Z}", "[0].start", "RFC 3339"),
        ("{name: a, start: 'next monday', end: 2026-12-02T00:00:00Z}", "[0].start", "RFC 3339"),
        ("{name: a, start: 2026-12-01T00:00:00Z, end: '2026-12-02'}", "[0].end", "RFC 3339"),
    ],
)
def test_exclusions_gke_would_refuse_are_located_errors(write_stack, cli, row, field, text):
    path = _exclusions_stack(write_stack, f"    - {row}\n")
    result = cli("validate", str(path))
    assert result.exit_code == 2
    line = next(ln for ln in result.output.splitlines() if f"gcp.maintenance_exclusions{field}" in ln)
    assert re.match(rf"^{re.escape(str(path))}:5:\d+: ", line) and text in line
    assert "Traceback" not in result.output


def test_no_upgrades_for_exactly_thirty_days_and_minor_scopes_for_longer_are_valid(write_stack):
    path = _exclusions_stack(
        write_stack,
        "    - {name: a, start: 2026-12-01T00:00:00Z, end: 2026-12-31T00:00:00Z}\n"
        "    - {name: b, start: 2026-12-01T00:00:00Z, end: 2027-06-01T00:00:00Z, scope: NO_MINOR_UPGRADES}\n",
    )
    assert len(resolved(path).cloud_options.maintenance_exclusions) == 2


def test_more_than_twenty_exclusions_and_repeated_names_are_refused(write_stack):
    rows = "".join(
        f"    - {{name: e{i % 20}, start: 2026-12-01T00:00:00Z, end: 2026-12-02T00:00:00Z}}\n" for i in range(21)
    )
    with pytest.raises(StackErrors) as err:
        resolved(_exclusions_stack(write_stack, rows))
    text = str(err.value)
    assert "21 maintenance exclusions: GKE keeps at most 20" in text
    assert "gcp.maintenance_exclusions[20].name" in text and "used twice" in text


# ------------------------------------------------------------------ 14. bucket lifecycle
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_old_versions_go_after_three_newer_or_thirty_days(stack):
    rules = one(repo_plan(stack), "gcp:storage/bucket:Bucket", f"llm-{stack}-weights").inputs["lifecycleRules"]
    conditions = [r["condition"] for r in rules]
    assert all(r["action"] == {"type": "Delete"} for r in rules)
    assert {"withState": "ARCHIVED", "numNewerVersions": 3} in conditions
    assert {"withState": "ARCHIVED", "daysSinceNoncurrentTime": 30} in conditions
    assert len(rules) == 2  # one condition set per rule: conditions inside a rule are ANDed


# ------------------------------------------------------------------ 15. NAT ports
def test_nat_allocates_ports_dynamically():
    nat = one(repo_plan("dev"), "gcp:compute/routerNat:RouterNat").inputs
    assert nat["enableDynamicPortAllocation"] is True
    assert nat["enableEndpointIndependentMapping"] is False  # dynamic allocation requires it off
    assert nat["minPortsPerVm"] >= 1024 and nat["maxPortsPerVm"] <= 65536
    for n in (nat["minPortsPerVm"], nat["maxPortsPerVm"]):
        assert n & (n - 1) == 0  # powers of two


# ------------------------------------------------------------------ 16. gke-gcloud-auth-plugin
def test_missing_auth_plugin_is_reported_with_how_to_install():
    from llmcloud.components.cloud import missing_programs

    lines = missing_programs(checks.TOOLS, lambda tool: None)
    assert len(lines) == 1 and "gke-gcloud-auth-plugin" in lines[0] and "gcloud components install" in lines[0]
    assert missing_programs(checks.TOOLS, lambda tool: f"/usr/bin/{tool}") == []


def test_up_without_the_auth_plugin_exits_4_before_the_engine(cli, fake_pulumi_cli, monkeypatch):
    import shutil

    which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "gke-gcloud-auth-plugin" else which(name, *a, **k)
    )
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    result = cli("up", "dev", "--yes")
    assert result.exit_code == 4
    assert "gke-gcloud-auth-plugin is not installed" in result.stderr
    assert fake_pulumi_cli.ops() == []


# ------------------------------------------------------------------ 17. GKE-managed labels
@pytest.mark.parametrize("stack", GCP_STACKS)
def test_no_pool_sets_gke_managed_labels(stack):
    for pool in repo_plan(stack).by_type(POOL):
        labels = pool.inputs["nodeConfig"].get("labels") or {}
        assert not [k for k in labels if k.startswith("cloud.google.com/gke-")], pool.name


# ------------------------------------------------------------------ 18. image streaming and the image cache
def test_image_cache_is_a_docker_hub_remote_repository(write_stack):
    path = _gcp_stack(write_stack, "gcp: {project: llmcloud-demo, region: us-central1, image_cache: true}\n")
    p = plan(path)
    repo = one(p, "gcp:artifactregistry/repository:Repository").inputs
    assert (repo["format"], repo["mode"]) == ("DOCKER", "REMOTE_REPOSITORY")
    assert repo["remoteRepositoryConfig"]["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    assert repo["location"] == "us-central1"
    assert p.outputs["image_cache"] == "us-central1-docker.pkg.dev/llmcloud-demo/llmcloud-docker-hub"
    assert "artifactregistry.googleapis.com" in {s.inputs["service"] for s in p.by_type("gcp:projects/service:Service")}
    assert not repo_plan("dev").by_type("gcp:artifactregistry/repository:Repository")


# ------------------------------------------------------------------ 19. GCS FUSE only when used
@pytest.mark.parametrize("stack", GCP_STACKS)
def test_gcs_fuse_driver_is_off_when_nothing_mounts_a_bucket(stack):
    p = repo_plan(stack)
    addons = one(p, CLUSTER).inputs.get("addonsConfig") or {}
    assert not get(addons, "gcsFuseCsiDriverConfig.enabled") if "gcsFuseCsiDriverConfig" in addons else True
    assert "gke-gcsfuse/volumes" not in str([s.inputs for s in p.resources("kubernetes:")])


# ------------------------------------------------------------------ 20. independent rules for prod
def test_prod_has_flow_logs_intranode_visibility_and_bucket_access_logs():
    p = repo_plan("prod")
    subnet = one(p, "gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["logConfig"]["flowSampling"] > 0
    assert one(p, CLUSTER).inputs["enableIntranodeVisibility"] is True
    assert one(p, CLUSTER).inputs["masterAuth"] == {"clientCertificateConfig": {"issueClientCertificate": False}}
    weights = one(p, "gcp:storage/bucket:Bucket", "llm-prod-weights")
    logs = one(p, "gcp:storage/bucket:Bucket", "llm-prod-weights-access-logs")
    assert weights.inputs["logging"]["logBucket"] == logs.inputs["name"]
    assert logs.inputs["publicAccessPrevention"] == "enforced" and logs.inputs["uniformBucketLevelAccess"] is True
    assert logs.protect is True
    writer = one(p, "gcp:storage/bucketIAMMember:BucketIAMMember", "llm-prod-weights-access-logs-writer").inputs
    assert (writer["role"], writer["member"]) == (
        "roles/storage.objectCreator",
        "group:cloud-storage-analytics@google.com",
    )
    # the log bucket is not priced as a second copy of the weights
    from llmcloud.components.cost import cost_for

    cost = cost_for(p, resolved(REPO / "stacks" / "prod.yaml"))
    assert [line["resource"] for line in cost["lines"] if line["resource"].startswith("buckets.")] == [
        "buckets.weights"
    ]
    assert not repo_plan("dev").by_type("gcp:storage/bucket:Bucket")[1:]  # dev: no log bucket


def test_checkov_passes_prod_on_flow_logs_intranode_visibility_bucket_logging_and_authorized_networks(tmp_path):
    """Item 20 with independent rules: checkov's own checks on prod's converted plan."""
    import json
    import os
    import subprocess

    from llmcloud.components.engine.plan import Plan
    from llmcloud.components.rehearsal.terraform import plan_json

    checkov = os.environ.get("LLMCLOUD_CHECKOV")
    if not checkov or not Path(checkov).exists():
        pytest.fail("checkov is needed (LLMCLOUD_CHECKOV; ./scripts/test installs it)")
    data = json.loads((REPO / "tests" / "golden" / "plans" / "prod.gcp.json").read_text())
    plan = Plan.from_preview_json(data, stack=data["stack"], environment=data["environment"], cloud=data["cloud"])
    (tmp_path / "prod.tfplan.json").write_text(json.dumps(plan_json(plan)))
    rules = ["--check", "CKV_GCP_26,CKV_GCP_61,CKV_GCP_62,CKV_GCP_20"]
    proc = subprocess.run(
        [checkov, "-d", str(tmp_path), "--framework", "terraform_plan", "--skip-download", "-o", "json", *rules],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    passed = {(f["check_id"], f["resource"]) for f in report["results"]["passed_checks"]}
    failed = {(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]}
    expected = {
        ("CKV_GCP_26", "google_compute_subnetwork.llm-prod-net-nodes"),  # VPC flow logs
        ("CKV_GCP_61", "google_container_cluster.llm-prod"),  # intranode visibility
        ("CKV_GCP_62", "google_storage_bucket.llm-prod-weights"),  # bucket usage logs
        ("CKV_GCP_20", "google_container_cluster.llm-prod"),  # master authorized networks
    }
    assert expected <= passed, sorted(expected - passed)
    # the only failure: the log bucket does not log itself
    assert failed <= {("CKV_GCP_62", "google_storage_bucket.llm-prod-weights-access-logs")}, sorted(failed)


# ------------------------------------------------------------------ README: IAM roles per resource type
def test_readme_lists_the_roles_up_needs_for_every_resource_type_in_the_golden_plans():
    import json

    readme = (REPO / "README.md").read_text()
    section = readme.split("### IAM roles `up` needs on Google Cloud", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| ([^|]+) \|", section, re.M)}
    types = set()
    for golden in (REPO / "tests" / "golden" / "plans").glob("*.gcp.json"):
        for step in json.loads(golden.read_text())["steps"]:
            t = step["newState"]["type"]
            if t.startswith("gcp:"):
                types.add(t)
    types |= {"gcp:artifactregistry/repository:Repository"}  # gcp.image_cache
    assert types, "golden GCP plans hold Google Cloud resources"
    missing = sorted(types - set(rows))
    assert not missing, f"README lacks the roles for: {missing}"
    for t in types:
        assert re.search(r"roles/[a-zA-Z.]+", rows[t]), t


# ------------------------------------------------------------------ GKE's 40-character names
@pytest.mark.parametrize(
    ("environment", "pool", "field", "allowed"),
    [
        ("abcdefghij-abcdefghij-a", "l4", "environment", "at most 21 characters"),  # llm-<env>-system-<7>: 43
        ("dev", "l4-spot-pool-abcdefghijkl", "node_pools.l4-spot-pool-abcdefghijkl", "at most 24 characters"),
    ],
)
def test_names_gke_would_refuse_are_refused_before_up(write_stack, environment, pool, field, allowed):
    """GKE refuses cluster and node pool names over 40 characters, and Pulumi names them llm-<environment>[-<pool>]
    with '-' and 7 random characters: a name that cannot fit is an error at validate, not at create."""
    path = write_stack(
        f"""
        extends: base.yaml
        environment: {environment}
        node_pools:
          {pool}: {{accelerator: L4, max_nodes: 1}}
        """,
        name=environment,
    )
    with pytest.raises(StackErrors) as exc:
        resolved(path)
    (error,) = [e for e in exc.value.errors if "GKE allows 40" in e.message]
    assert ".".join(map(str, error.path)) == field and allowed in error.allowed


def test_the_longest_names_gke_allows_pass(write_stack):
    path = write_stack(
        """
        extends: base.yaml
        environment: abcdefghij-abcdefghij
        node_pools:
          pabcde: {accelerator: L4, max_nodes: 1}
        """,
        name="abcdefghij-abcdefghij",
    )
    resolved(path)  # llm-abcdefghij-abcdefghij-system-<7>: 40; llm-abcdefghij-abcdefghij-pabcde-<7>: 40
