"""Mock-runtime tests of the whole AWS platform (network, EKS, buckets, Pod Identity), asserted like
policies over offline plans. Plans are cached per stack: each takes about a second."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import get, one, plan, repo_plan
from llmcloud.components.engine.plan import SECRET

REPO = Path(__file__).resolve().parents[3]
LABELS = {
    "team": "ml-platform",
    "cost-center": "llm-serving",
    "llmcloud-environment": "prod",
    "llmcloud-stack": "prod-aws",
}

PROD = """
extends: base.yaml
environment: prod
cloud: aws
aws: {region: us-east-1}
cluster:
  kubernetes_version: "1.33"
  authorized_networks: [203.0.113.0/24]
node_pools:
  l4: {accelerator: L4, min_nodes: 1, max_nodes: 4}
buckets:
  weights: {kms_key: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
models:
  llama-8b:
    source: bucket://weights/meta-llama/Llama-3.1-8B-Instruct
    node_pool: l4
    max_model_len: 8192
    replicas: {min: 1, max: 4}
"""
EXISTING = """
extends: base.yaml
environment: byo
cloud: aws
aws: {region: us-east-1, vpc_id: vpc-0123456789abcdef0,
      subnet_ids: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]}
cluster: {private_endpoint: true}
node_pools:
  l4: {accelerator: L4, max_nodes: 1, spot: true}
"""


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stacks")
    (root / "base.yaml").write_text((REPO / "stacks" / "base.yaml").read_text())
    (root / "prod.yaml").write_text(textwrap.dedent(PROD).lstrip())
    (root / "byo.yaml").write_text(textwrap.dedent(EXISTING).lstrip())
    return root


@functools.cache
def _plan(path: str):
    return plan(path)


def dev():
    return repo_plan("aws-example")


def prod(stacks: Path):
    return _plan(str(stacks / "prod.yaml"))


def byo(stacks: Path):
    return _plan(str(stacks / "byo.yaml"))


def _policy(step) -> dict:
    return json.loads(step.inputs["policy"])


# ---- network


def test_dev_network_spans_the_pools_azs_with_one_nat():
    p = dev()
    subnets = {s.name: s.inputs for s in p.by_type("aws:ec2/subnet:Subnet")}
    private = {i["availabilityZoneId"] for n, i in subnets.items() if "-private-" in n}
    public = {i["availabilityZoneId"] for n, i in subnets.items() if "-public-" in n}
    assert not any("availabilityZone" in i for i in subnets.values())  # names differ per account: IDs only
    # L4 in az1, az2, az4, az6 and Inferentia2 in az2, az4, az5, az6 (catalog): az2 has both, then the two
    # more that serve both pools; at most three AZs
    assert private == public == {"use1-az2", "use1-az4", "use1-az6"}
    for name, i in subnets.items():
        role = "kubernetes.io/role/internal-elb" if "-private-" in name else "kubernetes.io/role/elb"
        assert i["tags"][role] == "1", name
        assert i["mapPublicIpOnLaunch"] is False
    assert len(p.by_type("aws:ec2/natGateway:NatGateway")) == 1  # dev: one NAT gateway
    routes = [s.inputs for s in p.by_type("aws:ec2/route:Route") if "natGatewayId" in s.inputs]
    assert len(routes) == 3 and len({r["natGatewayId"] for r in routes}) == 1
    endpoint = one(p, "aws:ec2/vpcEndpoint:VpcEndpoint").inputs
    assert endpoint["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint["vpcEndpointType"] == "Gateway"
    assert len(endpoint["routeTableIds"]) == 3  # weights from S3 skip the NAT


def test_prod_has_one_nat_per_az(stacks):
    p = prod(stacks)
    nats = p.by_type("aws:ec2/natGateway:NatGateway")
    private = [s for s in p.by_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert len(nats) == len(private) == 3  # L4 is in four AZs; three is the most llmcloud uses
    routes = [s.inputs for s in p.by_type("aws:ec2/route:Route") if "natGatewayId" in s.inputs]
    assert len({r["natGatewayId"] for r in routes}) == 3


def test_node_groups_use_only_subnets_in_their_azs():
    p = dev()
    # the mock runtime gives each resource the id "<name>-id"
    subnet_id = {
        s.inputs["availabilityZoneId"]: f"{s.name}-id"
        for s in p.by_type("aws:ec2/subnet:Subnet")
        if "-private-" in s.name
    }
    l4 = one(p, "aws:eks/nodeGroup:NodeGroup", "llm-aws-lab-l4").inputs
    assert l4["subnetIds"] == [subnet_id[z] for z in ("use1-az2", "use1-az4", "use1-az6")]
    inf2 = one(p, "aws:eks/nodeGroup:NodeGroup", "llm-aws-lab-inf2").inputs
    assert inf2["subnetIds"] == [subnet_id[z] for z in ("use1-az2", "use1-az4", "use1-az6")]
    # the control plane and the system nodes use every private subnet
    assert get(one(p, "aws:eks/cluster:Cluster").inputs, "vpcConfig.subnetIds") == sorted(subnet_id.values())
    assert one(p, "aws:eks/nodeGroup:NodeGroup", "llm-aws-lab-system").inputs["subnetIds"] == sorted(subnet_id.values())


def test_existing_subnets_create_no_network(stacks):
    p = byo(stacks)
    assert not p.resources("aws:ec2/vpc") and not p.resources("aws:ec2/subnet")
    assert not p.by_type("aws:ec2/natGateway:NatGateway")
    ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
    assert get(one(p, "aws:eks/cluster:Cluster").inputs, "vpcConfig.subnetIds") == ids
    assert one(p, "aws:eks/nodeGroup:NodeGroup", "llm-byo-l4").inputs["subnetIds"] == ids
    assert p.outputs["vpc_id"] == "vpc-0123456789abcdef0"


# ---- cluster


def test_cluster_uses_access_entries_kms_logging_and_managed_addons():
    p = dev()
    c = one(p, "aws:eks/cluster:Cluster").inputs
    assert c["name"] == "llm-aws-lab"
    assert c["version"] == "1.36"
    assert c["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert c["bootstrapSelfManagedAddons"] is False
    assert c["encryptionConfig"]["resources"] == ["secrets"]
    assert "keyArn" in c["encryptionConfig"]["provider"]
    assert set(c["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert c["upgradePolicy"] == {"supportType": "STANDARD"}
    assert c["vpcConfig"]["endpointPrivateAccess"] is True and c["vpcConfig"]["endpointPublicAccess"] is True
    key = one(p, "aws:kms/key:Key").inputs
    assert key["enableKeyRotation"] is True
    logs = one(p, "aws:cloudwatch/logGroup:LogGroup").inputs
    assert logs["name"] == "/aws/eks/llm-aws-lab/cluster" and logs["retentionInDays"] == 30
    assert logs["kmsKeyId"] == "<computed>"  # the secrets key's ARN: known once the key exists
    addons = {s.inputs["addonName"] for s in p.by_type("aws:eks/addon:Addon")}
    assert addons == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
    assert not [
        s for s in p.steps if s.type == "kubernetes:core/v1:ConfigMap" and get(s.inputs, "metadata.name") == "aws-auth"
    ], "no aws-auth ConfigMap"


def test_coredns_waits_for_the_system_nodes():
    p = dev()
    # the offline plan records no dependencies; the component orders them: check it in code
    from llmcloud.components.aws import cluster

    assert cluster.AFTER_NODES_ADDONS == ("coredns",)
    assert "coredns" not in cluster.BEFORE_NODES_ADDONS
    assert len(p.by_type("aws:eks/addon:Addon")) == 4


def test_deployer_gets_cluster_admin_through_an_access_entry():
    p = dev()
    entry = one(p, "aws:eks/accessEntry:AccessEntry", "llm-aws-lab-admin").inputs
    assert entry["principalArn"] == "arn:aws:iam::123456789012:user/offline"  # from get_caller_identity
    assert entry["type"] == "STANDARD"
    assoc = one(p, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert assoc["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert assoc["accessScope"] == {"type": "cluster"}
    assert assoc["principalArn"] == entry["principalArn"]


def test_prod_cluster_restricts_the_public_endpoint_and_is_protected(stacks):
    p = prod(stacks)
    step = one(p, "aws:eks/cluster:Cluster")
    c = step.inputs
    assert c["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert c["upgradePolicy"] == {"supportType": "EXTENDED"}  # prod stays on its version
    assert c["deletionProtection"] is True and step.protect is True
    assert one(p, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 90
    system = one(p, "aws:eks/nodeGroup:NodeGroup", "llm-prod-system").inputs
    assert system["scalingConfig"] == {"minSize": 2, "maxSize": 3, "desiredSize": 2}


def test_private_endpoint_has_no_public_access(stacks):
    c = one(byo(stacks), "aws:eks/cluster:Cluster").inputs
    assert c["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in c["vpcConfig"]


def test_system_node_group_is_small_on_demand_and_untainted():
    i = one(dev(), "aws:eks/nodeGroup:NodeGroup", "llm-aws-lab-system").inputs
    assert i["instanceTypes"] == ["m6i.xlarge"]
    assert i["amiType"] == "AL2023_x86_64_STANDARD"
    assert i["capacityType"] == "ON_DEMAND"
    assert i["labels"] == {"llmcloud.dev/pool": "system"}
    assert "taints" not in i
    assert i["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}


def test_example_pools_spot_l4_and_neuron():
    p = dev()
    l4 = one(p, "aws:eks/nodeGroup:NodeGroup", "llm-aws-lab-l4").inputs
    assert (l4["instanceTypes"][0], l4["capacityType"]) == ("g6.xlarge", "SPOT")
    assert len(l4["instanceTypes"]) > 1  # Spot: interchangeable L4 × 1 types too
    assert l4["amiType"] == "AL2023_x86_64_NVIDIA"
    assert l4["scalingConfig"] == {"minSize": 0, "maxSize": 3, "desiredSize": 0}
    inf2 = one(p, "aws:eks/nodeGroup:NodeGroup", "llm-aws-lab-inf2").inputs
    assert (inf2["instanceTypes"], inf2["capacityType"], inf2["amiType"]) == (
        ["inf2.8xlarge"],
        "ON_DEMAND",
        "AL2023_x86_64_NEURON",
    )
    assert inf2["taints"] == [{"key": "aws.amazon.com/neuron", "value": "present", "effect": "NO_SCHEDULE"}]
    assert "AL2_x86_64_GPU" not in json.dumps(p.to_json())


def test_node_role_has_the_node_policies_only():
    p = dev()
    attachments = p.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attached = {s.inputs["policyArn"].rsplit("/", 1)[1] for s in attachments}
    assert attached == {
        "AmazonEKSClusterPolicy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryPullOnly",
    }
    trust = json.loads(one(p, "aws:iam/role:Role", "llm-aws-lab-nodes").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_kubeconfig_is_secret_and_uses_aws_eks_get_token():
    from llmcloud.components.aws.cluster import kubeconfig

    assert dev().outputs["kubeconfig"] == SECRET
    text = kubeconfig("llm-dev", "https://x.eks.amazonaws.com", "Q0E=", "us-east-1")
    config = yaml.safe_load(text)
    user = config["users"][0]["user"]
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "llm-dev",
        "--region",
        "us-east-1",
        "--output",
        "json",
    ]
    assert config["clusters"][0]["cluster"] == {
        "server": "https://x.eks.amazonaws.com",
        "certificate-authority-data": "Q0E=",
    }
    assert set(user) == {"exec"}  # no token, client key or password
    assert "token:" not in text and "client-key" not in text and "password" not in text


# ---- bucket


def _bucket_steps(p):
    return {s.type.split(":")[-1]: s for s in p.resources("aws:s3/")}


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_bucket_is_private_encrypted_versioned_tls_only(stacks, which):
    p = dev() if which == "dev" else prod(stacks)
    s = _bucket_steps(p)
    bucket = s["Bucket"]
    assert bucket.inputs["forceDestroy"] is False
    env = "aws-lab" if which == "dev" else "prod"
    assert bucket.inputs["bucket"] == f"llmcloud-{env}-aws-weights-123456789012"
    assert {k: v for k, v in s["BucketPublicAccessBlock"].inputs.items() if k != "bucket"} == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert s["BucketOwnershipControls"].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert s["BucketVersioning"].inputs["versioningConfiguration"] == {"status": "Enabled"}
    rule = s["BucketServerSideEncryptionConfiguration"].inputs["rules"][0]
    if which == "prod":
        assert rule["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": PROD.split('kms_key: "')[1].split('"')[0],
        }
        assert rule["bucketKeyEnabled"] is True
    else:
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    policy = _policy(s["BucketPolicy"])
    [deny] = policy["Statement"]
    arn = f"arn:aws:s3:::{bucket.inputs['bucket']}"
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == [arn, f"{arn}/*"]
    assert not p.by_type("aws:s3/bucketV2:BucketV2"), "BucketV2 is deprecated in pulumi-aws 7"


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_bucket_protected_and_retained_only_in_prod(stacks, which):
    p = dev() if which == "dev" else prod(stacks)
    bucket = one(p, "aws:s3/bucket:Bucket", f"llm-{'aws-lab' if which == 'dev' else 'prod'}-weights")
    assert bucket.protect is (which == "prod")
    assert bucket.retain_on_delete is (which == "prod")
    if which == "prod":  # the audit logs are kept like the weights
        audit = one(p, "aws:s3/bucket:Bucket", "llm-prod-audit-logs")
        assert audit.protect and audit.retain_on_delete
    others = [s for s in p.resources() if s.type != "aws:s3/bucket:Bucket"]
    assert not any(s.retain_on_delete for s in others)


# ---- Pod Identity


def test_model_servers_read_the_bucket_through_pod_identity(stacks):
    for p, env in ((dev(), "aws-lab"), (prod(stacks), "prod")):
        assoc = one(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation", f"llm-{env}-serving-association").inputs
        assert (assoc["namespace"], assoc["serviceAccount"]) == ("llmcloud", "model-server")
        assert assoc["clusterName"] == f"llm-{env}"
        role = one(p, "aws:iam/role:Role", f"llm-{env}-serving-role")
        [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
        access = _policy(one(p, "aws:iam/rolePolicy:RolePolicy", f"llm-{env}-serving-access"))
        arn = f"arn:aws:s3:::llmcloud-{env}-aws-weights-123456789012"
        actions = {a: st["Resource"] for st in access["Statement"] for a in st["Action"]}
        assert actions["s3:ListBucket"] == [arn]
        assert actions["s3:GetObject"] == [f"{arn}/*"]
        assert not [a for a in actions if a.startswith("s3:") and a not in ("s3:ListBucket", "s3:GetObject")]
        assert all(st["Effect"] == "Allow" for st in access["Statement"])
        if env == "prod":  # SSE-KMS: decrypt with that key, through S3 only
            kms = next(st for st in access["Statement"] if st["Action"] == ["kms:Decrypt"])
            assert kms["Resource"] == [PROD.split('kms_key: "')[1].split('"')[0]]
            assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
        else:
            assert "kms:Decrypt" not in actions


def test_no_access_keys_and_no_annotation_needed():
    p = dev()
    assert not p.by_type("aws:iam/accessKey:AccessKey")
    assert not p.by_type("aws:iam/user:User")
    text = json.dumps(p.to_json())
    assert "aws_secret_access_key" not in text.lower() and "secretAccessKey" not in text
    sa = next(
        s for s in p.by_type("kubernetes:core/v1:ServiceAccount") if get(s.inputs, "metadata.name") == "model-server"
    )
    assert not get(sa.inputs, "metadata").get("annotations")


def test_cluster_autoscaler_role_resizes_only_this_cluster():
    p = dev()
    assoc = one(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "llm-aws-lab-autoscaler-association")
    assert assoc.inputs["namespace"] == "kube-system"
    assert assoc.inputs["serviceAccount"] == "cluster-autoscaler"
    policy = _policy(one(p, "aws:iam/rolePolicy:RolePolicy", "llm-aws-lab-autoscaler-access"))
    scale = next(st for st in policy["Statement"] if "autoscaling:SetDesiredCapacity" in st["Action"])
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/llm-aws-lab": "owned"}}


# ---- every resource


def _takes_tags(type_token: str) -> bool:
    module, name = type_token.split(":")[1].split("/")[0], type_token.split(":")[2]
    sdk = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
    return "tags" in inspect.signature(getattr(sdk, name)._internal_init).parameters


@pytest.mark.parametrize("which", ["dev", "prod", "byo"])
def test_tags_on_every_aws_resource_that_takes_them(stacks, which):
    p = {"dev": dev, "prod": lambda: prod(stacks), "byo": lambda: byo(stacks)}[which]()
    env = {"dev": "aws-lab", "prod": "prod", "byo": "byo"}[which]
    checked = 0
    for step in p.resources("aws:"):
        if _takes_tags(step.type):
            tags = step.inputs.get("tags") or {}
            assert tags.get("llmcloud-stack") == f"{env}-aws", step.urn
            assert tags.get("llmcloud-environment") == env and tags.get("team") == "ml-platform", step.urn
            checked += 1
    assert checked >= 10
    provider = one(p, "pulumi:providers:aws").inputs
    assert provider["region"] == "us-east-1"
    assert f"{env}-aws" in str(provider["defaultTags"])


def test_every_aws_resource_is_inside_a_component_with_the_aws_provider():
    p = dev()
    components = {s.urn for s in p.steps if not s.custom}
    for step in p.resources("aws:"):
        assert step.parent in components, f"{step.urn} is not inside a component"
        assert step.provider.endswith("pulumi:providers:aws::aws"), step.urn


def test_platform_outputs():
    out = dev().outputs
    assert out["cloud"] == "aws" and out["region"] == "us-east-1"
    assert out["buckets"] == {"weights": "s3://llmcloud-aws-lab-aws-weights-123456789012"}
    assert out["cluster_name"] == "llm-aws-lab"


def test_network_is_padded_to_the_two_azs_eks_needs(tmp_path):
    import ipaddress

    from helpers import resolved
    from llmcloud.components.aws.network import subnet_cidrs
    from llmcloud.components.aws.zones import network_azs

    (tmp_path / "base.yaml").write_text((REPO / "stacks" / "base.yaml").read_text())
    stack = tmp_path / "trn2.yaml"
    stack.write_text(
        "extends: base.yaml\ncloud: aws\naws: {region: us-east-2}\n"
        "node_pools:\n  t: {accelerator: Trainium2, accelerators_per_node: 16,\n"
        "      capacity_reservation: cr-0123456789abcdef0}\n"
    )
    r = resolved(stack)
    assert r.node_pools["t"].zones == ("use2-az1",)  # Trainium2: one AZ in the catalog
    assert network_azs(r) == ("use2-az1", "use2-az2")
    private, public = subnet_cidrs("10.0.0.0/16", 6)
    nets = [ipaddress.ip_network(c) for c in private + public]
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert all(n.subnet_of(ipaddress.ip_network("10.0.0.0/16")) for n in nets)
