"""Issue 19: what the first `llmcloud up` on AKS needs, asserted on the offline plan (azure-native is not
scanned by checkov, so the prod security settings are checked here) and on the helpers that run during up."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from helpers import get, one, resolved
from llmcloud.components.azure import azure_options, checks, zones
from llmcloud.components.engine.plan import COMPUTED, SECRET
from llmcloud.components.spec import StackErrors

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
ROLE = "azure-native:authorization:RoleAssignment"
ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
SECRET_T = "azure-native:keyvault:Secret"
DIAG = "azure-native:monitor:DiagnosticSetting"
WAIT = "pulumi-python:dynamic:Resource"
ZONE = "azure-native:dns:Zone"
RECORD = "azure-native:dns:RecordSet"
DEPLOYER = "00000000-0000-0000-0000-000000000000"  # the offline engine's client config object id
ROLE_IDS = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/"
REPO = Path(__file__).resolve().parents[3]
ZONE_ID = "/subscriptions/1111/resourceGroups/dns-rg/providers/Microsoft.Network/dnszones/example.com"

STACK = """
extends: base.yaml
cloud: azure
azure: {location: eastus, tier: Standard}
cluster: {kubernetes_version: "1.36", authorized_networks: ["203.0.113.0/24", "10.1.0.0/16"]}
node_pools:
  t4: {accelerator: T4, min_nodes: 0, max_nodes: 2, spot: true}
  a100: {accelerator: A100-80GB, min_nodes: 1, max_nodes: 2}
models:
  big: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: a100, max_model_len: 8192,
        replicas: {min: 1, max: 2}}
"""
PROD = STACK.replace(
    "azure: {location: eastus, tier: Standard}", "environment: prod\nazure: {location: eastus, tier: Premium}"
)
WITH_ZONE = STACK.replace("models:", f"gateway: {{dns_zone: {ZONE_ID}}}\nmodels:")


@pytest.fixture(scope="module")
def dev(azure_plan):
    return azure_plan(STACK, "dev")


@pytest.fixture(scope="module")
def prod(azure_plan):
    return azure_plan(PROD, "prod")


def _pools(p):
    return {s.inputs["agentPoolName"]: s.inputs for s in p.by_type(POOL)}


# ---- 1. an untainted CPU pool for everything that is not a model


def test_addon_pool_is_untainted_cpu_user_pool(dev):
    _, p = dev
    addons = _pools(p)["addons"]
    assert addons["mode"] == "User"
    assert addons["vmSize"] == checks.ADDON_VM_SIZE == "Standard_D4s_v5"
    assert addons["nodeTaints"] == []
    assert "gpuProfile" not in addons
    assert addons["nodeLabels"] == {"llmcloud.dev/pool": "addons"}
    assert (addons["minCount"], addons["maxCount"]) == (1, 3)
    # Every other pool is tainted: without this one, Envoy and the controllers would stay Pending.
    others = [i for n, i in _pools(p).items() if n != "addons"]
    assert others and all(i["nodeTaints"] for i in others)
    assert one(p, AKS).inputs["agentPoolProfiles"][0]["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]


def test_non_model_workloads_tolerate_no_taint_so_they_need_the_addon_pool(dev):
    _, p = dev
    envoy = next(s for s in p.by_type("kubernetes:apps/v1:Deployment") if s.name.endswith("-envoy-deployment"))
    pod = envoy.inputs["spec"]["template"]["spec"]
    assert not pod.get("tolerations")
    assert not pod.get("nodeSelector")
    releases = {s.inputs["name"] for s in p.by_type("kubernetes:helm.sh/v3:Release")}
    assert {"keda", "cert-manager", "kube-prometheus-stack"} <= releases


def test_addon_pool_size_fits_what_llmcloud_installs(dev):
    _, p = dev
    envoy = next(s for s in p.by_type("kubernetes:apps/v1:Deployment") if s.name.endswith("-envoy-deployment"))
    requests = envoy.inputs["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    replicas = envoy.inputs["spec"]["replicas"]
    cpu_m = int(requests["cpu"].removesuffix("m")) if requests["cpu"].endswith("m") else int(requests["cpu"]) * 1000
    mem_mi = int(requests["memory"].removesuffix("Mi"))
    # The sizing table carries Envoy's real requests (it fails if the gateway's requests change)...
    assert checks.ADDON_REQUESTS["envoy gateway (2 replicas)"] == (replicas * cpu_m, replicas * mem_mi)
    # ... and the whole table fits on the pool's minimum of one node.
    total_cpu = sum(c for c, _ in checks.ADDON_REQUESTS.values())
    total_mem = sum(m for _, m in checks.ADDON_REQUESTS.values())
    assert total_cpu <= checks.ADDON_ALLOCATABLE["cpu_m"]
    assert total_mem <= checks.ADDON_ALLOCATABLE["memory_mi"]


def test_a_pool_named_addons_is_refused(write_stack):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          addons: {accelerator: T4, max_nodes: 1}
    """)
    with pytest.raises(StackErrors) as info:
        resolved(path)
    assert any("the same as the AKS addons pool llmcloud creates" in e.render() for e in info.value.errors)


# ---- 2. a supported Kubernetes version, LTS with Premium


@pytest.mark.parametrize("stack", ["azure-example", "azure-prod"])
def test_bundled_stacks_pin_a_supported_aks_version(stack):
    # The dated AKS window of the catalog (kubernetes.yaml, the rehearsal's source): in community support on the
    # day of this check (2026-12-01) with months to spare; 1.31, the old pin, ended Nov 2025.
    import datetime as dt

    from llmcloud.components.rehearsal.versions import windows

    r = resolved(REPO / "stacks" / f"{stack}.yaml")
    window = windows("aks")[r.kubernetes_version]
    assert window.released <= dt.date(2026, 12, 1) < window.standard_end - dt.timedelta(days=180)
    assert windows("aks")["1.31"].standard_end < dt.date(2026, 12, 1)


def test_bundled_prod_stack_is_premium_lts_on_azure():
    r = resolved(REPO / "stacks" / "azure-prod.yaml")
    assert (r.environment, r.cloud, azure_options(r).tier) == ("prod", "azure", "Premium")
    assert {p.accelerator for p in r.node_pools.values()} == {"A10", "A100-80GB"}


def test_premium_sets_the_lts_support_plan(prod):
    _, p = prod
    c = one(p, AKS).inputs
    assert (c["sku"]["tier"], c["supportPlan"]) == ("Premium", "AKSLongTermSupport")


# ---- 3. the DNS zone: given, or created with its name servers


def test_without_dns_zone_a_zone_for_the_domain_is_created(dev):
    r, p = dev
    zone = one(p, ZONE).inputs
    assert zone["zoneName"] == r.gateway.domain == "api.example.com"
    assert zone["zoneType"] == "Public"
    role = one(p, ROLE, "llm-dev-front-door-acme-dns").inputs
    assert role["scope"] == f"{one(p, ZONE).name}-id"  # the created zone, not a guessed id
    assert role["roleDefinitionId"] == ROLE_IDS + "befefa01-2a29-4197-83a8-272ff33ce314"  # DNS Zone Contributor
    record = one(p, RECORD).inputs
    assert (record["recordType"], record["relativeRecordSetName"], record["zoneName"]) == ("A", "@", "api.example.com")
    assert p.outputs["dns_records"] == COMPUTED  # with the zone's name_servers after up: delegate to them


def test_dns_zone_id_is_used_as_given(azure_plan):
    _, p = azure_plan(WITH_ZONE, "dev")
    assert not p.by_type(ZONE)
    role = one(p, ROLE, "llm-dev-front-door-acme-dns").inputs
    assert role["scope"] == ZONE_ID
    # the built-in role's id in the zone's subscription (1111), not the stack's
    assert role["roleDefinitionId"] == (
        "/subscriptions/1111/providers/Microsoft.Authorization/roleDefinitions/befefa01-2a29-4197-83a8-272ff33ce314"
    )
    issuer = one(p, "kubernetes:cert-manager.io/v1:Issuer").inputs
    azure_dns = get(issuer, "spec.acme.solvers.0.dns01.azureDNS")
    assert (azure_dns["subscriptionID"], azure_dns["resourceGroupName"], azure_dns["hostedZoneName"]) == (
        "1111",
        "dns-rg",
        "example.com",
    )
    record = one(p, RECORD).inputs
    assert (record["resourceGroupName"], record["zoneName"], record["relativeRecordSetName"]) == (
        "dns-rg",
        "example.com",
        "api",
    )


@pytest.mark.parametrize(
    "zone_id,message",
    [
        ("example.com", "'example.com' is not an Azure DNS zone resource id"),
        (
            "/subscriptions/1/resourceGroups/g/providers/Microsoft.Network/dnszones/other.org",
            "the zone 'other.org' does not hold gateway.domain 'api.example.com'",
        ),
    ],
)
def test_bad_dns_zone_is_refused(write_stack, zone_id, message):
    path = write_stack(f"""
        extends: base.yaml
        cloud: azure
        gateway: {{dns_zone: "{zone_id}"}}
        node_pools:
          t4: {{accelerator: T4, max_nodes: 1}}
    """)
    with pytest.raises(StackErrors) as info:
        resolved(path)
    (error,) = [e.render() for e in info.value.errors]
    assert f"gateway.dns_zone: {message}" in error


def test_created_zones_name_servers_are_a_stack_output(dev, azure_plan):
    _, p = dev
    # Known once the zone exists; `up` prints every output and `llmcloud outputs` shows it: delegate to these.
    assert p.outputs["dns_name_servers"] == COMPUTED
    # with the user's own zone there is nothing to delegate
    _, given = azure_plan(WITH_ZONE, "dev")
    assert "dns_name_servers" not in given.outputs
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Azure (AKS)") :]
    assert "`dns_name_servers`" in section[: section.index("\n## ", 5)]


def test_dns_zone_errors_exit_2_at_the_field(write_stack, cli):
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        gateway: {dns_zone: "/subscriptions/1/resourceGroups/g/providers/Microsoft.Network/dnszones/other.org"}
        node_pools:
          t4: {accelerator: T4, max_nodes: 1}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert (
        f"{path}:3:21: gateway.dns_zone: the zone 'other.org' does not hold gateway.domain 'api.example.com'"
    ) in result.stderr


def test_dns_zone_with_kind_managed_is_refused(write_stack, cli):
    # API Management answers on its own host and writes no record: a zone given for it would serve nothing.
    path = write_stack(f"""
        extends: base.yaml
        cloud: azure
        gateway: {{kind: managed, request_timeout_seconds: 200, dns_zone: "{ZONE_ID}"}}
        node_pools:
          t4: {{accelerator: T4, max_nodes: 1}}
    """)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert f"{path}:3:" in result.stderr
    assert "gateway.dns_zone: kind managed (API Management) answers on its own host name" in result.stderr
    assert "remove dns_zone, or use kind: load_balancer" in result.stderr


# ---- 4. role assignments propagate before the Kubernetes phase


def test_waits_are_planned_after_their_role_assignments(dev):
    _, p = dev
    waits = {s.name: s.inputs for s in p.by_type(WAIT)}
    assert waits["llm-dev-admin-role-propagation"]["mode"] == "kubernetes"
    assert waits["llm-dev-admin-role-propagation"]["kubeconfig"] == SECRET
    assert waits["llm-dev-admin-role-propagation"]["timeout"] == 600
    assert waits["llm-dev-subnet-role-propagation"]["mode"] == "sleep"
    assert waits["llm-dev-subnet-role-propagation"]["timeout"] == 60
    # re-run when the role assignment is replaced (its id)
    assert waits["llm-dev-admin-role-propagation"]["trigger"] == "llm-dev-deployer-cluster-admin-id"
    assert waits["llm-dev-subnet-role-propagation"]["trigger"] == "llm-dev-subnet-network-contributor-id"


def test_rehearsal_sees_the_subnet_grant_wait(prod):
    # The cluster waits on the RbacPropagationWait after its Network Contributor grant: no "no wait" advisory.
    # Without that wait in its dependencies, the advisory comes back.
    import dataclasses

    from llmcloud.components.azure.rehearsal import propagation_delays

    _, p = prod
    assert propagation_delays(p, None) == []
    cluster = one(p, AKS)
    waits = {s.urn for s in p.by_type(WAIT)}
    bare = dataclasses.replace(
        cluster,
        dependencies=[d for d in cluster.dependencies if d not in waits],
        property_dependencies={},
    )
    p2 = dataclasses.replace(p, steps=[bare if s is cluster else s for s in p.steps])
    ((dependent, grant, _),) = propagation_delays(p2, None)
    assert (dependent.name, grant.name) == ("llm-prod", "llm-prod-subnet-network-contributor")


def test_platform_gates_kubernetes_on_the_admin_grant():
    """build_platform's depends_on (what every Kubernetes resource waits for) holds the admin-role wait."""
    import pulumi
    from llmcloud.components.azure.platform import build_platform
    from llmcloud.components.azure.rbac_wait import RbacPropagationWait
    from llmcloud.components.engine.offline import _Answers

    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(_Answers(), project="t", stack="t", preview=True)
    seen = {}

    @pulumi.runtime.test
    def program():
        platform = build_platform(resolved(REPO / "stacks" / "azure-example.yaml"))
        seen["waits"] = [d for d in platform.depends_on if isinstance(d, RbacPropagationWait)]

    program()
    assert len(seen["waits"]) == 1


class _FakeApiServer(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    bodies: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(
            {"auth": self.headers.get("Authorization"), "body": json.loads(self.rfile.read(length))}
        )
        code = type(self).answers.pop(0) if type(self).answers else 200
        allowed = code == 200
        payload = json.dumps({"status": {"allowed": allowed}}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server():
    server = HTTPServer(("127.0.0.1", 0), _FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeApiServer.answers, _FakeApiServer.bodies = [], []
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _kubeconfig(port: int, tmp_path: Path) -> str:
    """A kubeconfig whose user runs an exec plugin, as AKS's kubelogin one does."""
    plugin = tmp_path / "fake-kubelogin"
    plugin.write_text('#!/bin/sh\necho \'{"kind": "ExecCredential", "status": {"token": "t0ken"}}\'\n')
    plugin.chmod(0o755)
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [{"name": "k", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            "users": [
                {
                    "name": "u",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": str(plugin),
                            "args": ["get-token"],
                        }
                    },
                }
            ],
        }
    )


def test_poll_retries_403_until_the_grant_is_live(api_server, tmp_path):
    from llmcloud.components.azure.rbac_wait import wait_for_kubernetes_access

    _FakeApiServer.answers = [403, 403, 200]
    slept = []
    attempts = wait_for_kubernetes_access(
        _kubeconfig(api_server.server_port, tmp_path), timeout=60, interval=15, sleep=slept.append
    )
    assert attempts == 3
    assert slept == [15, 15]
    assert _FakeApiServer.bodies[0]["auth"] == "Bearer t0ken"
    assert _FakeApiServer.bodies[0]["body"]["kind"] == "SelfSubjectAccessReview"
    assert _FakeApiServer.bodies[0]["body"]["spec"]["resourceAttributes"] == {
        "verb": "create",
        "resource": "namespaces",
    }


def test_poll_gives_up_after_its_bound(api_server, tmp_path):
    from llmcloud.components.azure.rbac_wait import NotGranted, wait_for_kubernetes_access

    _FakeApiServer.answers = [403] * 10
    slept = []
    with pytest.raises(NotGranted, match="after 45 s"):
        wait_for_kubernetes_access(
            _kubeconfig(api_server.server_port, tmp_path), timeout=45, interval=15, sleep=slept.append
        )
    assert len(_FakeApiServer.bodies) == 4  # 0, 15, 30, 45 s
    assert slept == [15, 15, 15]


# ---- 5. zones per VM size and location, from the catalog; regional pools


def test_zones_come_from_the_catalog_per_vm_size():
    assert zones.vm_zones("eastus", "Standard_D4s_v5") == ("1", "2", "3")
    assert zones.vm_zones("eastus", "Standard_NC24ads_A100_v4") == ()  # regional until refreshed
    assert zones.pool_zones("eastus", "Standard_D4s_v5", ["2"]) == ("2",)


def test_regional_gpu_pools_and_zonal_system_pools(dev):
    _, p = dev
    pools = _pools(p)
    assert "availabilityZones" not in pools["a100"] and "availabilityZones" not in pools["t4"]
    assert pools["addons"]["availabilityZones"] == ["1", "2", "3"]
    assert one(p, AKS).inputs["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2", "3"]


class _Api:
    base = "https://management.azure.com"

    def __init__(self):
        self.calls = []

    def get(self, path, params=None):
        self.calls.append((path, params))
        name = "skus_eastus_page2.json" if "page=2" in path else "skus_eastus.json"
        if "location eq 'eastus'" not in (params or {}).get("$filter", "location eq 'eastus'"):
            return {"value": []}
        return json.loads((Path(__file__).parent / "data" / name).read_text())


def test_offered_zones_from_resource_skus():
    skus = json.loads((Path(__file__).parent / "data" / "skus_eastus.json").read_text())["value"]
    by_name = {s["name"]: s for s in skus}
    assert zones.offered_zones(by_name["Standard_NC24ads_A100_v4"], "eastus") == {"2", "3"}
    assert zones.offered_zones(by_name["Standard_NC4as_T4_v3"], "eastus") == {"2", "3"}  # zone 1 withheld
    assert zones.offered_zones(by_name["Standard_NC40ads_H100_v5"], "eastus") == set()  # regional only
    assert zones.offered_zones(by_name["Standard_ND96isr_H100_v5"], "eastus") is None  # not for this subscription
    assert zones.offered_zones(None, "eastus") is None


def test_refresh_writes_the_subscriptions_zones(tmp_path, monkeypatch):
    from llmcloud.components.catalog.refresh import shipped

    raw = shipped("azure")
    raw["prices"] = {"eastus": raw["prices"]["eastus"]}
    api = _Api()
    table, notes = zones.refresh_vm_zones(raw, api, "sub")
    assert table["eastus"]["Standard_NC24ads_A100_v4"] == ["2", "3"]
    assert table["eastus"]["Standard_D4s_v5"] == ["1", "2", "3"]  # from the second page
    assert table["eastus"]["Standard_NC40ads_H100_v5"] == []
    assert table["eastus"]["Standard_ND96isr_H100_v5"] == []  # shipped kept, with a note
    assert any("Standard_ND96isr_H100_v5 is not offered to this subscription in eastus" in n for n in notes)
    assert api.calls[1][0].endswith("page=2")  # followed nextLink
    # A refreshed catalog (LLMCLOUD_CATALOG_DIR) narrows the pool to those zones.
    raw["vm_zones"] = table
    (tmp_path / "azure.yaml").write_text(yaml.safe_dump({**shipped("azure"), "vm_zones": table}))
    monkeypatch.setenv("LLMCLOUD_CATALOG_DIR", str(tmp_path))
    assert zones.pool_zones("eastus", "Standard_NC24ads_A100_v4") == ("2", "3")


def test_zones_that_leave_a_zonal_size_with_none_are_refused(write_stack, tmp_path, monkeypatch):
    from llmcloud.components.catalog.refresh import shipped

    raw = shipped("azure")
    raw["vm_zones"]["eastus"]["Standard_NC24ads_A100_v4"] = ["2", "3"]
    (tmp_path / "azure.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("LLMCLOUD_CATALOG_DIR", str(tmp_path))
    path = write_stack("""
        extends: base.yaml
        cloud: azure
        azure: {location: eastus, zones: ["1"]}
        node_pools:
          a100: {accelerator: A100-80GB, max_nodes: 1}
    """)
    with pytest.raises(StackErrors) as info:
        resolved(path)
    (error,) = [e.render() for e in info.value.errors]
    assert "azure.zones: Standard_NC24ads_A100_v4 (node_pools.a100) is in zones 2, 3 of eastus, none of 1" in error


# ---- 6. destroy then up: a vault name that is new each time


@pytest.mark.parametrize(
    "stack_name", ["dev-azure", "a--b-azure", "abcdefghij-abcdefghij-abcdefgh-azure", "abcdefghijklm-b-azure"]
)
def test_vault_names_follow_key_vaults_rules(stack_name):
    """3-24 letters, digits and hyphens, a letter first, a letter or digit last, no two hyphens in a row
    (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault)."""
    import re

    from llmcloud.components.azure.front_door import vault_prefix

    name = vault_prefix(stack_name) + "-" + "0a1b2c"  # the 6 random lowercase letters and digits
    assert 3 <= len(name) <= 24 and re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]", name), name
    assert "--" not in name, name


def test_vault_name_has_a_random_suffix(dev, prod):
    _, p = dev
    vault = one(p, VAULT).inputs
    assert vault["vaultName"] == COMPUTED  # llm-<stack>-<random>: a re-deploy does not meet the soft-deleted one
    suffix = one(p, "random:index/randomString:RandomString").inputs
    assert (suffix["length"], suffix["special"], suffix["upper"]) == (6, False, False)
    assert vault["properties"]["softDeleteRetentionInDays"] == 7  # outside prod: ages out in a week
    assert vault["properties"]["enablePurgeProtection"] is True
    prod_vault = one(prod[1], VAULT).inputs["properties"]
    assert (prod_vault["enablePurgeProtection"], prod_vault["softDeleteRetentionInDays"]) == (True, 90)


# ---- 7. the deployer may upload weights


def test_deployer_gets_blob_data_contributor(dev):
    _, p = dev
    role = one(p, ROLE, "llm-dev-weights-uploader").inputs
    assert role["roleDefinitionId"] == ROLE_IDS + "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert role["principalId"] == DEPLOYER
    assert role["scope"] == f"{one(p, ACCOUNT).name}-id"
    assert one(p, ACCOUNT).inputs["allowSharedKeyAccess"] is False  # still Entra ID only


# ---- 8. maintenance windows


def test_upgrades_only_in_the_weekly_window(dev):
    _, p = dev
    configs = {
        s.inputs["configName"]: s.inputs for s in p.by_type("azure-native:containerservice:MaintenanceConfiguration")
    }
    assert set(configs) == {"aksManagedNodeOSUpgradeSchedule", "aksManagedAutoUpgradeSchedule"}
    for config in configs.values():
        window = config["maintenanceWindow"]
        assert window["schedule"] == {"weekly": {"dayOfWeek": "Sunday", "intervalWeeks": 1}}
        assert (window["startTime"], window["durationHours"], window["utcOffset"]) == ("02:00", 4, "+00:00")
    assert one(p, AKS).inputs["autoUpgradeProfile"]["nodeOSUpgradeChannel"] == "NodeImage"


# ---- 9. egress that survives a zone: a StandardV2 NAT gateway in prod
GENERIC = "azure-native:resources:Resource"
GOLDEN = REPO / "tests" / "golden" / "plans"


def _generic(p, resource_type):
    (step,) = [s for s in p.by_type(GENERIC) if s.inputs["resourceType"] == resource_type]
    return step


def _check_v2_egress(p):
    """Prod's egress as a plan shows it: the StandardV2 NAT gateway and public IP as generic ARM resources at the
    network API that knows the SKU, the node subnet associated with that gateway, the cluster's outbound type."""
    ip, nat = _generic(p, "publicIPAddresses"), _generic(p, "natGateways")
    for step in (ip, nat):
        assert step.inputs["resourceProviderNamespace"] == "Microsoft.Network"
        assert step.inputs["apiVersion"] == "2025-05-01"
        assert step.inputs["parentResourcePath"] == ""
        assert step.inputs["sku"]["name"] == "StandardV2"
        assert "zones" not in step.inputs  # both are zone-redundant by default (nat-availability-zones)
    assert ip.inputs["sku"]["tier"] == "Regional"
    assert ip.inputs["properties"] == {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}
    assert nat.inputs["properties"]["publicIpAddresses"] == [{"id": f"{ip.name}-id"}]
    assert not p.by_type("azure-native:network:NatGateway") and not p.by_type("azure-native:network:PublicIPAddress")
    subnet = one(p, "azure-native:network:Subnet").inputs
    assert subnet["natGateway"] == {"id": f"{nat.name}-id"}
    assert subnet["defaultOutboundAccess"] is False
    network = one(p, AKS).inputs["networkProfile"]
    assert network["outboundType"] == "userAssignedNATGateway"
    assert "loadBalancerProfile" not in network


def test_prod_egress_is_a_zone_redundant_nat_gateway(dev, prod):
    _check_v2_egress(prod[1])
    # dev keeps its (zonal, same-priced) Standard NAT gateway from the typed SDK
    _, d = dev
    assert not d.by_type(GENERIC)
    assert one(d, "azure-native:network:NatGateway").inputs["sku"] == {"name": "Standard"}
    assert one(d, "azure-native:network:PublicIPAddress").inputs["sku"] == {"name": "Standard", "tier": "Regional"}
    assert one(d, AKS).inputs["networkProfile"]["outboundType"] == "userAssignedNATGateway"


def test_bundled_prod_stack_egresses_through_a_standard_v2_nat_gateway():
    from llmcloud.components.engine.plan import Plan

    raw = json.loads((GOLDEN / "azure-prod.azure.json").read_text())  # test_golden_plans keeps it current
    _check_v2_egress(Plan.from_preview_json(raw, stack=raw["stack"], environment="prod", cloud="azure"))


def test_sdk_network_module_still_lacks_standard_v2():
    # Why the generic resource: the pinned SDK's typed NAT gateway cannot say StandardV2. When an SDK update adds it,
    # this fails: move prod to network.NatGateway (with aliases, or the gateway is replaced).
    from pulumi_azure_native.network import NatGatewaySkuName, PublicIPAddressSkuName

    assert [m.value for m in NatGatewaySkuName] == ["Standard"]
    assert "StandardV2" not in [m.value for m in PublicIPAddressSkuName]


def test_api_server_authorizes_the_nat_egress_address():
    import pulumi
    from llmcloud.components.azure.cluster import authorized_ranges

    assert authorized_ranges((), pulumi.Output.from_input("20.1.2.3")) is None  # no ranges: the API server is open
    assert authorized_ranges(("203.0.113.0/24",), None) == ["203.0.113.0/24"]

    async def resolve():
        ranges = authorized_ranges(("203.0.113.0/24",), "20.1.2.3")
        return ranges[0], await ranges[1].future()

    loop = asyncio.new_event_loop()  # not asyncio.run: it unsets the loop the Pulumi runtime of other tests uses
    try:
        assert loop.run_until_complete(resolve()) == ("203.0.113.0/24", "20.1.2.3/32")
    finally:
        loop.close()


def test_prod_plan_authorizes_the_nat_address(prod):
    _, p = prod
    ranges = one(p, AKS).inputs["apiServerAccessProfile"]["authorizedIPRanges"]
    assert ranges == ["203.0.113.0/24", "10.1.0.0/16", COMPUTED]  # the StandardV2 IP's address, known once created


def test_no_priced_location_lacks_standard_v2():
    from llmcloud.components import catalog

    cat = catalog.load("azure")
    unsupported = set(cat.service("nat_gateway_v2_unsupported"))
    assert "canadaeast" in unsupported and len(unsupported) == 6  # nat-sku "Known limitations", read 2026-12-01
    assert not unsupported & set(cat.prices)


def test_prod_where_standard_v2_is_missing_is_refused(write_stack, cli, monkeypatch):
    from llmcloud.components import catalog

    cat = catalog.load("azure")
    monkeypatch.setitem(cat.services, "nat_gateway_v2_unsupported", ["eastus"])
    text = """
        extends: base.yaml
        environment: prod
        cloud: azure
        azure: {location: eastus}
        node_pools:
          t4: {accelerator: T4, max_nodes: 1}
    """
    path = write_stack(text)
    result = cli("validate", path)
    assert result.exit_code == 2
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "location: eastus" in t)
    assert (
        f"{path}:{line}:19: azure.location: eastus offers no StandardV2 (zone-redundant) NAT gateway, which prod "
        "egresses through; deploy prod in another location, or give azure.subnet_id"
    ) in result.stderr
    # with its own subnet, prod does not need the NAT gateway
    path = write_stack(text.replace("{location: eastus}", "{location: eastus, subnet_id: /subscriptions/1/x}"))
    assert cli("validate", path).exit_code == 0


def test_rehearsal_names_the_providers_of_generic_and_dns_resources(prod):
    from llmcloud.components.azure.rehearsal import required_services

    _, p = prod
    needs = {n["name"]: n["why"] for n in required_services(p, None)}
    network = needs["resource provider Microsoft.Network"]
    assert "natGateways (generic resource)" in network and "publicIPAddresses (generic resource)" in network
    assert "Zone" in network and "RecordSet" in network
    assert needs["resource provider Microsoft.Insights"] == "DiagnosticSetting"


# ---- 10. prod security (checkov does not scan azure-native)


def test_prod_storage_denies_public_networks(prod):
    _, p = prod
    rules = one(p, ACCOUNT).inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert rules["virtualNetworkRules"] == [{"virtualNetworkResourceId": "llm-prod-net-nodes-id", "action": "Allow"}]
    assert rules["ipRules"] == [{"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}]  # not the private 10/16
    subnet = one(p, "azure-native:network:Subnet").inputs
    assert subnet["serviceEndpoints"] == [{"service": "Microsoft.Storage"}, {"service": "Microsoft.KeyVault"}]


def test_prod_vault_denies_public_networks(prod):
    _, p = prod
    acls = one(p, VAULT).inputs["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert acls["virtualNetworkRules"] == [{"id": "llm-prod-net-nodes-id"}]
    assert acls["ipRules"] == [{"value": "203.0.113.0/24"}]


def test_prod_host_encryption_on_every_pool(prod, dev):
    _, p = prod
    assert all(i["enableEncryptionAtHost"] is True for i in _pools(p).values())
    assert one(p, AKS).inputs["agentPoolProfiles"][0]["enableEncryptionAtHost"] is True
    assert not any("enableEncryptionAtHost" in i for i in _pools(dev[1]).values())


def test_prod_diagnostic_settings_and_monitoring_addon(prod, dev):
    _, p = prod
    workspace = one(p, "azure-native:operationalinsights:Workspace")
    diag = {s.name: s.inputs for s in p.by_type(DIAG)}
    blob = diag["llm-prod-weights-blob-diagnostics"]
    assert blob["resourceUri"] == f"{one(p, ACCOUNT).name}-id/blobServices/default"
    assert {x["category"] for x in blob["logs"] if x["enabled"]} >= {"StorageRead"}
    vault = diag["llm-prod-front-door-vault-diagnostics"]
    assert vault["resourceUri"] == f"{one(p, VAULT).name}-id"
    assert [x["category"] for x in vault["logs"]] == ["AuditEvent"]
    assert blob["workspaceId"] == vault["workspaceId"] == f"{workspace.name}-id"
    addon = one(p, AKS).inputs["addonProfiles"]["omsagent"]
    assert addon == {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": f"{workspace.name}-id", "useAADAuth": "true"},
    }
    assert not dev[1].by_type(DIAG)


def test_api_key_secrets_expire(prod):
    from llmcloud.components.azure.front_door import secret_expiry

    _, p = prod
    (secret,) = p.by_type(SECRET_T)
    attributes = secret.inputs["properties"]["attributes"]
    assert attributes["enabled"] is True
    # LLMCLOUD_TODAY unset: this month's first day + 365 days; golden plans fix the day.
    assert attributes["expires"] == secret_expiry()
    import datetime as dt

    assert secret_expiry(dt.date(2026, 12, 17)) == int(dt.datetime(2027, 12, 1, tzinfo=dt.UTC).timestamp())


def test_prices_refresh_carries_the_zones_into_the_written_catalog():
    from llmcloud.components.azure import prices as refresh_azure
    from llmcloud.components.catalog.refresh import merge, shipped
    from llmcloud.components.catalog.refresh.base import Fetched

    raw = shipped("azure")
    raw["prices"] = {"eastus": raw["prices"]["eastus"]}
    fetched = Fetched(prices={}, sources=[])
    refresh_azure._add_zones(raw, fetched, env={"ARM_SUBSCRIPTION_ID": "sub"}, api=_Api())
    catalog = merge(raw, fetched).catalog
    assert catalog["vm_zones"]["eastus"]["Standard_NC24ads_A100_v4"] == ["2", "3"]
    # Without credentials nothing is asked and the shipped zones stay, said in a note.
    quiet = Fetched(prices={}, sources=[])
    refresh_azure._add_zones(raw, quiet, env={})
    assert "vm_zones" not in quiet.sections
    assert any("kept from the shipped catalog" in n for n in quiet.notes)


def test_preflight_treats_a_regional_pool_by_its_location(write_stack):
    from llmcloud.components.azure import preflight as preflight_azure

    class Api(_Api):
        def get(self, path, params=None):
            if path.endswith("/usages"):
                return {"value": [{"name": {"value": "standardNCadsH100v5Family"}, "limit": 80, "currentValue": 0}]}
            return super().get(path, params)

    r = resolved(
        write_stack("""
        extends: base.yaml
        cloud: azure
        node_pools:
          h100: {accelerator: H100, max_nodes: 1}
    """)
    )
    (check,) = preflight_azure.check(r, list(r.node_pools.values()), api=Api(), subscription="sub")
    assert check.machine_type == "Standard_NC40ads_H100_v5"
    assert check.offered is None and check.zones == ["eastus"]  # a regional-only size: no zone verdict
    assert check.verdict == "ok"


def test_wait_provider_survives_the_engines_serialization():
    """The engine runs a dynamic provider from its dill-serialized form: round-trip it and call it."""
    import base64

    import dill
    from llmcloud.components.azure.rbac_wait import _Provider
    from pulumi.dynamic.dynamic import serialize_provider

    provider = dill.loads(base64.b64decode(serialize_provider(_Provider())))
    created = provider.create({"trigger": "role-1", "mode": "sleep", "timeout": 0, "interval": 15})
    assert created.id == "rbac-wait-role-1"
    assert provider.diff("rbac-wait-role-1", {"trigger": "role-1"}, {"trigger": "role-1"}).changes is False
    again = provider.diff("rbac-wait-role-1", {"trigger": "role-1"}, {"trigger": "role-2"})
    assert (again.changes, again.replaces) == (True, ["trigger"])
