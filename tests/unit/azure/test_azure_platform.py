"""The Azure platform under the mock runtime: what AKS, the agent pools, storage and identity get."""

from __future__ import annotations

import base64
import importlib

import pytest
import yaml
from helpers import get, one
from llmcloud.components import catalog
from llmcloud.components.engine.plan import COMPUTED, SECRET

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_PROPS = "azure-native:storage:BlobServiceProperties"
FIC = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE = "azure-native:authorization:RoleAssignment"
RG = "azure-native:resources:ResourceGroup"
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"

EXAMPLE = """
extends: base.yaml
cloud: azure
azure: {location: eastus, tier: Standard}
cluster: {kubernetes_version: "1.36", authorized_networks: ["203.0.113.0/24"]}
node_pools:
  t4: {accelerator: T4, min_nodes: 0, max_nodes: 2, spot: true, disk_gb: 128}
  a100: {accelerator: A100-80GB, min_nodes: 1, max_nodes: 3, disk_gb: 256}
models:
  small: {source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ, node_pool: t4, quantization: awq, max_model_len: 4096,
         replicas: {min: 0, max: 2}}
  big: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: a100, max_model_len: 8192,
         replicas: {min: 1, max: 3}}
"""
PROD = EXAMPLE.replace(
    "azure: {location: eastus, tier: Standard}", "environment: prod\nazure: {location: eastus, tier: Premium}"
)


def _serving_rows() -> dict[str, list]:
    """Every serving: true catalog row, grouped by a location that prices it and offers its accelerator."""
    cat = catalog.load("azure")
    by_region: dict[str, list] = {}
    for m in cat.machines:
        if not m.serving:
            continue
        region = next(
            r
            for r in sorted(cat.prices)
            if m.machine_type in cat.prices[r].get("machines", {}) and cat.zones_offering(r, m.accelerator)
        )
        by_region.setdefault(region, []).append(m)
    return by_region


ROWS = _serving_rows()


def _rows_stack(region: str) -> str:
    pools = "\n".join(
        f"  r{i}: {{accelerator: {m.accelerator}, accelerators_per_node: {m.count}, max_nodes: 1,"
        f" machine_type: {{azure: {m.machine_type}}}}}"
        for i, m in enumerate(ROWS[region])
    )
    return f"extends: base.yaml\ncloud: azure\nazure: {{location: {region}}}\nnode_pools:\n{pools}\n"


@pytest.fixture(scope="module")
def example(azure_plan):
    return azure_plan(EXAMPLE, "dev")


@pytest.fixture(scope="module")
def prod(azure_plan):
    return azure_plan(PROD, "prod")


def test_every_serving_row_is_covered():
    assert sum(len(v) for v in ROWS.values()) == sum(1 for m in catalog.load("azure").machines if m.serving)


@pytest.mark.parametrize("region", sorted(ROWS))
def test_every_serving_row_plans_its_vm_size_and_gpu_count(azure_plan, region):
    r, p = azure_plan(_rows_stack(region), f"rows-{region}")
    for i, m in enumerate(ROWS[region]):
        pool = r.node_pools[f"r{i}"]
        assert (pool.machine_type, pool.accelerators_per_node, pool.accelerator) == (
            m.machine_type,
            m.count,
            m.accelerator,
        )
        step = one(p, POOL, f"llm-{r.environment}-r{i}")
        assert step.inputs["vmSize"] == m.machine_type
        assert step.inputs["agentPoolName"] == f"r{i}"
        assert step.inputs["mode"] == "User"
        assert step.inputs["gpuProfile"] == {"driver": "Install"}
        assert step.inputs["nodeTaints"] == [GPU_TAINT]
        labels = {"llmcloud.dev/pool": f"r{i}", "llmcloud.dev/accelerator": m.accelerator}
        assert step.inputs["nodeLabels"] == labels


def test_default_machine_is_the_smallest_whole_gpu(example):
    r, _ = example
    assert r.node_pools["t4"].machine_type == "Standard_NC4as_T4_v3"
    assert r.node_pools["a100"].machine_type == "Standard_NC24ads_A100_v4"


def test_spot_pool_settings_and_taints(example):
    _, p = example
    t4 = one(p, POOL, "llm-dev-t4").inputs
    assert t4["scaleSetPriority"] == "Spot"
    assert t4["scaleSetEvictionPolicy"] == "Delete"
    assert t4["spotMaxPrice"] == -1
    assert t4["nodeTaints"] == [GPU_TAINT, SPOT_TAINT]
    assert "upgradeSettings" not in t4  # spot pools take no surge settings


def test_on_demand_pool_has_no_spot_settings(example):
    _, p = example
    a100 = one(p, POOL, "llm-dev-a100").inputs
    for key in ("scaleSetPriority", "scaleSetEvictionPolicy", "spotMaxPrice"):
        assert key not in a100
    assert a100["nodeTaints"] == [GPU_TAINT]
    assert a100["upgradeSettings"] == {"maxSurge": "1"}


def test_autoscaling_disk_zones_and_version(example):
    r, p = example
    for name in ("t4", "a100"):
        pool = r.node_pools[name]
        inputs = one(p, POOL, f"llm-dev-{name}").inputs
        assert inputs["enableAutoScaling"] is True
        assert (inputs["minCount"], inputs["maxCount"], inputs["count"]) == (
            pool.min_nodes,
            pool.max_nodes,
            pool.min_nodes,
        )
        # The shipped catalog lists no zones for GPU sizes (zones.py): regional pools, never
        # AvailabilityZoneNotSupported; a refreshed catalog narrows them (test_azure_first_up.py).
        assert "availabilityZones" not in inputs
        assert inputs["osDiskSizeGB"] == pool.disk_gb
        assert inputs["orchestratorVersion"] == "1.36"
        assert inputs["enableNodePublicIP"] is False
        assert inputs["resourceName"] == COMPUTED  # the cluster's name: created first


def test_cluster_security_and_networking(example):
    _, p = example
    c = one(p, AKS).inputs
    assert c["oidcIssuerProfile"] == {"enabled": True}
    assert c["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert c["networkProfile"]["networkPlugin"] == "azure"
    assert c["networkProfile"]["networkPluginMode"] == "overlay"
    assert c["networkProfile"]["outboundType"] == "userAssignedNATGateway"
    assert c["disableLocalAccounts"] is True
    assert c["enableRBAC"] is True
    assert c["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "tenantID": "00000000-0000-0000-0000-000000000000",
    }
    # + the NAT gateway's address (/32, known once created): nodes reach the public API server from it
    assert c["apiServerAccessProfile"] == {
        "enablePrivateCluster": False,
        "authorizedIPRanges": ["203.0.113.0/24", COMPUTED],
    }
    assert c["identity"]["type"] == "UserAssigned"
    assert c["kubernetesVersion"] == "1.36"
    assert c["sku"] == {"name": "Base", "tier": "Standard"}
    assert c["supportPlan"] == "KubernetesOfficial"
    assert c["nodeResourceGroup"] == "llmcloud-dev-llm-dev-nodes"
    assert c["location"] == "eastus"


def test_system_pool_runs_only_critical_addons(example):
    _, p = example
    (system,) = one(p, AKS).inputs["agentPoolProfiles"]
    assert system["name"] == "system"
    assert system["mode"] == "System"
    assert system["vmSize"] == "Standard_D4s_v5"
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert (system["minCount"], system["maxCount"], system["enableAutoScaling"]) == (1, 3, True)


def test_control_plane_identity_manages_the_subnet(example):
    _, p = example
    role = one(p, ROLE, "llm-dev-subnet-network-contributor").inputs
    assert role["roleDefinitionId"].endswith("/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7")
    assert role["scope"] == "llm-dev-net-nodes-id"
    assert role["principalType"] == "ServicePrincipal"


def test_deployer_is_cluster_admin_through_azure_rbac(example):
    _, p = example
    role = one(p, ROLE, "llm-dev-deployer-cluster-admin").inputs
    assert role["roleDefinitionId"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
        "Microsoft.Authorization/roleDefinitions/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
    )
    assert role["scope"] == "llm-dev-id"


def test_network_has_nat_egress_and_no_default_outbound(example):
    _, p = example
    subnet = one(p, "azure-native:network:Subnet").inputs
    assert subnet["defaultOutboundAccess"] is False
    assert subnet["natGateway"] == {"id": "llm-dev-net-nat-id"}
    assert one(p, "azure-native:network:NatGateway").inputs["sku"] == {"name": "Standard"}


def test_private_cluster(azure_plan):
    _, p = azure_plan(EXAMPLE.replace('authorized_networks: ["203.0.113.0/24"]', "private_endpoint: true"), "dev")
    access = one(p, AKS).inputs["apiServerAccessProfile"]
    assert access == {"enablePrivateCluster": True, "privateDNSZone": "system"}


def test_existing_subnet(azure_plan):
    subnet = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aks"
    _, p = azure_plan(EXAMPLE.replace("tier: Standard}", f"tier: Standard, subnet_id: {subnet}}}"), "dev")
    assert not p.resources("azure-native:network:")
    assert one(p, AKS).inputs["networkProfile"]["outboundType"] == "loadBalancer"
    assert one(p, AKS).inputs["agentPoolProfiles"][0]["vnetSubnetID"] == subnet
    assert one(p, POOL, "llm-dev-a100").inputs["vnetSubnetID"] == subnet
    assert one(p, ROLE, "llm-dev-subnet-network-contributor").inputs["scope"] == subnet


def test_storage_account_security(example):
    _, p = example
    a = one(p, ACCOUNT).inputs
    # global names: the stack's name plus a short hash of resource group, stack and bucket
    assert a["accountName"].startswith("llmdevazureweights") and len(a["accountName"]) == 24
    assert a["kind"] == "StorageV2"
    assert a["sku"] == {"name": "Standard_LRS"}
    assert a["allowBlobPublicAccess"] is False
    assert a["allowSharedKeyAccess"] is False
    assert a["enableHttpsTrafficOnly"] is True
    assert a["minimumTlsVersion"] == "TLS1_2"
    assert a["defaultToOAuthAuthentication"] is True
    assert a["allowCrossTenantReplication"] is False
    assert a["encryption"]["keySource"] == "Microsoft.Storage"
    assert a["encryption"]["services"]["blob"] == {"enabled": True, "keyType": "Account"}


def test_versioning_and_soft_delete(example):
    _, p = example
    props = one(p, BLOB_PROPS).inputs
    assert props["isVersioningEnabled"] is True
    assert props["deleteRetentionPolicy"] == {"enabled": True, "days": 14}
    assert props["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 14}
    rule = one(p, "azure-native:storage:ManagementPolicy").inputs["policy"]["rules"][0]
    assert get(rule, "definition.actions.version.delete.daysAfterCreationGreaterThan") == 30


def test_private_container_named_after_the_bucket(example):
    _, p = example
    c = one(p, CONTAINER).inputs
    assert c["containerName"] == "weights"
    assert c["publicAccess"] == "None"


def test_customer_managed_key(azure_plan):
    key = "https://llm-vault.vault.azure.net/keys/weights"
    _, p = azure_plan(EXAMPLE.replace("models:", f"buckets:\n  weights: {{kms_key: {key}}}\nmodels:"), "dev")
    a = one(p, ACCOUNT).inputs
    assert a["encryption"]["keySource"] == "Microsoft.Keyvault"
    assert a["encryption"]["keyVaultProperties"] == {
        "keyVaultUri": "https://llm-vault.vault.azure.net/",
        "keyName": "weights",
    }  # no version: follows key rotation
    identity = {"encryptionUserAssignedIdentity": "llm-dev-weights-cmk-id"}
    assert a["encryption"]["encryptionIdentity"] == identity
    assert a["identity"]["type"] == "UserAssigned"


def test_federated_credential(example):
    r, p = example
    fic = next(s for s in p.by_type(FIC) if s.name.endswith("-serving-fic"))  # not the front door's ACME one
    assert fic.inputs["subject"] == f"system:serviceaccount:{r.namespace}:{r.service_account}"
    assert fic.inputs["subject"] == "system:serviceaccount:llmcloud:model-server"
    assert fic.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert fic.inputs["issuer"] == COMPUTED  # the cluster's OIDC issuer, known once it exists
    assert fic.parent.endswith("::llm-dev-serving")


def test_issuer_is_the_clusters(monkeypatch):
    """The credential's issuer is the cluster's oidcIssuerProfile.issuerUrl (wiring, with outputs known)."""
    import pulumi
    from llmcloud.components.azure.cluster import AksCluster

    seen = {}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            state = dict(args.inputs)
            if args.typ == AKS:
                state.update(
                    name="llm-t",
                    oidcIssuerProfile={  # the wire name is issuerURL
                        "enabled": True,
                        "issuerURL": "https://eastus.oic.prod-aks.azure.com/t/c/",
                    },
                )
            if args.typ == FIC:
                seen["issuer"] = args.inputs.get("issuer")
            return f"{args.name}-id", state

        def call(self, args):
            return {"kubeconfigs": [{"name": "u", "value": base64.b64encode(b"{}").decode()}]}, []

    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(Mocks(), project="t", stack="t", preview=False)

    @pulumi.runtime.test
    def program():
        from llmcloud.components.azure.cluster import AksClusterArgs
        from llmcloud.components.azure.identity import AksWorkloadIdentity, AksWorkloadIdentityArgs

        cluster = AksCluster(
            "llm-t",
            AksClusterArgs(
                resource_group_name="rg",
                location="eastus",
                subnet_id="s",
                tenant_id="t",
                subscription_id="sub",
                deployer_object_id="o",
            ),
        )
        identity = AksWorkloadIdentity(
            "llm-t-serving",
            AksWorkloadIdentityArgs(
                resource_group_name="rg",
                location="eastus",
                oidc_issuer_url=cluster.oidc_issuer_url,
                subscription_id="sub",
                namespace="ns",
                service_account="sa",
                storage_account_ids=("acct",),
            ),
        )
        return identity.client_id

    program()
    assert seen["issuer"] == "https://eastus.oic.prod-aks.azure.com/t/c/"


def test_blob_reader_role_on_the_storage_account(example):
    _, p = example
    role = one(p, ROLE, "llm-dev-serving-blob-reader-0").inputs
    assert role["roleDefinitionId"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
        "Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    )
    assert role["scope"] == f"{one(p, ACCOUNT).name}-id"
    assert role["principalType"] == "ServicePrincipal"
    assert role["principalId"] == COMPUTED


def test_service_account_gets_the_client_id_annotation(example):
    _, p = example
    sa = one(p, "kubernetes:core/v1:ServiceAccount").inputs
    assert sa["metadata"]["annotations"] == COMPUTED  # {"azure.workload.identity/client-id": <client id>}


def test_platform_contract():
    """build_platform's Platform: workload identity pod label, client-id annotation, az:// URLs."""
    import pulumi
    from llmcloud.components.azure.identity import CLIENT_ID_ANNOTATION, USE_LABEL
    from llmcloud.components.azure.platform import build_platform
    from llmcloud.components.engine.offline import _Answers

    assert USE_LABEL == "azure.workload.identity/use"
    assert CLIENT_ID_ANNOTATION == "azure.workload.identity/client-id"

    class Mocks(_Answers):
        def new_resource(self, args):
            state = {"name": args.name, **args.inputs}  # a deploy knows every resource's name
            if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
                state["clientId"] = f"{args.name}-client"
            return f"{args.name}-id", state

    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(Mocks(), project="t", stack="t", preview=False)
    result = {}

    @pulumi.runtime.test
    def program():
        from helpers import resolved
        from llmcloud.components.resolve import ResolvedStack  # noqa: F401

        r = resolved(_example_path())
        platform = build_platform(r)
        result["pod_labels"] = platform.pod_labels
        outputs = pulumi.Output.all(
            platform.service_account_annotations, platform.bucket_urls["weights"], platform.kubeconfig
        )
        return outputs.apply(lambda a: result.update(annotations=a[0], url=a[1], kubeconfig=a[2]))

    program()
    assert result["pod_labels"] == {"azure.workload.identity/use": "true"}
    assert result["annotations"] == {"azure.workload.identity/client-id": "llm-azure-lab-serving-id-client"}
    assert result["url"] == "az://weights"
    assert "kubelogin" in result["kubeconfig"]


def _example_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[3] / "stacks" / "azure-example.yaml"


def test_kubeconfig_is_a_secret(example):
    _, p = example
    assert p.outputs["kubeconfig"] == SECRET


def test_kubeconfig_switches_kubelogin_to_azurecli():
    from llmcloud.components.azure.cluster import decode_kubeconfig
    from llmcloud.components.engine.offline import _Answers
    from pulumi.runtime.mocks import MockCallArgs

    answer, failures = _Answers().call(
        MockCallArgs(token="azure-native:containerservice:listManagedClusterUserCredentials", args={}, provider="")
    )
    assert failures == []
    config = yaml.safe_load(decode_kubeconfig(answer["kubeconfigs"][0]["value"]))
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"][exec_["args"].index("--login") + 1] == "azurecli"
    assert "devicecode" not in exec_["args"]


def test_protect_and_retain_in_prod(prod):
    r, p = prod
    assert r.protect_data
    for step in (one(p, ACCOUNT), one(p, CONTAINER), one(p, RG)):
        assert (step.protect, step.retain_on_delete) == (True, True), step.name
    assert one(p, ACCOUNT).inputs["sku"] == {"name": "Standard_ZRS"}
    c = one(p, AKS).inputs
    assert c["sku"] == {"name": "Base", "tier": "Premium"}
    assert c["supportPlan"] == "AKSLongTermSupport"
    assert c["agentPoolProfiles"][0]["minCount"] == 2


def test_nothing_protected_in_dev(example):
    r, p = example
    assert not r.protect_data
    assert not [s.name for s in p.resources() if s.protect or s.retain_on_delete]


def _taggable(type_: str) -> bool:
    _, module, name = type_.split(":")
    mod = importlib.import_module(f"pulumi_azure_native.{module}")
    args = getattr(mod, f"{name}Args", None) or getattr(mod, f"{name}InitArgs")
    return "tags" in args.__init__.__code__.co_varnames


@pytest.mark.parametrize("stack", ["example", "prod"])
def test_every_taggable_resource_has_the_stack_labels(stack, request):
    r, p = request.getfixturevalue(stack)
    taggable = [s for s in p.resources("azure-native:") if _taggable(s.type)]
    assert {s.type for s in taggable} >= {
        RG,
        AKS,
        POOL,
        ACCOUNT,
        "azure-native:network:VirtualNetwork",
        "azure-native:managedidentity:UserAssignedIdentity",
    }
    if stack == "example":  # prod egresses through the cluster's load balancer: no NAT gateway
        assert {s.type for s in taggable} >= {"azure-native:network:NatGateway", "azure-native:network:PublicIPAddress"}
    for step in taggable:
        assert step.inputs.get("tags") == r.labels, step.name
    assert r.labels["llmcloud-environment"] == r.environment
    assert one(p, AKS).inputs["agentPoolProfiles"][0]["tags"] == r.labels


def test_provider_location_from_the_stack(example):
    _, p = example
    provider = one(p, "pulumi:providers:azure-native")
    assert provider.inputs["location"] == "eastus"
    assert all(s.provider.endswith("::azure-native") for s in p.resources("azure-native:"))
