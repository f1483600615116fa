"""Mock-runtime plans of the front door on each cloud: the product and its timeouts, streaming,
TLS (HTTPS only, HTTP refused or redirected), auth and keys as secrets only."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
from helpers import get, one, plan, repo_plan, resolved
from llmcloud.components.cost import cost_for
from llmcloud.components.engine.plan import COMPUTED, SECRET
from llmcloud.components.k8s import gateway as gw

SENTINEL = "SENTINELKEY0123456789abcdefSENTINELKEY"


def _envoy_common(p):
    dep = [s for s in p.by_type("kubernetes:apps/v1:Deployment") if s.name.endswith("front-door-envoy-deployment")]
    assert len(dep) == 1
    spec = dep[0].inputs["spec"]
    assert spec["replicas"] == 2
    c = spec["template"]["spec"]["containers"][0]
    assert c["image"] == gw.ENVOY_IMAGE and c["resources"]["limits"]
    assert c["securityContext"]["runAsNonRoot"] is True and c["securityContext"]["allowPrivilegeEscalation"] is False
    config = [s for s in p.by_type("kubernetes:core/v1:Secret") if s.name.endswith("front-door-envoy-config")]
    assert config[0].inputs["stringData"] == SECRET  # the config holds the keys
    assert [s for s in p.by_type("kubernetes:policy/v1:PodDisruptionBudget") if "front-door-envoy" in s.name]
    assert p.outputs["api_keys"] == SECRET
    assert p.outputs["endpoint"] == "https://api.example.com"
    assert p.policy == {} or p.policy.get("mandatory", 0) == 0


def test_gcp_gke_gateway_https_only_with_long_backend_timeout():
    p = repo_plan("dev")
    _envoy_common(p)
    gateway = one(p, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    spec = gateway.inputs["spec"]
    assert spec["gatewayClassName"] == "gke-l7-global-external-managed"
    assert [(ln["protocol"], ln["port"]) for ln in spec["listeners"]] == [("HTTPS", 443)]  # no HTTP listener
    assert "networking.gke.io/certmap" in gateway.inputs["metadata"]["annotations"]
    policy = one(p, "kubernetes:networking.gke.io/v1:GCPBackendPolicy")
    assert get(policy.inputs, "spec.default.timeoutSec") == 900 + 60
    assert (
        get(
            one(p, "kubernetes:networking.gke.io/v1:HealthCheckPolicy").inputs,
            "spec.default.config.httpHealthCheck.port",
        )
        == gw.HEALTH_PORT
    )
    assert one(p, "gcp:compute/sSLPolicy:SSLPolicy").inputs["minTlsVersion"] == "TLS_1_2"
    cert = one(p, "gcp:certificatemanager/certificate:Certificate")
    assert get(cert.inputs, "managed.domains") == ["api.example.com"]
    assert one(p, "gcp:secretmanager/secretVersion:SecretVersion").inputs["secretData"] == SECRET
    route = one(p, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert get(route.inputs, "spec.rules.0.backendRefs.0") == {"name": gw.NAME, "port": gw.API_PORT}


def test_aws_alb_idle_timeout_tls_and_redirect(write_stack):
    # With a hosted zone (issue 18): without one the HTTPS listener waits for the certificate (a later up).
    stacks = Path(__file__).resolve().parents[3] / "stacks"
    p = plan(
        write_stack(
            (stacks / "aws-example.yaml").read_text() + "\ngateway: {dns_zone: Z0123456789ABCDEFGHIJ}\n", name="zoned"
        )
    )
    _envoy_common(p)
    alb = one(p, "aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["loadBalancerType"] == "application" and alb.inputs["idleTimeout"] == 960
    assert alb.inputs["dropInvalidHeaderFields"] is True
    listeners = {s.inputs["port"]: s.inputs for s in p.by_type("aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS" and listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    redirect = listeners[80]["defaultActions"][0]
    assert redirect["type"] == "redirect" and redirect["redirect"]["protocol"] == "HTTPS"
    assert one(p, "aws:secretsmanager/secretVersion:SecretVersion").inputs["secretString"] == SECRET
    svc = next(s for s in p.by_type("kubernetes:core/v1:Service") if s.name.endswith("front-door-envoy-service"))
    assert svc.inputs["spec"]["type"] == "ClusterIP"  # IP targets: the Load Balancer Controller registers pods
    # The internet-facing security group is the front door's (policy LLM-NET-001 allows it by name).
    assert all(
        "gateway" in s.name
        for s in p.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if s.inputs.get("cidrIpv4") == "0.0.0.0/0"
    )


def test_azure_load_balancer_tls_at_envoy_no_port_80():
    p = repo_plan("azure-example")
    _envoy_common(p)
    svc = next(s for s in p.by_type("kubernetes:core/v1:Service") if s.name.endswith("front-door-envoy-service"))
    spec = svc.inputs["spec"]
    assert spec["type"] == "LoadBalancer" and [x["port"] for x in spec["ports"]] == [443]
    annotations = svc.inputs["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"] == "16"
    vault = one(p, "azure-native:keyvault:Vault")
    assert get(vault.inputs, "properties.enableRbacAuthorization") is True
    assert get(vault.inputs, "properties.enablePurgeProtection") is True
    # Unknown until the key is generated, and a secret: never a value in the plan.
    assert get(one(p, "azure-native:keyvault:Secret").inputs, "properties.value") in (SECRET, COMPUTED)
    cert = one(p, "kubernetes:cert-manager.io/v1:Certificate")
    assert get(cert.inputs, "spec.dnsNames") == ["api.example.com"]


@pytest.mark.parametrize("cloud", ["gcp", "aws", "azure"])
def test_key_values_never_reach_the_plan(cloud, write_stack, monkeypatch):
    import importlib

    module = importlib.import_module(f"llmcloud.components.{cloud}.front_door")
    monkeypatch.setattr(
        module, "api_keys", lambda name, names, opts: {n: pulumi.Output.secret(f"{SENTINEL}{n}") for n in names}
    )
    path = write_stack(f"""
        extends: base.yaml
        cloud: {cloud}
        gateway: {{keys: {{alice: {{rate_limit_per_minute: 30}}, bob: {{}}}}}}
        """)
    p = plan(path)
    assert SENTINEL not in json.dumps(p.to_json())
    assert p.outputs["api_keys"] == SECRET


def test_aws_managed_rest_api_streams_through_a_vpc_link(write_stack):
    """kind managed on AWS: a REST API whose integration streams (STREAM, 900 s) through a VPC link to an
    internal NLB in front of the same Envoy; only the custom domain (TLS 1.2) answers."""
    stacks = Path(__file__).resolve().parents[3] / "stacks"
    file = write_stack(
        (stacks / "aws-example.yaml").read_text() + "\ngateway: {kind: managed, dns_zone: Z0123456789ABCDEFGHIJ}\n",
        name="managed",
    )
    p = plan(file)
    _envoy_common(p)
    integration = one(p, "aws:apigateway/integration:Integration").inputs
    assert integration["responseTransferMode"] == "STREAM" and integration["timeoutMilliseconds"] == 900_000
    assert integration["type"] == "HTTP_PROXY" and integration["connectionType"] == "VPC_LINK"
    paths = sorted(r.inputs["pathPart"] for r in p.by_type("aws:apigateway/resource:Resource"))
    assert paths == ["v1", "{proxy+}"]  # /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models
    api = one(p, "aws:apigateway/restApi:RestApi").inputs
    assert api["disableExecuteApiEndpoint"] is True and api["endpointConfiguration"] == {"types": "REGIONAL"}
    domain = one(p, "aws:apigateway/domainName:DomainName").inputs
    assert domain["securityPolicy"] == "TLS_1_2" and domain["domainName"] == "api.example.com"
    nlb = one(p, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert nlb["loadBalancerType"] == "network" and nlb["internal"] is True
    throttle = one(p, "aws:apigateway/methodSettings:MethodSettings").inputs["settings"]
    assert throttle["throttlingRateLimit"] == 10  # the keys' 600 requests a minute, in requests a second
    assert not p.by_type("aws:apigatewayv2/api:Api")  # never an HTTP API (30 s, no streaming)
    lines = {(ln["resource"], ln["sku"]): ln for ln in cost_for(p, resolved(file))["lines"]}
    requests = lines[("front_door", "API Gateway REST API requests")]
    assert requests["monthly"]["expected"] == 3.5  # 1 M requests (usage default) × $3.50


def test_azure_managed_api_management_streams_within_240_s(write_stack):
    """kind managed on Azure: API Management StandardV2 (never Consumption), the API imported from the
    generated OpenAPI document, a policy that forwards without buffering for up to 240 s and limits each
    key, and an internal load balancer in front of Envoy reached through a delegated subnet."""
    from openapi_spec_validator import validate

    stacks = Path(__file__).resolve().parents[3] / "stacks"
    file = write_stack(
        (stacks / "azure-example.yaml").read_text() + "\ngateway: {kind: managed, request_timeout_seconds: 240}\n",
        name="managed",
    )
    p = plan(file)
    assert p.outputs["api_keys"] == SECRET
    service = one(p, "azure-native:apimanagement:ApiManagementService").inputs
    assert service["sku"] == {"name": "StandardV2", "capacity": 1}
    assert service["virtualNetworkType"] == "External"
    subnet = next(s for s in p.by_type("azure-native:network:Subnet") if s.inputs.get("delegations"))
    assert subnet.inputs["delegations"] == [{"name": "apim", "serviceName": "Microsoft.Web/serverFarms"}]
    api = one(p, "azure-native:apimanagement:Api").inputs
    assert api["protocols"] == ["https"] and api["format"] == "openapi+json"
    validate(json.loads(api["value"]))  # the imported document is a valid OpenAPI 3 document
    policy = one(p, "azure-native:apimanagement:ApiPolicy").inputs["value"]
    assert '<forward-request timeout="240" buffer-response="false" />' in policy
    assert '<rate-limit-by-key calls="600" renewal-period="60"' in policy
    envoy = next(s for s in p.by_type("kubernetes:core/v1:Service") if s.name.endswith("front-door-envoy-service"))
    assert envoy.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"
    lines = {(ln["resource"], ln["sku"]): ln for ln in cost_for(p, resolved(file))["lines"]}
    assert lines[("front_door", "API Management StandardV2")]["unit_price"] > 0
    assert ("front_door", "Standard public IPv4 (front door)") not in lines  # an internal load balancer
