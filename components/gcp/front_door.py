"""GcpFrontDoor: the HTTPS endpoint of the models on Google Cloud (README, "The front door").

kind load_balancer (the default): the GKE Gateway API (`gke-l7-global-external-managed`, a global
external Application Load Balancer) in front of the in-cluster Envoy gateway (k8s/gateway.py):
- an HTTPS listener only: nothing listens on port 80, so plain HTTP is refused;
- a Google-managed certificate (Certificate Manager, DNS authorization) for gateway.domain, attached
  through a certificate map; an SSL policy with TLS 1.2 at least;
- GCPBackendPolicy timeoutSec = request_timeout_seconds + 60: the backend service timeout bounds the
  whole streamed response on this load balancer, and Envoy answers first;
- a Cloud Armor policy when gateway.allowed_cidrs is set.
https://cloud.google.com/kubernetes-engine/docs/how-to/configure-gateway-resources

kind managed (GCP API Gateway) is refused by gateway_checks for anything that streams or runs longer
than 15 s, so an LLM stack never gets one; it is not built (UNSUPPORTED below).
API keys: generated (pulumi_random), kept in Secret Manager, handed to Envoy as a Kubernetes Secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from ..gateway_checks import ResolvedGateway
from ..k8s.gateway import API_PORT, HEALTH_PORT, NAME, ApiGateway, ApiGatewayArgs, api_keys
from . import GcpFrontDoorInputs
from .checks import armor_rule_ranges

GATEWAY_CLASS = "gke-l7-global-external-managed"
UNSUPPORTED = {"managed": "GCP API Gateway cannot stream and cuts backends at 15 s by default"}


@dataclass(frozen=True)
class GcpFrontDoorArgs:
    gateway: ResolvedGateway
    project: str
    namespace: str
    stack_name: str
    labels: dict[str, str] = field(default_factory=dict)  # cloud labels
    k8s_labels: dict[str, str] = field(default_factory=dict)
    services: tuple[Any, ...] = ()  # the enabled APIs (Secret Manager, Certificate Manager, Compute)


def armor_rules(allowed_cidrs: tuple[str, ...]) -> list[gcp.compute.SecurityPolicyRuleArgs]:
    """Allow allowed_cidrs, deny the rest. A rule holds at most 10 ranges: one allow rule per 10."""

    def rule(priority: int, action: str, ranges: list[str]) -> gcp.compute.SecurityPolicyRuleArgs:
        return gcp.compute.SecurityPolicyRuleArgs(
            priority=priority,
            action=action,
            match=gcp.compute.SecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1", config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=ranges)
            ),
        )

    return [
        *(rule(1000 + i, "allow", group) for i, group in enumerate(armor_rule_ranges(allowed_cidrs))),
        rule(2147483647, "deny(403)", ["*"]),
    ]


def secret_id(stack_name: str, key: str) -> str:
    return f"llmcloud-{stack_name}-api-key-{key}"[:255]


def gateway_manifest(g: ResolvedGateway, namespace: str, address: str, certmap: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": NAME, "namespace": namespace, "annotations": {"networking.gke.io/certmap": certmap}},
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            # HTTPS only: no HTTP listener, so the load balancer has no port-80 forwarding rule.
            "listeners": [
                {"name": "https", "protocol": "HTTPS", "port": 443, "allowedRoutes": {"namespaces": {"from": "Same"}}}
            ],
            "addresses": [{"type": "NamedAddress", "value": address}],
        },
    }


def http_route(g: ResolvedGateway, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": NAME, "sectionName": "https"}],
            "hostnames": [g.domain] if g.domain else [],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v1/"}}],
                    "backendRefs": [{"name": NAME, "port": API_PORT}],
                }
            ],
        },
    }


def backend_policy(g: ResolvedGateway, namespace: str, armor: str | None) -> dict[str, Any]:
    default: dict[str, Any] = {
        "timeoutSec": g.idle_timeout_seconds,
        "connectionDraining": {"drainingTimeoutSec": min(g.request_timeout_seconds, 3600)},
        "logging": {"enabled": True, "sampleRate": 100000},
    }
    if armor:
        default["securityPolicy"] = armor
    return {
        "apiVersion": "networking.gke.io/v1",
        "kind": "GCPBackendPolicy",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {"default": default, "targetRef": {"group": "", "kind": "Service", "name": NAME}},
    }


def health_check_policy(namespace: str) -> dict[str, Any]:
    # portSpecification USE_FIXED_PORT with the port: the CRD's validation rules refuse a port with no
    # portSpecification, which they read as USE_SERVING_PORT (gke-gateway-api networking.gke.io_healthcheckpolicies:
    # "port and portName must be unset for portSpecification being USE_SERVING_PORT (which is the default)").
    check = {"portSpecification": "USE_FIXED_PORT", "port": HEALTH_PORT, "requestPath": "/healthz"}
    return {
        "apiVersion": "networking.gke.io/v1",
        "kind": "HealthCheckPolicy",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "default": {"config": {"type": "HTTP", "httpHealthCheck": check}},
            "targetRef": {"group": "", "kind": "Service", "name": NAME},
        },
    }


def gateway_policy(namespace: str, ssl_policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.gke.io/v1",
        "kind": "GCPGatewayPolicy",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "default": {"sslPolicy": ssl_policy},
            "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": NAME},
        },
    }


def _custom(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


class GcpFrontDoor(pulumi.ComponentResource):
    """Outputs: endpoint, api_keys (secret), dns_records."""

    def __init__(
        self,
        name: str,
        args: GcpFrontDoorArgs,
        provider: Any,
        k8s_provider: Any,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmcloud:gcp:FrontDoor", name, None, opts)
        g = args.gateway
        if g.kind in UNSUPPORTED:  # gateway_checks refuses it first; this guards direct use
            raise ValueError(f"gateway.kind {g.kind} on gcp: {UNSUPPORTED[g.kind]}")
        cloud = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(args.services) or None)
        # the front door's depends_on reaches its children (they do not inherit it: pulumi/pulumi#8721)
        on_cluster = pulumi.ResourceOptions(
            parent=self, provider=k8s_provider, depends_on=list((opts.depends_on if opts else None) or [])
        )
        labels = args.labels

        keys = api_keys(name, g.key_names, pulumi.ResourceOptions(parent=self))
        for key, value in keys.items():
            secret = gcp.secretmanager.Secret(
                f"{name}-key-{key}-secret",
                secret_id=secret_id(args.stack_name, key),
                labels=labels,
                replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
                opts=cloud,
            )
            gcp.secretmanager.SecretVersion(
                f"{name}-key-{key}-version", secret=secret.id, secret_data=value, opts=cloud
            )

        envoy = ApiGateway(
            f"{name}-envoy",
            ApiGatewayArgs(gateway=g, namespace=args.namespace, keys=keys, labels=args.k8s_labels),
            on_cluster,
        )

        address = gcp.compute.GlobalAddress(
            f"{name}-gateway-ip", name=f"{args.stack_name}-gateway"[:63], labels=labels, opts=cloud
        )
        assert g.domain is not None  # gateway_checks: load_balancer needs a domain
        auth = gcp.certificatemanager.DnsAuthorization(
            f"{name}-gateway-dns-auth",
            name=f"{args.stack_name}-gateway"[:63],
            domain=g.domain,
            labels=labels,
            opts=cloud,
        )
        cert = gcp.certificatemanager.Certificate(
            f"{name}-gateway-cert",
            name=f"{args.stack_name}-gateway"[:63],
            labels=labels,
            scope="DEFAULT",
            managed=gcp.certificatemanager.CertificateManagedArgs(domains=[g.domain], dns_authorizations=[auth.id]),
            opts=cloud,
        )
        certmap = gcp.certificatemanager.CertificateMap(
            f"{name}-gateway-certmap", name=f"{args.stack_name}-gateway"[:63], labels=labels, opts=cloud
        )
        gcp.certificatemanager.CertificateMapEntry(
            f"{name}-gateway-certmap-entry",
            name=f"{args.stack_name}-gateway"[:63],
            map=certmap.name,
            hostname=g.domain,
            certificates=[cert.id],
            labels=labels,
            opts=cloud,
        )
        ssl = gcp.compute.SSLPolicy(
            f"{name}-gateway-ssl",
            name=f"{args.stack_name}-gateway"[:63],
            min_tls_version="TLS_1_2",
            profile="MODERN",
            opts=cloud,
        )
        armor_name = None
        if g.allowed_cidrs:
            armor_name = f"{args.stack_name}-gateway"[:63]
            gcp.compute.SecurityPolicy(
                f"{name}-gateway-armor",
                name=armor_name,
                description="llmcloud: only gateway.allowed_cidrs",
                rules=armor_rules(g.allowed_cidrs),
                opts=cloud,
            )

        after = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[envoy, certmap, ssl])
        _custom(
            f"{name}-gateway",
            gateway_manifest(g, args.namespace, f"{args.stack_name}-gateway"[:63], f"{args.stack_name}-gateway"[:63]),
            after,
        )
        _custom(f"{name}-gateway-route", http_route(g, args.namespace), after)
        _custom(f"{name}-gateway-backend-policy", backend_policy(g, args.namespace, armor_name), after)
        _custom(f"{name}-gateway-health-policy", health_check_policy(args.namespace), after)
        _custom(f"{name}-gateway-tls-policy", gateway_policy(args.namespace, f"{args.stack_name}-gateway"[:63]), after)

        self.endpoint = pulumi.Output.from_input(f"https://{g.domain}")
        self.api_keys = pulumi.Output.secret(pulumi.Output.all(**keys)) if keys else pulumi.Output.from_input({})
        self.dns_records = pulumi.Output.all(address.address, auth.dns_resource_records).apply(
            lambda a: {"A": {g.domain: a[0]}, "certificate": a[1]}
        )
        self.register_outputs({"endpoint": self.endpoint, "api_keys": self.api_keys, "dns_records": self.dns_records})


def build_front_door(
    r: Any, platform: Any, k8s_provider: Any, k8s_labels: dict[str, str], opts: pulumi.ResourceOptions
) -> GcpFrontDoor:
    inputs = platform.front_door_inputs(GcpFrontDoorInputs)
    return GcpFrontDoor(
        f"llm-{r.environment}-front-door",
        GcpFrontDoorArgs(
            gateway=r.gateway,
            project=r.project,
            namespace=r.namespace,
            stack_name=r.stack_name,
            labels=r.labels,
            k8s_labels=k8s_labels,
            services=inputs.services,
        ),
        inputs.provider,
        k8s_provider,
        opts,
    )
