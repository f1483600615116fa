"""Mock-runtime plans of the front door on each cloud: the product and its timeouts, streaming,
TLS (HTTPS only, HTTP refused or redirected), auth and keys as secrets only."""

from __future__ import annotations

import json

import pulumi
import pytest
from helpers import get, one, plan, repo_plan
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
    assert get(one(p, "kubernetes:networking.gke.io/v1:HealthCheckPolicy").inputs,
               "spec.default.config.httpHealthCheck.port") == gw.HEALTH_PORT
    assert one(p, "gcp:compute/sSLPolicy:SSLPolicy").inputs["minTlsVersion"] == "TLS_1_2"
    cert = one(p, "gcp:certificatemanager/certificate:Certificate")
    assert get(cert.inputs, "managed.domains") == ["api.example.com"]
    assert one(p, "gcp:secretmanager/secretVersion:SecretVersion").inputs["secretData"] == SECRET
    route = one(p, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert get(route.inputs, "spec.rules.0.backendRefs.0") == {"name": gw.NAME, "port": gw.API_PORT}


def test_aws_alb_idle_timeout_tls_and_redirect():
    p = repo_plan("aws-example")
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
    assert svc.inputs["spec"]["type"] == "NodePort"
    # The internet-facing security group is the front door's (policy LLM-NET-001 allows it by name).
    assert all("gateway" in s.name for s in p.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if s.inputs.get("cidrIpv4") == "0.0.0.0/0")


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
    monkeypatch.setattr(module, "api_keys", lambda name, names, opts: {
        n: pulumi.Output.secret(f"{SENTINEL}{n}") for n in names})
    path = write_stack(f"""
        extends: base.yaml
        cloud: {cloud}
        gateway: {{keys: {{alice: {{rate_limit_per_minute: 30}}, bob: {{}}}}}}
        """)
    p = plan(path)
    assert SENTINEL not in json.dumps(p.to_json())
    assert p.outputs["api_keys"] == SECRET
