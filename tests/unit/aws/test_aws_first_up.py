"""Issue 18: the first `llmcloud up` on EKS cannot hang or be refused for reasons known before it starts.

Offline plans (mock runtime) of small stacks, asserted like policies: DNS and the certificate, AZ IDs,
EKS versions, the autoscaler's image, S3 lifecycle, Secrets Manager, the REST API's idle limit, IP
targets through the AWS Load Balancer Controller, and prod's independent records (flow logs, access
logs, WAF, key policy, encrypted control-plane logs, default security group, rule descriptions)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import textwrap
from pathlib import Path

import pytest
from helpers import get, one, plan, resolved
from llmcloud.components import catalog
from llmcloud.components.aws import versions, zones
from llmcloud.components.aws.front_door import REST_IDLE_NOTICE, dns_records, waf_rate_limit, zone_candidates
from llmcloud.components.spec import StackErrors, load_stack

REPO = Path(__file__).resolve().parents[3]
ZONE = "Z0123456789ABCDEFGHIJ"
STACKS = {
    "zoned": f"""
extends: base.yaml
environment: zoned
cloud: aws
cluster: {{kubernetes_version: "1.35"}}
gateway: {{domain: api.example.com, dns_zone: {ZONE}}}
node_pools:
  l4: {{accelerator: L4, max_nodes: 1}}
""",
    "nozone": """
extends: base.yaml
environment: nozone
cloud: aws
node_pools:
  l4: {accelerator: L4, max_nodes: 1}
""",
    "restapi": f"""
extends: base.yaml
environment: restapi
cloud: aws
gateway: {{kind: managed, domain: api.example.com, dns_zone: /hostedzone/{ZONE}}}
node_pools:
  l4: {{accelerator: L4, max_nodes: 1}}
""",
    "restpending": """
extends: base.yaml
environment: restpending
cloud: aws
gateway: {kind: managed, domain: api.example.com}
node_pools:
  l4: {accelerator: L4, max_nodes: 1}
""",
    "prod": """
extends: base.yaml
environment: prod
cloud: aws
cluster: {kubernetes_version: "1.36"}
node_pools:
  l4: {accelerator: L4, min_nodes: 1, max_nodes: 4}
""",
    "prodrest": """
extends: base.yaml
environment: prod
cloud: aws
cluster: {kubernetes_version: "1.36"}
gateway: {kind: managed, domain: api.example.com, dns_zone: Z0123456789ABCDEFGHIJ}
node_pools:
  l4: {accelerator: L4, min_nodes: 1, max_nodes: 4}
""",
}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stacks")
    (root / "base.yaml").write_text((REPO / "stacks" / "base.yaml").read_text())
    for name, text in STACKS.items():
        (root / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    return root


@functools.cache
def _plan(path: str):
    return plan(path)


def p_(stacks: Path, name: str):
    return _plan(str(stacks / f"{name}.yaml"))


# ---------------------------------------------------------------- 1. certificate and DNS


def test_schema_has_dns_zone_for_every_cloud():
    from llmcloud.components.spec.model import GatewaySpec

    field = GatewaySpec.model_fields["dns_zone"]
    assert field.default is None
    assert "Route 53 hosted zone id (aws)" in field.description and "(gcp)" in field.description
    assert "(azure)" in field.description


def test_with_a_hosted_zone_validation_and_endpoint_records_are_created_in_the_same_run(stacks):
    p = p_(stacks, "zoned")
    records = {s.name: s.inputs for s in p.by_type("aws:route53/record:Record")}
    validation = records["llm-zoned-front-door-gateway-cert-validation"]
    assert validation["zoneId"] == ZONE and validation["ttl"] == 300
    assert validation["allowOverwrite"] is True  # a second stack for the same name reuses ACM's record
    endpoint = records["llm-zoned-front-door-gateway-endpoint"]
    assert (endpoint["zoneId"], endpoint["name"], endpoint["type"]) == (ZONE, "api.example.com", "A")
    assert endpoint["aliases"][0]["evaluateTargetHealth"] is True
    # the validation waits on exactly that record (short: ACM sees it at once)
    wait = one(p, "aws:acm/certificateValidation:CertificateValidation").inputs
    assert wait["validationRecordFqdns"] == ["<computed>"]
    https = one(p, "aws:lb/listener:Listener", "llm-zoned-front-door-gateway-https").inputs
    assert https["port"] == 443 and https["certificateArn"] == "<computed>"
    redirect = one(p, "aws:lb/listener:Listener", "llm-zoned-front-door-gateway-http-redirect").inputs
    assert redirect["defaultActions"][0]["type"] == "redirect"
    assert not [n for n in p.notices if "no Route 53 hosted zone" in n]


def test_without_a_zone_nothing_waits_on_validation_and_the_records_are_named_first(stacks):
    p = p_(stacks, "nozone")
    assert not p.by_type("aws:acm/certificateValidation:CertificateValidation")
    assert not p.by_type("aws:route53/record:Record")
    # no HTTPS listener until the certificate is issued; port 80 says why instead of redirecting nowhere
    listeners = {s.name: s.inputs for s in p.by_type("aws:lb/listener:Listener")}
    assert set(listeners) == {"llm-nozone-front-door-gateway-http-redirect"}
    action = listeners["llm-nozone-front-door-gateway-http-redirect"]["defaultActions"][0]
    assert action["type"] == "fixed-response" and action["fixedResponse"]["statusCode"] == "503"
    [notice] = [n for n in p.notices if "no Route 53 hosted zone" in n]
    assert "gateway.dns_zone" in notice and "llmcloud outputs" in notice and "llmcloud up` again" in notice
    assert one(p, "aws:acm/certificate:Certificate").inputs["validationMethod"] == "DNS"


def test_outputs_show_the_records_and_the_pending_step():
    validation = {
        "resource_record_name": "_x.api.example.com.",
        "resource_record_type": "CNAME",
        "resource_record_value": "_y.acm-validations.aws.",
    }
    pending = dns_records("api.example.com", "gw-1.us-east-1.elb.amazonaws.com", validation, None, "add them")
    assert pending["certificate"] == {
        "name": "_x.api.example.com.",
        "type": "CNAME",
        "value": "_y.acm-validations.aws.",
    }
    assert pending["CNAME"] == {"api.example.com": "gw-1.us-east-1.elb.amazonaws.com"}
    assert pending["pending"] == "add them" and pending["managed_by_llmcloud"] is False
    done = dns_records("api.example.com", "gw", validation, ZONE, None)
    assert done["pending"] is None and done["managed_by_llmcloud"] is True and done["hosted_zone"] == ZONE


def test_zone_is_looked_up_by_the_domain_and_its_parents():
    assert zone_candidates("api.eu.example.com") == ["api.eu.example.com", "eu.example.com", "example.com"]
    assert zone_candidates("example.com") == ["example.com"]  # never the top-level domain


def test_rest_api_with_a_zone_gets_its_custom_domain_and_alias(stacks):
    p = p_(stacks, "restapi")
    domain = one(p, "aws:apigateway/domainName:DomainName").inputs
    assert domain["domainName"] == "api.example.com"
    records = {s.name: s.inputs for s in p.by_type("aws:route53/record:Record")}
    assert records["llm-restapi-front-door-gateway-endpoint"]["zoneId"] == ZONE  # /hostedzone/ prefix dropped


def test_rest_api_without_a_zone_leaves_the_custom_domain_for_later(stacks):
    p = p_(stacks, "restpending")
    assert not p.by_type("aws:apigateway/domainName:DomainName")
    assert not p.by_type("aws:apigateway/basePathMapping:BasePathMapping")
    assert one(p, "aws:apigateway/restApi:RestApi")  # everything else is built
    assert any("the API's custom domain" in n for n in p.notices)


def test_dns_zone_must_be_a_hosted_zone_id_on_aws(write_stack):
    loaded = load_stack(
        str(
            write_stack("""
extends: base.yaml
cloud: aws
gateway: {domain: api.example.com, dns_zone: example.com}
""")
        )
    )
    with pytest.raises(StackErrors) as err:
        from llmcloud.components import resolve

        resolve.resolve(loaded)
    [e] = [e.render() for e in err.value.errors]
    assert "gateway.dns_zone" in e and "Route 53 hosted zone id" in e


# ---------------------------------------------------------------- 2. AZ IDs


def test_catalog_zones_are_az_ids():
    cat = catalog.load("aws")
    for region, azs in cat.regions.items():
        for az in azs:
            assert az.split("-az")[0].isalnum() and az.rsplit("-az", 1)[1].isdigit(), (region, az)
    assert "use1-az3" in cat.regions["us-east-1"]  # offered there, but no subnet of ours goes there


def test_network_excludes_eks_control_plane_ids_and_uses_at_most_three(write_stack):
    r = resolved(
        write_stack("""
extends: base.yaml
cloud: aws
node_pools:
  h100: {accelerator: H100, accelerators_per_node: 8}
  l4: {accelerator: L4}
  t4: {accelerator: T4}
""")
    )
    azs = zones.network_azs(r)
    assert 2 <= len(azs) <= zones.MAX_AZS == 3
    assert "use1-az3" not in azs  # H100 is offered in use1-az3, where EKS places no control plane
    assert all(set(p.zones) & set(azs) for p in r.node_pools.values())


def test_listing_an_excluded_az_id_is_refused(write_stack):
    loaded = load_stack(
        str(
            write_stack("""
extends: base.yaml
cloud: aws
aws: {region: us-east-1, zones: [use1-az3, use1-az4]}
node_pools:
  h100: {accelerator: H100, accelerators_per_node: 8}
""")
        )
    )
    from llmcloud.components import resolve

    with pytest.raises(StackErrors) as err:
        resolve.resolve(loaded)
    [e] = [e.render() for e in err.value.errors]
    assert "aws.zones[0]" in e and "EKS places no control plane in use1-az3" in e


def test_preflight_asks_for_offerings_by_az_id():
    try:  # issue 13 moves the module into components/aws/
        from llmcloud.components.aws.preflight import offered_zones
    except ImportError:
        from llmcloud.components.preflight.aws import offered_zones

    class Ec2:
        def __init__(self):
            self.calls = []

        def describe_instance_type_offerings(self, **kwargs):
            self.calls.append(kwargs)
            return {"InstanceTypeOfferings": [{"Location": "use1-az1"}, {"Location": "use1-az6"}]}

    ec2 = Ec2()
    assert offered_zones(ec2, "g6.xlarge") == {"use1-az1", "use1-az6"}
    assert ec2.calls[0]["LocationType"] == "availability-zone-id"


# ---------------------------------------------------------------- 3. EKS versions


def test_default_version_is_the_newest_in_standard_support(stacks):
    p = p_(stacks, "nozone")
    newest = catalog.load("aws").service("eks_versions")["newest"]
    assert one(p, "aws:eks/cluster:Cluster").inputs["version"] == newest == "1.36"
    assert p.outputs["kubernetes_version"] == newest


@pytest.mark.parametrize(
    ("today", "warns"),
    [
        ("2026-10-02", False),
        ("2026-10-03", True),
        ("2026-12-01", True),
        ("2026-12-02", True),
        ("2026-12-03", False),
    ],
)
def test_pin_warns_60_days_before_standard_support_ends(today, warns):
    table = catalog.load("aws").service("eks_versions")
    message = versions.support_warning("1.34", table, dt.date.fromisoformat(today), prod=False)
    assert (message is not None) is warns
    if warns:
        assert "1.34 ends on 2026-12-02" in message and "EKS upgrades the cluster itself" in message
        assert 'kubernetes_version to "1.36"' in message
    assert versions.support_warning("1.36", table, dt.date.fromisoformat(today), prod=False) is None


def test_prod_warning_names_the_extended_support_fee():
    table = catalog.load("aws").service("eks_versions")
    message = versions.support_warning("1.34", table, dt.date(2026, 11, 1), prod=True)
    assert "$0.60" in message


def test_the_warning_reaches_the_plan(write_stack, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_TODAY", "2026-11-15")
    p = plan(
        write_stack("""
extends: base.yaml
cloud: aws
cluster: {kubernetes_version: "1.34"}
node_pools:
  l4: {accelerator: L4, max_nodes: 1}
""")
    )
    assert any("EKS standard support for Kubernetes 1.34 ends on 2026-12-02 (in 17 days)" in n for n in p.notices)


def test_versions_that_left_extended_support_are_refused(write_stack):
    loaded = load_stack(
        str(
            write_stack("""
environment: prod
extends: base.yaml
cloud: aws
cluster: {kubernetes_version: "1.31"}
""")
        )
    )
    from llmcloud.components import resolve

    with pytest.raises(StackErrors) as err:
        resolve.resolve(loaded)
    assert "Kubernetes 1.31 is no longer offered by EKS" in err.value.errors[0].render()


def test_bundled_stack_pins_a_version_in_standard_support():
    import yaml

    pinned = yaml.safe_load((REPO / "stacks" / "aws-example.yaml").read_text())["cluster"]["kubernetes_version"]
    table = catalog.load("aws").service("eks_versions")
    assert tuple(map(int, pinned.split("."))) >= tuple(map(int, table["standard_min"].split(".")))
    assert versions.support_warning(pinned, table, dt.date(2026, 12, 1), prod=False) is None


# ---------------------------------------------------------------- 5, 7, 9: secrets, autoscaler, lifecycle


@pytest.mark.parametrize(("name", "window"), [("nozone", 0), ("prod", 7)])
def test_api_key_secret_recovery_window(stacks, name, window):
    secret = one(p_(stacks, name), "aws:secretsmanager/secret:Secret").inputs
    assert secret["recoveryWindowInDays"] == window  # 0: destroy then up works the same day


def test_autoscaler_image_follows_the_cluster_minor(stacks):
    from llmcloud.components.k8s.cluster_autoscaler import IMAGE_TAGS, image_tag

    for name, minor in (("zoned", "1.35"), ("nozone", "1.36")):
        release = next(
            s
            for s in p_(stacks, name).by_type("kubernetes:helm.sh/v3:Release")
            if s.inputs.get("name") == "cluster-autoscaler"
        )
        image = release.inputs["values"]["image"]
        assert image == {"repository": "registry.k8s.io/autoscaling/cluster-autoscaler", "tag": IMAGE_TAGS[minor]}
        assert image["tag"].startswith(f"v{minor}.")
    assert image_tag("1.40") == IMAGE_TAGS["1.36"] and image_tag("1.31") == IMAGE_TAGS["1.32"]


def test_autoscaler_keeps_pod_identity_and_tag_scoped_policy(stacks):
    p = p_(stacks, "nozone")
    assoc = [
        s.inputs
        for s in p.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if s.inputs["serviceAccount"] == "cluster-autoscaler"
    ]
    assert assoc and assoc[0]["namespace"] == "kube-system"
    policy = json.loads(one(p, "aws:iam/rolePolicy:RolePolicy", "llm-nozone-autoscaler-access").inputs["policy"])
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleOwnGroups")
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/llm-nozone": "owned"}}


def test_noncurrent_versions_all_expire_and_delete_markers_are_cleaned(stacks):
    lifecycle = one(
        p_(stacks, "nozone"),
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "llm-nozone-weights-lifecycle",
    ).inputs
    rules = {r["id"]: r for r in lifecycle["rules"]}
    old = rules["expire-old-versions"]
    assert old["noncurrentVersionExpiration"] == {"noncurrentDays": 30}  # no newer_noncurrent_versions: none kept
    assert old["expiration"] == {"expiredObjectDeleteMarker": True}
    beyond_three = rules["keep-three-old-versions"]["noncurrentVersionExpiration"]
    assert beyond_three == {"noncurrentDays": 1, "newerNoncurrentVersions": 3}
    assert all(r["status"] == "Enabled" for r in rules.values())


# ---------------------------------------------------------------- 10. REST API idle limit


def test_rest_api_warns_of_the_5_minute_idle_cut(stacks):
    assert REST_IDLE_NOTICE in p_(stacks, "restapi").notices  # request_timeout_seconds 900 > 300


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("request_timeout_seconds: 1200", "is cut at 15 minutes (900 s)"),
        ("streaming: false, request_timeout_seconds: 60", "times out at 29 s"),
    ],
)
def test_rest_api_refuses_timeouts_it_cannot_hold(write_stack, extra, fragment):
    loaded = load_stack(
        str(
            write_stack(f"""
extends: base.yaml
cloud: aws
gateway: {{kind: managed, domain: api.example.com, {extra}}}
""")
        )
    )
    from llmcloud.components import resolve

    with pytest.raises(StackErrors) as err:
        resolve.resolve(loaded)
    assert any(fragment in e.render() for e in err.value.errors)


# ---------------------------------------------------------------- 11. targets through the controller


@pytest.mark.parametrize("name", ["nozone", "restapi"])
def test_targets_are_envoy_pods_registered_by_the_load_balancer_controller(stacks, name):
    p = p_(stacks, name)
    assert not p.by_type("aws:autoscaling/attachment:Attachment")  # nothing attached to a node group's ASG
    [tg] = p.by_type("aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["targetType"] == "ip" and tg.inputs["port"] == 8080
    assert tg.inputs["healthCheck"]["port"] == "8081"
    binding = one(p, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding").inputs
    assert binding["spec"]["targetType"] == "ip" and binding["spec"]["serviceRef"]["port"] == 8080
    assert "networking" not in binding["spec"]  # llmcloud writes the security group rules itself
    controller = next(
        s for s in p.by_type("kubernetes:helm.sh/v3:Release") if s.inputs.get("name") == "aws-load-balancer-controller"
    )
    values = controller.inputs["values"]
    assert values["region"] == "us-east-1" and values["vpcId"]  # never asks IMDS (hop limit 1)
    assert values["enableServiceMutatorWebhook"] is False
    service = next(s for s in p.by_type("kubernetes:core/v1:Service") if "front-door" in s.urn)
    assert service.inputs["spec"]["type"] == "ClusterIP"


def test_controller_may_only_change_this_stacks_target_groups(stacks):
    p = p_(stacks, "nozone")
    policy = json.loads(
        one(p, "aws:iam/rolePolicy:RolePolicy", "llm-nozone-front-door-lbc-identity-access").inputs["policy"]
    )
    register = next(s for s in policy["Statement"] if s["Sid"] == "RegisterOwnTargets")
    assert register["Resource"].endswith(":targetgroup/nozone-aws-gw*/*")
    actions = {
        a for s in policy["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert not [a for a in actions if "SecurityGroup" in a and not a.startswith("ec2:Describe")]
    assert not [a for a in actions if a.startswith("elasticloadbalancing:Create")]


# ---------------------------------------------------------------- 12. prod's independent records


def test_prod_vpc_has_flow_logs_and_a_default_sg_without_rules(stacks):
    p = p_(stacks, "prod")
    flow = one(p, "aws:ec2/flowLog:FlowLog").inputs
    assert flow["trafficType"] == "ALL" and flow["logDestinationType"] == "s3"
    sg = one(p, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert "ingress" not in sg and "egress" not in sg
    assert one(p_(stacks, "nozone"), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")  # every new VPC
    assert not p_(stacks, "nozone").by_type("aws:ec2/flowLog:FlowLog")  # flow logs cost money: prod only


def test_prod_weights_and_alb_log_to_the_audit_bucket(stacks):
    p = p_(stacks, "prod")
    logging = one(p, "aws:s3/bucketLogging:BucketLogging").inputs
    assert logging["targetPrefix"] == "s3-access/weights/"
    alb = one(p, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["accessLogs"]["enabled"] is True and alb["accessLogs"]["prefix"] == "alb"
    assert alb["enableDeletionProtection"] is True
    audit = {s.type.split(":")[-1]: s.inputs for s in p.resources("aws:s3/") if "audit-logs" in s.name}
    rule = audit["BucketServerSideEncryptionConfiguration"]["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}  # what log delivery accepts
    policy = json.loads(audit["BucketPolicy"]["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert {"DenyInsecureTransport", "FlowLogsWrite", "S3AccessLogsWrite", "AlbLogsWrite"} <= set(sids)
    assert sids["S3AccessLogsWrite"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert not p_(stacks, "nozone").by_type("aws:s3/bucketLogging:BucketLogging")


@pytest.mark.parametrize(("name", "target"), [("prod", "loadbalancer"), ("prodrest", "restapi")])
def test_prod_waf_has_rate_and_ip_reputation_rules(stacks, name, target):
    p = p_(stacks, name)
    acl = one(p, "aws:wafv2/webAcl:WebAcl").inputs
    assert acl["scope"] == "REGIONAL" and "allow" in acl["defaultAction"]
    rules = {r["name"]: r for r in acl["rules"]}
    managed = rules["ip-reputation"]["statement"]["managedRuleGroupStatement"]
    assert managed == {"vendorName": "AWS", "name": "AWSManagedRulesAmazonIpReputationList"}
    rate = rules["rate-per-ip"]["statement"]["rateBasedStatement"]
    assert rate["aggregateKeyType"] == "IP" and rate["limit"] == 3000  # 600/min × 5 min
    assert "block" in rules["rate-per-ip"]["action"]
    association = one(p, "aws:wafv2/webAclAssociation:WebAclAssociation").inputs
    if target == "restapi":
        assert ":/restapis/" in association["resourceArn"] or association["resourceArn"] == "<computed>"
    assert not p_(stacks, "nozone").by_type("aws:wafv2/webAcl:WebAcl")


def test_waf_rate_limit_has_a_floor():
    from llmcloud.components.gateway_checks import ResolvedGateway

    g = ResolvedGateway(
        cloud="aws",
        kind="load_balancer",
        product="ALB",
        auth="api_key",
        keys={"a": 1},
        rate_limit_per_minute=1,
        request_timeout_seconds=900,
        streaming=True,
        domain="api.example.com",
        allowed_cidrs=(),
        models=(),
    )
    assert waf_rate_limit(g) == 100


def test_secrets_key_has_an_explicit_policy_and_encrypts_the_control_plane_logs(stacks):
    p = p_(stacks, "prod")
    key = one(p, "aws:kms/key:Key").inputs
    policy = json.loads(key["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["AccountAdministers"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    logs = sids["ControlPlaneLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/eks/llm-prod/cluster"
    )
    assert all(s["Principal"] != "*" for s in policy["Statement"])
    assert one(p, "aws:cloudwatch/logGroup:LogGroup").inputs["kmsKeyId"] == "<computed>"


def test_every_security_group_rule_has_a_description(stacks):
    for name in ("prod", "restapi"):
        p = p_(stacks, name)
        rules = p.resources("aws:vpc/securityGroup")
        assert rules
        for rule in rules:
            assert rule.inputs.get("description"), rule.name


def test_prod_records_and_waf_are_priced(stacks):
    from llmcloud.components.cost import cost_for

    p = p_(stacks, "prod")
    cost = cost_for(p, resolved(stacks / "prod.yaml"))
    lines = {(ln["resource"], ln["sku"]): ln["monthly"]["expected"] for ln in cost["lines"]}
    assert lines[("front_door.waf", "WAFv2 web ACL")] == 5.0
    assert lines[("front_door.waf", "WAFv2 rules")] == 2.0
    assert lines[("front_door.waf", "WAFv2 requests")] == 0.6
    assert lines[("network.flow_logs", "VPC flow logs to S3")] == 5.0  # 20 GB × 0.25
    assert lines[("audit_logs", "S3 Standard (audit logs)")] == 0.69  # 30 GB × 0.023
    assert cost["unpriced"] == []


def test_the_flow_log_resource_is_in_the_plan_under_get(stacks):
    flow = one(p_(stacks, "prod"), "aws:ec2/flowLog:FlowLog").inputs
    assert get(flow, "maxAggregationInterval") == 600


# ---- bucket names cut to the cloud's length


@pytest.mark.parametrize(("cloud", "clash"), [("aws", True), ("gcp", True), ("azure", False)])
def test_two_bucket_keys_that_would_share_a_name_are_refused(write_stack, cloud, clash):
    """S3 keeps 50 characters before '-<account id>', GCS 63: a long stack name and keys alike at their start
    would give two buckets one name, and the second create would fail on `up`. Azure hashes each key's name."""
    env = "abcdefghij-abcdefghij-abcdefgh"
    accelerator = "A10" if cloud == "azure" else "L4"
    text = f"""
    extends: base.yaml
    environment: {env}
    cloud: {cloud}
    buckets:
      weights-abcdefghij-abcdefghij1: {{}}
      weights-abcdefghij-abcdefghij2: {{}}
    node_pools:
      l4: {{accelerator: {accelerator}, max_nodes: 1}}
    """
    path = write_stack(text, name=env)
    if not clash:
        resolved(path)
        return
    with pytest.raises(StackErrors) as exc:
        resolved(path)
    messages = [e.message for e in exc.value.errors]
    assert any("would both be named" in m and "weights-abcdefghij-abcdefghij2" in m for m in messages), messages


def test_a_node_group_name_eks_would_refuse_is_refused_before_up(write_stack):
    """EKS refuses node group names over 63 characters; Pulumi names them llm-<environment>-<pool> with '-' and 7
    random characters (pulumi-aws allows 255 for this name, so nothing shortens it)."""
    env = "abcdefghij-abcdefghij-abcdefgh"
    text = f"""
    extends: base.yaml
    environment: {env}
    cloud: aws
    node_pools:
      l4-spot-abcdefghij-a: {{accelerator: L4, max_nodes: 1}}
      l4-spot-abcdefghij-ab: {{accelerator: L4, max_nodes: 1}}
    """
    with pytest.raises(StackErrors) as exc:
        resolved(write_stack(text, name=env))
    (error,) = [e for e in exc.value.errors if "EKS allows 63" in e.message]  # the 20-character pool fits
    assert error.path == ("node_pools", "l4-spot-abcdefghij-ab") and "at most 20 characters" in error.allowed
