"""AzureFrontDoor: the HTTPS endpoint of the models on Azure (README, "The front door").

kind load_balancer (the default): the AKS Standard Load Balancer (a LoadBalancer Service, layer 4)
in front of the in-cluster Envoy gateway (k8s/gateway.py), which terminates TLS itself:
- layer 4 never buffers: a streamed answer reaches the client as Envoy sends it; the TCP idle timeout
  is raised to request_timeout_seconds + 60 (in minutes, 4-100);
- HTTPS on 443 only: the Service has no port 80, so plain HTTP is refused; TLS 1.2 at least;
- the certificate for gateway.domain comes from cert-manager (pinned Helm chart) and Let's Encrypt,
  ACME DNS-01 in an Azure DNS zone answered with a workload identity that holds DNS Zone Contributor on
  that zone only. The zone is `gateway.dns_zone` (an Azure DNS zone resource id, any subscription or
  resource group; the domain must be in it), or, without it, a public zone named after the domain itself
  that llmcloud creates in the stack's resource group: its name servers are in the output `dns_records`
  and the parent zone must delegate to them (NS records) before a certificate can be issued;
- the endpoint's A record (the load balancer's address) is written in that zone too;
- gateway.allowed_cidrs become loadBalancerSourceRanges.
Why not Application Gateway / Front Door / API Management: Front Door and API Management cut origins at
240 s, Application Gateway buffers responses unless told otherwise and needs a certificate brought to
Key Vault.
kind managed: API Management StandardV2 (never Consumption: it cannot stream server-sent events),
requests up to 240 s (gateway_checks refuses more). The API is imported from the OpenAPI document
generated from the stack (gateway_openapi.openapi3); its policy forwards without buffering the response
(streaming) and limits each key's rate; APIM reaches Envoy, behind an internal load balancer, through
VNet integration in a subnet delegated to it. HTTPS only; the endpoint is APIM's gateway host name.
API keys: generated (pulumi_random), kept in a Key Vault (RBAC), handed to Envoy. Each secret expires
(`expires`, set once at creation: rotate a key by renaming it). Vault names are global and a deleted vault
keeps its name for its soft-delete retention, so the name ends in a random suffix kept in the state:
`destroy` then `up` creates a vault with a new name instead of colliding with the soft-deleted one.
Purge protection everywhere; retention 7 days (90 in prod). Prod: a firewall that denies every network
but the cluster subnet and `cluster.authorized_networks`, and the vault's audit log (AuditEvent) sent to
Log Analytics.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.dns as dns
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_azure_native.monitor as monitor
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..gateway_checks import ResolvedGateway
from ..k8s.gateway import API_PORT, NAME, ApiGateway, ApiGatewayArgs, api_keys
from ..k8s.images import CERT_MANAGER_CHART as _CM
from . import AzureFrontDoorInputs
from .checks import parse_zone_id
from .identity import DNS_ZONE_CONTRIBUTOR, TOKEN_AUDIENCE, role_definition_id, subject

# The pin lives in components/k8s/images.py (its source and check date there; renovate.json tracks it).
CERT_MANAGER_CHART = {"chart": _CM.chart, "repo": _CM.repo, "version": _CM.version}
CERT_MANAGER_NAMESPACE = "cert-manager"
CERT_MANAGER_SA = "cert-manager"
SECRET_LIFETIME_DAYS = 365
RECORD_TTL = 300
ACME_SERVER = "https://acme-v02.api.letsencrypt.org/directory"
TLS_SECRET = f"{NAME}-tls"


@dataclass(frozen=True)
class AzureFrontDoorArgs:
    gateway: ResolvedGateway
    namespace: str
    stack_name: str
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    vnet_name: pulumi.Input[str] | None = None  # kind managed: where the APIM subnet goes
    prod: bool = False  # purge protection, 90-day retention, vault firewall, audit log
    allowed_subnet_ids: tuple[pulumi.Input[str], ...] = ()  # prod: the vault firewall lets these in
    allowed_ip_ranges: tuple[str, ...] = ()
    log_analytics_workspace_id: pulumi.Input[str] | None = None  # set: the vault's AuditEvent log goes there
    tags: dict[str, str] = field(default_factory=dict)
    k8s_labels: dict[str, str] = field(default_factory=dict)


def vault_prefix(stack_name: str) -> str:
    """Key Vault names are global, 3-24 letters, digits and hyphens, with no two hyphens in a row (stack names
    may have them): this prefix, '-', 6 random characters."""
    return "-".join(part for part in f"llm-{stack_name}".split("-") if part)[:17].rstrip("-")


def record_name(domain: str, zone: str) -> str:
    """The record's name relative to its zone: '@' at the apex."""
    return "@" if domain == zone else domain.removesuffix("." + zone)


def secret_expiry(today: _dt.date | None = None) -> int:
    """Unix time SECRET_LIFETIME_DAYS after the first day of this month (UTC; LLMCLOUD_TODAY fixes the day),
    so a plan is the same all month long. Only the first `up` writes it (ignore_changes)."""
    if today is None:
        fixed = os.environ.get("LLMCLOUD_TODAY")
        today = _dt.date.fromisoformat(fixed) if fixed else _dt.datetime.now(_dt.UTC).date()
    start = _dt.datetime(today.year, today.month, 1, tzinfo=_dt.UTC)
    return int((start + _dt.timedelta(days=SECRET_LIFETIME_DAYS)).timestamp())


def idle_timeout_minutes(g: ResolvedGateway) -> int:
    return min(100, max(4, math.ceil(g.idle_timeout_seconds / 60)))


def service_annotations(g: ResolvedGateway, stack_name: str) -> dict[str, str]:
    return {
        # https://cloud-provider-azure.sigs.k8s.io/topics/loadbalancer/#loadbalancer-annotations
        "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout": str(idle_timeout_minutes(g)),
        "service.beta.kubernetes.io/azure-dns-label-name": f"{stack_name}-gateway"[:63],
    }


class AzureFrontDoor(pulumi.ComponentResource):
    """Outputs: endpoint, api_keys (secret), dns_records; name_servers (the created zone's, else None)."""

    name_servers: pulumi.Output[list[str]] | None = None

    def __init__(
        self,
        name: str,
        args: AzureFrontDoorArgs,
        provider: Any,
        k8s_provider: Any,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmcloud:azure:FrontDoor", name, None, opts)
        g = args.gateway
        cloud = pulumi.ResourceOptions(parent=self, provider=provider)
        # the front door's depends_on reaches its children (they do not inherit it: pulumi/pulumi#8721)
        on_cluster = pulumi.ResourceOptions(
            parent=self, provider=k8s_provider, depends_on=list((opts.depends_on if opts else None) or [])
        )
        tags = args.tags

        keys = api_keys(name, g.key_names, pulumi.ResourceOptions(parent=self))
        suffix = random.RandomString(
            f"{name}-vault-suffix", length=6, special=False, upper=False, opts=pulumi.ResourceOptions(parent=self)
        )
        acls = None
        if args.prod:
            acls = keyvault.NetworkRuleSetArgs(
                default_action="Deny",
                bypass="AzureServices",
                virtual_network_rules=[keyvault.VirtualNetworkRuleArgs(id=s) for s in args.allowed_subnet_ids] or None,
                ip_rules=[keyvault.IPRuleArgs(value=c) for c in args.allowed_ip_ranges] or None,
            )
        vault = keyvault.Vault(
            f"{name}-keys-vault",
            vault_name=pulumi.Output.concat(vault_prefix(args.stack_name), "-", suffix.result),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name="standard"),
                # Purge protection everywhere (a deleted key stays recoverable); the random suffix, not a purge,
                # is what lets `up` follow `destroy`. Outside prod the deleted vault ages out after 7 days.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                enable_purge_protection=True,
                soft_delete_retention_in_days=90 if args.prod else 7,
                network_acls=acls,
            ),
            opts=cloud,
        )
        expires = secret_expiry()
        for key, value in keys.items():
            keyvault.Secret(
                f"{name}-key-{key}-secret",
                secret_name=f"api-key-{key}",
                vault_name=vault.name,
                resource_group_name=args.resource_group_name,
                tags=tags,
                properties=keyvault.SecretPropertiesArgs(
                    value=value,
                    content_type="llmcloud API key",
                    attributes=keyvault.SecretAttributesArgs(enabled=True, expires=expires),
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, ignore_changes=["properties.attributes.expires"]
                ),
            )
        if args.log_analytics_workspace_id is not None:
            monitor.DiagnosticSetting(
                f"{name}-vault-diagnostics",
                name="llmcloud-vault-audit",
                resource_uri=vault.id,
                workspace_id=args.log_analytics_workspace_id,
                logs=[monitor.DiagnosticsLogSettingsArgs(category="AuditEvent", enabled=True)],
                opts=cloud,
            )

        if g.kind == "managed":
            self._api_management(name, args, keys, cloud, k8s_provider)
            return
        assert g.domain is not None  # gateway_checks: load_balancer needs a domain

        # ---- certificate: cert-manager + Let's Encrypt DNS-01 in the domain's Azure DNS zone
        if getattr(g, "dns_zone", None):
            zone_sub, zone_rg, zone = parse_zone_id(g.dns_zone)  # checks.check refused a bad id before
            zone_id: pulumi.Input[str] = g.dns_zone
            zone_rg_name: pulumi.Input[str] = zone_rg
            zone_sub_id: pulumi.Input[str] = zone_sub
            name_servers: pulumi.Input[list[str]] | None = None
        else:
            zone = g.domain
            created = dns.Zone(
                f"{name}-zone",
                zone_name=zone,
                resource_group_name=args.resource_group_name,
                location="global",
                zone_type="Public",
                tags=tags,
                opts=cloud,
            )
            zone_id, zone_rg_name, zone_sub_id = created.id, args.resource_group_name, args.subscription_id
            name_servers = created.name_servers
            self.name_servers = created.name_servers
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-acme-id",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            opts=cloud,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-acme-fic",
            resource_group_name=args.resource_group_name,
            resource_name_=identity.name,
            issuer=args.oidc_issuer_url,
            subject=subject(CERT_MANAGER_NAMESPACE, CERT_MANAGER_SA),
            audiences=[TOKEN_AUDIENCE],
            opts=cloud,
        )
        acme_role = authorization.RoleAssignment(
            f"{name}-acme-dns",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            # the role's id in the zone's own subscription: gateway.dns_zone may live in another one
            role_definition_id=role_definition_id(zone_sub_id, DNS_ZONE_CONTRIBUTOR),
            scope=zone_id,
            description="cert-manager answers ACME DNS-01 for the llmcloud endpoint",
            opts=cloud,
        )
        cert_manager = k8s.helm.v3.Release(
            f"{name}-cert-manager",
            name="cert-manager",
            chart=CERT_MANAGER_CHART["chart"],
            version=CERT_MANAGER_CHART["version"],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CERT_MANAGER_CHART["repo"]),
            namespace=CERT_MANAGER_NAMESPACE,
            create_namespace=True,
            atomic=True,
            values={
                "crds": {"enabled": True},
                "podLabels": {"azure.workload.identity/use": "true"},
                "serviceAccount": {"name": CERT_MANAGER_SA, "labels": {"azure.workload.identity/use": "true"}},
            },
            opts=on_cluster,
        )
        after_cm = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[cert_manager, acme_role])
        k8s.apiextensions.CustomResource(
            f"{name}-acme-issuer",
            api_version="cert-manager.io/v1",
            kind="Issuer",
            metadata={"name": "llmcloud-letsencrypt", "namespace": args.namespace},
            spec={
                "acme": {
                    "server": ACME_SERVER,
                    "privateKeySecretRef": {"name": "llmcloud-letsencrypt-account"},
                    "solvers": [
                        {
                            "dns01": {
                                "azureDNS": {
                                    "subscriptionID": zone_sub_id,
                                    "resourceGroupName": zone_rg_name,
                                    "hostedZoneName": zone,
                                    "environment": "AzurePublicCloud",
                                    "managedIdentity": {"clientID": identity.client_id},
                                }
                            }
                        }
                    ],
                }
            },
            opts=after_cm,
        )
        certificate = k8s.apiextensions.CustomResource(
            f"{name}-gateway-cert",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": TLS_SECRET, "namespace": args.namespace},
            spec={
                "secretName": TLS_SECRET,
                "dnsNames": [g.domain],
                "issuerRef": {"name": "llmcloud-letsencrypt", "kind": "Issuer"},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
            opts=after_cm,
        )

        envoy = ApiGateway(
            f"{name}-envoy",
            ApiGatewayArgs(
                gateway=g,
                namespace=args.namespace,
                keys=keys,
                labels=args.k8s_labels,
                service_type="LoadBalancer",
                service_annotations=service_annotations(g, args.stack_name),
                tls_secret=TLS_SECRET,
            ),
            pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[certificate]),
        )

        address = envoy.service.status.apply(_ingress_ip)
        dns.RecordSet(
            f"{name}-endpoint-record",
            record_type="A",
            zone_name=zone,
            resource_group_name=zone_rg_name,
            relative_record_set_name=record_name(g.domain, zone),
            ttl=RECORD_TTL,
            a_records=[dns.ARecordArgs(ipv4_address=address)],
            opts=cloud,
        )

        self.endpoint = pulumi.Output.from_input(f"https://{g.domain}")
        self.api_keys = pulumi.Output.secret(pulumi.Output.all(**keys)) if keys else pulumi.Output.from_input({})
        records: dict[str, Any] = {"zone": zone, "zone_id": zone_id, "A": {g.domain: address}}
        if name_servers is not None:
            # Delegate to these from the parent zone (NS records for the domain) before the first certificate.
            records["name_servers"] = name_servers
        self.dns_records = pulumi.Output.from_input(records)
        self.register_outputs({"endpoint": self.endpoint, "api_keys": self.api_keys, "dns_records": self.dns_records})

    def _api_management(
        self,
        name: str,
        args: AzureFrontDoorArgs,
        keys: dict[str, Any],
        cloud: pulumi.ResourceOptions,
        k8s_provider: Any,
    ) -> None:
        """kind managed: APIM StandardV2 → (VNet integration) → internal load balancer → Envoy."""
        import json

        import pulumi_azure_native.apimanagement as apim
        import pulumi_azure_native.network as network

        from ..gateway_openapi import openapi3

        g, tags = args.gateway, args.tags
        assert args.vnet_name is not None  # gateway_checks: managed needs the network llmcloud creates
        subnet = network.Subnet(
            f"{name}-apim-subnet",
            resource_group_name=args.resource_group_name,
            virtual_network_name=args.vnet_name,
            address_prefix=APIM_SUBNET,
            # StandardV2 VNet integration: the subnet is delegated to the (App Service) integration.
            delegations=[network.DelegationArgs(name="apim", service_name="Microsoft.Web/serverFarms")],
            default_outbound_access=False,
            opts=cloud,
        )
        envoy = ApiGateway(
            f"{name}-envoy",
            ApiGatewayArgs(
                gateway=g,
                namespace=args.namespace,
                keys=keys,
                labels=args.k8s_labels,
                service_type="LoadBalancer",
                service_annotations={
                    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
                    "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout": str(idle_timeout_minutes(g)),
                },
            ),
            pulumi.ResourceOptions(parent=self, provider=k8s_provider),
        )
        service = apim.ApiManagementService(
            f"{name}-apim",
            service_name=apim_name(args.stack_name),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=apim.ApiManagementServiceSkuPropertiesArgs(name="StandardV2", capacity=1),
            publisher_name="llmcloud",
            publisher_email=f"llmcloud@{g.domain or 'example.com'}",
            identity=apim.ApiManagementServiceIdentityArgs(type="SystemAssigned"),
            virtual_network_type="External",
            virtual_network_configuration=apim.VirtualNetworkConfigurationArgs(subnet_resource_id=subnet.id),
            tags=tags,
            opts=cloud,
        )
        backend = envoy.service.status.apply(lambda s: f"http://{_ingress_ip(s)}:{API_PORT}")
        api = apim.Api(
            f"{name}-apim-api",
            service_name=service.name,
            resource_group_name=args.resource_group_name,
            api_id="llm",
            path="",
            display_name="llmcloud OpenAI-compatible API",
            protocols=["https"],
            # Envoy checks the Bearer key on every route; APIM subscription keys would need a second header.
            subscription_required=False,
            format="openapi+json",
            value=json.dumps(openapi3(g)),
            service_url=backend,
            opts=cloud,
        )
        apim.ApiPolicy(
            f"{name}-apim-policy",
            service_name=service.name,
            resource_group_name=args.resource_group_name,
            api_id=api.name,
            policy_id="policy",
            format="xml",
            value=apim_policy(g),
            opts=cloud,
        )
        self.endpoint = service.gateway_url
        self.api_keys = pulumi.Output.secret(pulumi.Output.all(**keys)) if keys else pulumi.Output.from_input({})
        self.dns_records = service.gateway_url.apply(
            lambda url: {"CNAME": {g.domain: (url or "").removeprefix("https://")}} if g.domain else {}
        )
        self.register_outputs({"endpoint": self.endpoint, "api_keys": self.api_keys, "dns_records": self.dns_records})


APIM_SUBNET = "10.0.16.0/24"  # next to the nodes' 10.0.0.0/20 in the virtual network llmcloud creates


def apim_name(stack_name: str) -> str:
    """API Management names are global: 1-50 letters, digits and hyphens, starting with a letter."""
    digest = hashlib.sha256(stack_name.encode()).hexdigest()[:6]
    return f"llm-{stack_name}"[:40].rstrip("-") + "-" + digest


def apim_policy(g: ResolvedGateway) -> str:
    """Forward without buffering the response (server-sent events stream through), for up to the request
    timeout; limit each key (the Authorization header) to its rate. APIM's limit is per gateway unit."""
    rate = max(g.keys.values() or [g.rate_limit_per_minute])
    buffer = "false" if g.streaming else "true"
    return (
        "<policies><inbound><base />"
        f'<rate-limit-by-key calls="{rate}" renewal-period="60" '
        'counter-key="@(context.Request.Headers.GetValueOrDefault(&quot;Authorization&quot;,&quot;anonymous&quot;))" />'
        "</inbound><backend>"
        f'<forward-request timeout="{g.request_timeout_seconds}" buffer-response="{buffer}" />'
        "</backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
    )


def _ingress_ip(status: Any) -> str:
    ingress = ((status or {}).get("load_balancer") or (status or {}).get("loadBalancer") or {}).get("ingress") or []
    return (ingress[0] or {}).get("ip", "") if ingress else ""


def build_front_door(
    r: Any, platform: Any, k8s_provider: Any, k8s_labels: dict[str, str], opts: pulumi.ResourceOptions
) -> AzureFrontDoor:
    ctx = platform.front_door_inputs(AzureFrontDoorInputs)
    door = AzureFrontDoor(
        f"llm-{r.environment}-front-door",
        AzureFrontDoorArgs(
            gateway=r.gateway,
            namespace=r.namespace,
            stack_name=r.stack_name,
            resource_group_name=ctx.resource_group_name,
            location=r.region,
            tenant_id=ctx.tenant_id,
            subscription_id=ctx.subscription_id,
            oidc_issuer_url=ctx.oidc_issuer_url,
            vnet_name=ctx.vnet_name,
            prod=ctx.prod,
            allowed_subnet_ids=ctx.allowed_subnet_ids,
            allowed_ip_ranges=ctx.allowed_ip_ranges,
            log_analytics_workspace_id=ctx.log_analytics_workspace_id,
            tags=ctx.tags,
            k8s_labels=k8s_labels,
        ),
        ctx.provider,
        k8s_provider,
        opts,
    )
    if door.name_servers is not None:
        # A stack output of its own, printed by `up` and `llmcloud outputs`: the parent zone must delegate the
        # domain to these (NS records) before cert-manager can answer ACME in the created zone. The program
        # builds its outputs from platform.outputs after the front door, so the cloud adds it there.
        platform.outputs["dns_name_servers"] = door.name_servers
    return door
