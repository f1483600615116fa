"""AwsFrontDoor: the HTTPS endpoint of the models on AWS (README, "The front door").

kind load_balancer (the default): an internet-facing Application Load Balancer in front of the
in-cluster Envoy gateway (k8s/gateway.py, a ClusterIP Service):
- targets are the Envoy pods (IP targets), registered by the AWS Load Balancer Controller through a
  TargetGroupBinding (components/aws/load_balancer_controller.py), not the node group's Auto Scaling group;
- idle timeout = request_timeout_seconds + 60 (ALB allows up to 4,000 s), so a streamed generation is
  never cut by the load balancer; the ALB passes chunked responses through as they come;
- HTTPS on 443 with an ACM certificate for gateway.domain (DNS validation) and a TLS 1.2+/1.3 policy;
  HTTP on 80 only answers 301 to HTTPS (503 while the certificate is not issued);
- a security group that accepts 443/80 from gateway.allowed_cidrs (default: anywhere: this is the
  front door, policy LLM-NET-001 allows it by the "gateway" name), and pods that accept only the ALB;
- prod: access logs to the audit-log bucket, deletion protection, and a WAFv2 web ACL (per-IP rate rule
  and AWS's IP reputation list).
kind managed: an API Gateway REST API whose HTTP_PROXY integration streams (response_transfer_mode
STREAM, up to 900 s; a stream idle for 5 minutes is cut) through a VPC link to an internal Network Load
Balancer in front of the same Envoy pods; the execute-api endpoint is off, clients use gateway.domain
(TLS 1.2, ACM certificate), and the stage throttles the sum of the keys' rates (Envoy still checks each
key and its own rate); prod puts the WAF web ACL on the stage.
Not used: API Gateway HTTP APIs (30 s integration cap, no streaming).
DNS: with a Route 53 hosted zone (gateway.dns_zone, or found by the domain's name) the certificate's
validation record and the endpoint's alias record are created in the same run. Without one nothing waits
on validation: a notice names the records to add before anything is created, HTTPS (the listener, or
the API's custom domain) is left out, and the next `up` after ACM issued the certificate adds it;
`llmcloud outputs` shows the records and the pending step (dns_records).
API keys: generated (pulumi_random), kept in Secrets Manager, handed to Envoy as a Kubernetes Secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..gateway_checks import ResolvedGateway
from ..k8s.gateway import API_PORT, HEALTH_PORT, ApiGateway, ApiGatewayArgs, api_keys
from . import AwsFrontDoorInputs
from .load_balancer_controller import AwsLoadBalancerController, AwsLoadBalancerControllerArgs, target_group_binding


# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-ip-rep.html
def _after(opts: pulumi.ResourceOptions | None) -> list:
    """The front door's own depends_on, for its children (they do not inherit it: pulumi/pulumi#8721)."""
    return list((opts.depends_on if opts else None) or [])


IP_REPUTATION_RULE_GROUP = "AWSManagedRulesAmazonIpReputationList"
WAF_MIN_LIMIT = 100  # WAFv2 rate-based rules: 10 to 2,000,000,000 requests per evaluation window
# https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html (checked 2026-12-01):
# a streamed response lasts at most 15 minutes and is cut after 5 minutes without a byte (regional endpoint).
REST_IDLE_SECONDS = 300
REST_IDLE_NOTICE = (
    "gateway.kind managed: API Gateway cuts a regional REST stream that sends nothing for 5 minutes "
    "(whatever request_timeout_seconds says): a request queued that long, or waiting for a pool to "
    "wake from zero, fails with 504; use kind: load_balancer for such waits"
)
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class AwsFrontDoorArgs:
    gateway: ResolvedGateway
    namespace: str
    stack_name: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    node_security_group_id: pulumi.Input[str]  # the cluster security group: every node and pod has it
    cluster_name: pulumi.Input[str]
    region: str
    private_subnet_ids: pulumi.Input[list[str]] | None = None  # kind managed: the internal NLB's subnets
    vpc_cidr: str = "10.0.0.0/16"  # kind managed: the VPC link's NLB reaches the nodes from inside the VPC
    prod: bool = False  # prod: 7-day secret recovery, WAF, ALB access logs and deletion protection
    log_bucket: pulumi.Input[str] | None = None  # the audit-log bucket (prod): ALB access logs
    log_bucket_ready: pulumi.Resource | None = None  # its policy: the ALB checks it can write there
    tags: dict[str, str] = field(default_factory=dict)
    k8s_labels: dict[str, str] = field(default_factory=dict)


def secret_name(stack_name: str, key: str) -> str:
    return f"llmcloud/{stack_name}/api-keys/{key}"


class AwsFrontDoor(pulumi.ComponentResource):
    """Outputs: endpoint, api_keys (secret), dns_records (the records to add by hand when llmcloud has no
    hosted zone, and `pending`: the step left before HTTPS answers, or None)."""

    def __init__(
        self,
        name: str,
        args: AwsFrontDoorArgs,
        provider: Any,
        k8s_provider: Any,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmcloud:aws:FrontDoor", name, None, opts)
        g = args.gateway
        assert g.domain is not None  # gateway_checks: both kinds need a domain
        cloud = pulumi.ResourceOptions(parent=self, provider=provider)
        tags = args.tags
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        self._partition = aws.get_partition_output(opts=invoke).partition
        self._account = aws.get_caller_identity_output(opts=invoke).account_id

        keys = api_keys(name, g.key_names, pulumi.ResourceOptions(parent=self))
        for key, value in keys.items():
            secret = aws.secretsmanager.Secret(
                f"{name}-key-{key}-secret",
                name=secret_name(args.stack_name, key),
                description=f"llmcloud API key {key} of {args.stack_name}",
                # Secrets Manager keeps a deleted name for the recovery
                # window: 0 (delete at once) lets destroy-then-up work the
                # same day outside prod.
                recovery_window_in_days=7 if args.prod else 0,
                tags=tags,
                opts=cloud,
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-key-{key}-version", secret_id=secret.id, secret_string=value, opts=cloud
            )

        # IP targets: the Envoy pods themselves, registered by the AWS Load Balancer Controller.
        envoy = ApiGateway(
            f"{name}-envoy",
            ApiGatewayArgs(
                gateway=g, namespace=args.namespace, keys=keys, labels=args.k8s_labels, service_type="ClusterIP"
            ),
            pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=_after(opts)),
        )
        self._envoy = envoy
        self._controller = AwsLoadBalancerController(
            f"{name}-lbc",
            AwsLoadBalancerControllerArgs(
                cluster_name=args.cluster_name,
                region=args.region,
                vpc_id=args.vpc_id,
                partition=self._partition,
                account=self._account,
                target_group_prefix=f"{args.stack_name}-gw"[:28],
                tags=tags,
            ),
            provider,
            k8s_provider,
            pulumi.ResourceOptions(parent=self),
        )
        self._k8s_provider = k8s_provider

        cert = aws.acm.Certificate(
            f"{name}-gateway-cert", domain_name=g.domain, validation_method="DNS", tags=tags, opts=cloud
        )
        zone = hosted_zone(g.domain, g.dns_zone, provider)
        validation = cert.domain_validation_options.apply(lambda o: o[0] if o else None)
        certificate_arn: pulumi.Input[str] | None
        if zone:
            # llmcloud holds the zone: the validation record in the same run, so the wait below is short.
            record = aws.route53.Record(
                f"{name}-gateway-cert-validation",
                zone_id=zone,
                allow_overwrite=True,
                ttl=300,
                name=validation.apply(lambda v: v.resource_record_name if v else None),
                type=validation.apply(lambda v: v.resource_record_type if v else "CNAME"),
                records=[validation.apply(lambda v: v.resource_record_value if v else None)],
                opts=cloud,
            )
            validated = aws.acm.CertificateValidation(
                f"{name}-gateway-cert-validation",
                certificate_arn=cert.arn,
                validation_record_fqdns=[record.fqdn],
                opts=cloud,
            )
            certificate_arn = validated.certificate_arn
        else:
            # No zone: never wait on validation (ACM would hold `up` for up to 75 minutes). HTTPS is finished by
            # the first `up` after someone added the records and ACM issued the certificate.
            certificate_arn = issued_certificate(g.domain, provider)
            if certificate_arn is None:
                pulumi.log.warn(pending_notice(g.domain, g.kind), resource=self)
        self.certificate_issued = certificate_arn is not None
        if g.kind == "managed":
            target, zone_of_target = self._rest_api(name, args, certificate_arn, cloud, envoy)
        else:
            target, zone_of_target = self._alb(name, args, certificate_arn, cloud, provider, envoy)
        if zone and target is not None:
            aws.route53.Record(
                f"{name}-gateway-endpoint",
                zone_id=zone,
                name=g.domain,
                type="A",
                allow_overwrite=True,
                aliases=[aws.route53.RecordAliasArgs(name=target, zone_id=zone_of_target, evaluate_target_health=True)],
                opts=cloud,
            )

        self.endpoint = pulumi.Output.from_input(f"https://{g.domain}")
        self.api_keys = pulumi.Output.secret(pulumi.Output.all(**keys)) if keys else pulumi.Output.from_input({})
        pending = None if certificate_arn is not None else pending_notice(g.domain, g.kind)
        self.dns_records = pulumi.Output.all(target if target is not None else "", validation).apply(
            lambda a: dns_records(g.domain or "", a[0], a[1], zone, pending)
        )
        self.register_outputs({"endpoint": self.endpoint, "api_keys": self.api_keys, "dns_records": self.dns_records})

    def _binding(self, name: str, args: AwsFrontDoorArgs, tg: aws.lb.TargetGroup) -> None:
        body = target_group_binding(
            f"{args.stack_name}-gateway"[:63],
            args.namespace,
            self._envoy.service_name,
            API_PORT,
            tg.arn,
            dict(args.k8s_labels),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-gateway-binding",
            api_version=body["apiVersion"],
            kind=body["kind"],
            metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions(
                parent=self, provider=self._k8s_provider, depends_on=[self._controller.release_resource, self._envoy]
            ),
        )

    def _waf(
        self, name: str, args: AwsFrontDoorArgs, resource_arn: pulumi.Input[str], cloud: pulumi.ResourceOptions
    ) -> None:
        """prod: a WAFv2 web ACL on the ALB or the API stage: per-IP rate limit and AWS's IP reputation list."""
        g = args.gateway
        visibility = aws.wafv2.WebAclVisibilityConfigArgs
        metric = re.sub(r"[^A-Za-z0-9]", "", args.stack_name)[:100] or "llmcloud"
        acl = aws.wafv2.WebAcl(
            f"{name}-gateway-waf",
            name=f"{args.stack_name}-gateway",
            scope="REGIONAL",
            description=f"llmcloud front door of {args.stack_name}",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=[
                aws.wafv2.WebAclRuleArgs(
                    name="ip-reputation",
                    priority=0,
                    override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                        none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                    ),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            vendor_name="AWS", name=IP_REPUTATION_RULE_GROUP
                        )
                    ),
                    visibility_config=visibility(
                        cloudwatch_metrics_enabled=True,
                        sampled_requests_enabled=True,
                        metric_name=f"{metric}-ip-reputation",
                    ),
                ),
                aws.wafv2.WebAclRuleArgs(
                    name="rate-per-ip",
                    priority=1,
                    action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                            aggregate_key_type="IP", limit=waf_rate_limit(g), evaluation_window_sec=300
                        )
                    ),
                    visibility_config=visibility(
                        cloudwatch_metrics_enabled=True,
                        sampled_requests_enabled=True,
                        metric_name=f"{metric}-rate-per-ip",
                    ),
                ),
            ],
            visibility_config=visibility(
                cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=f"{metric}-gateway"
            ),
            tags=args.tags,
            opts=cloud,
        )
        aws.wafv2.WebAclAssociation(f"{name}-gateway-waf", resource_arn=resource_arn, web_acl_arn=acl.arn, opts=cloud)

    def _alb(
        self,
        name: str,
        args: AwsFrontDoorArgs,
        certificate_arn: pulumi.Input[str] | None,
        cloud: pulumi.ResourceOptions,
        provider: Any,
        envoy: pulumi.Resource,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """kind load_balancer: the ALB; returns its DNS name (the domain's target) and its hosted zone id."""
        g, tags = args.gateway, args.tags
        sources = list(g.allowed_cidrs) or ["0.0.0.0/0"]
        alb_sg = aws.ec2.SecurityGroup(
            f"{name}-gateway-alb",
            vpc_id=args.vpc_id,
            description="llmcloud front door: HTTPS (and the HTTP redirect) from clients",
            tags={**tags, "Name": f"{args.stack_name}-gateway-alb"},
            opts=cloud,
        )
        for port in (443, 80):
            for i, cidr in enumerate(sources):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-gateway-alb-in-{port}-{i}",
                    security_group_id=alb_sg.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    tags=tags,
                    opts=cloud,
                    description=f"clients to the front door ({'HTTPS' if port == 443 else 'HTTP, redirected'})",
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-gateway-alb-to-pods",
            security_group_id=alb_sg.id,
            ip_protocol="tcp",
            from_port=API_PORT,
            to_port=HEALTH_PORT,
            referenced_security_group_id=args.node_security_group_id,
            description="front door to the Envoy pods (API and health check ports)",
            tags=tags,
            opts=cloud,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-gateway-pods-from-alb",
            security_group_id=args.node_security_group_id,
            ip_protocol="tcp",
            from_port=API_PORT,
            to_port=HEALTH_PORT,
            referenced_security_group_id=alb_sg.id,
            description="Envoy pods from the front door ALB only",
            tags=tags,
            opts=cloud,
        )

        access_logs = None
        if args.log_bucket is not None:
            from .logs import PREFIXES

            access_logs = aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.log_bucket, prefix=PREFIXES["alb"], enabled=True
            )
        alb = aws.lb.LoadBalancer(
            f"{name}-gateway",
            name=f"{args.stack_name}-gw"[:32],
            load_balancer_type="application",
            internal=False,
            security_groups=[alb_sg.id],
            subnets=args.public_subnet_ids,
            idle_timeout=g.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            access_logs=access_logs,
            enable_deletion_protection=args.prod,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                cloud,
                pulumi.ResourceOptions(depends_on=[args.log_bucket_ready] if args.log_bucket_ready is not None else []),
            ),
        )
        tg = aws.lb.TargetGroup(
            f"{name}-gateway-targets",
            name=f"{args.stack_name}-gw"[:32],
            port=API_PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            # Let in-flight generations finish when a pod leaves (ALB allows up to 3,600 s).
            deregistration_delay=min(g.request_timeout_seconds, 3600),
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTP",
                port=str(HEALTH_PORT),
                path="/healthz",
                matcher="200",
                interval=10,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=tags,
            opts=cloud,
        )
        self._binding(name, args, tg)
        if certificate_arn is not None:
            aws.lb.Listener(
                f"{name}-gateway-https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=SSL_POLICY,
                certificate_arn=certificate_arn,
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[envoy]),
            )
            http_action = aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443", status_code="HTTP_301"),
            )
        else:
            # No certificate yet: say so on port 80 instead of redirecting to a port nothing listens on.
            http_action = aws.lb.ListenerDefaultActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="text/plain",
                    status_code="503",
                    message_body="HTTPS is not set up yet: the TLS certificate awaits DNS validation",
                ),
            )
        aws.lb.Listener(
            f"{name}-gateway-http-redirect",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[http_action],
            tags=tags,
            opts=cloud,
        )
        if args.prod:
            self._waf(name, args, alb.arn, cloud)
        return alb.dns_name, alb.zone_id

    def _rest_api(
        self,
        name: str,
        args: AwsFrontDoorArgs,
        certificate_arn: pulumi.Input[str] | None,
        cloud: pulumi.ResourceOptions,
        envoy: pulumi.Resource,
    ) -> tuple[pulumi.Output[str] | None, pulumi.Output[str] | None]:
        """kind managed: REST API → VPC link → internal NLB → Envoy pods; returns the regional domain name
        and its hosted zone id (None while the certificate is not issued: the custom domain waits for it)."""
        g, tags = args.gateway, args.tags
        assert args.private_subnet_ids is not None
        if g.request_timeout_seconds > REST_IDLE_SECONDS:
            pulumi.log.warn(REST_IDLE_NOTICE, resource=self)
        nlb = aws.lb.LoadBalancer(
            f"{name}-gateway-nlb",
            name=f"{args.stack_name}-gwn"[:32],
            load_balancer_type="network",
            internal=True,
            subnets=args.private_subnet_ids,
            enable_cross_zone_load_balancing=True,
            tags=tags,
            opts=cloud,
        )
        tg = aws.lb.TargetGroup(
            f"{name}-gateway-nlb-targets",
            name=f"{args.stack_name}-gwn"[:32],
            port=API_PORT,
            protocol="TCP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=min(g.request_timeout_seconds, 3600),
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTP",
                port=str(HEALTH_PORT),
                path="/healthz",
                interval=10,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=tags,
            opts=cloud,
        )
        self._binding(name, args, tg)
        aws.lb.Listener(
            f"{name}-gateway-nlb-tcp",
            load_balancer_arn=nlb.arn,
            port=80,
            protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
            tags=tags,
            opts=pulumi.ResourceOptions.merge(cloud, pulumi.ResourceOptions(depends_on=[envoy])),
        )
        # An NLB without security groups passes the VPC link's addresses through: pods accept the VPC.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-gateway-pods-from-vpc",
            security_group_id=args.node_security_group_id,
            ip_protocol="tcp",
            from_port=API_PORT,
            to_port=HEALTH_PORT,
            cidr_ipv4=args.vpc_cidr,
            tags=tags,
            opts=cloud,
            description="Envoy pods from the API Gateway VPC link's internal NLB",
        )
        link = aws.apigateway.VpcLink(
            f"{name}-gateway-link", name=f"{args.stack_name}-gateway", target_arn=nlb.arn, tags=tags, opts=cloud
        )
        api = aws.apigateway.RestApi(
            f"{name}-gateway-api",
            name=f"{args.stack_name}-gateway",
            description=f"llmcloud front door of {args.stack_name}",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            disable_execute_api_endpoint=True,  # only https://<domain>, with its TLS policy
            tags=tags,
            opts=cloud,
        )
        v1 = aws.apigateway.Resource(
            f"{name}-gateway-v1", rest_api=api.id, parent_id=api.root_resource_id, path_part="v1", opts=cloud
        )
        proxy = aws.apigateway.Resource(
            f"{name}-gateway-proxy", rest_api=api.id, parent_id=v1.id, path_part="{proxy+}", opts=cloud
        )
        method = aws.apigateway.Method(
            f"{name}-gateway-any",
            rest_api=api.id,
            resource_id=proxy.id,
            http_method="ANY",
            # Envoy checks the Bearer key on every route; API Gateway API keys would need a second header.
            authorization="NONE",
            request_parameters={"method.request.path.proxy": True},
            opts=cloud,
        )
        integration = aws.apigateway.Integration(
            f"{name}-gateway-stream",
            rest_api=api.id,
            resource_id=proxy.id,
            http_method=method.http_method,
            type="HTTP_PROXY",
            integration_http_method="ANY",
            uri=nlb.dns_name.apply(lambda d: f"http://{d}/v1/{{proxy}}"),
            connection_type="VPC_LINK",
            connection_id=link.id,
            request_parameters={"integration.request.path.proxy": "method.request.path.proxy"},
            # STREAM: tokens reach the client as they are generated, for up to 15 minutes.
            response_transfer_mode="STREAM" if g.streaming else "BUFFERED",
            timeout_milliseconds=g.request_timeout_seconds * 1000,
            opts=cloud,
        )
        deployment = aws.apigateway.Deployment(
            f"{name}-gateway-deployment",
            rest_api=api.id,
            triggers={"shape": f"{g.request_timeout_seconds}-{g.streaming}-{sorted(g.keys.items())}"},
            opts=pulumi.ResourceOptions.merge(cloud, pulumi.ResourceOptions(depends_on=[integration])),
        )
        stage = aws.apigateway.Stage(
            f"{name}-gateway-stage", rest_api=api.id, deployment=deployment.id, stage_name="api", tags=tags, opts=cloud
        )
        total_per_second = max(1.0, sum(g.keys.values() or [g.rate_limit_per_minute]) / 60)
        aws.apigateway.MethodSettings(
            f"{name}-gateway-throttle",
            rest_api=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=total_per_second, throttling_burst_limit=max(10, int(total_per_second * 2))
            ),
            opts=cloud,
        )
        if args.prod:
            stage_arn = pulumi.Output.all(self._partition, api.id, stage.stage_name).apply(
                lambda a: f"arn:{a[0]}:apigateway:{args.region}::/restapis/{a[1]}/stages/{a[2]}"
            )
            self._waf(name, args, stage_arn, cloud)
        if certificate_arn is None:
            return None, None  # API Gateway refuses a custom domain whose certificate is not issued
        domain = aws.apigateway.DomainName(
            f"{name}-gateway-domain",
            domain_name=g.domain,
            regional_certificate_arn=certificate_arn,
            security_policy="TLS_1_2",
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            tags=tags,
            opts=cloud,
        )
        aws.apigateway.BasePathMapping(
            f"{name}-gateway-mapping",
            rest_api=api.id,
            stage_name=stage.stage_name,
            domain_name=domain.domain_name,
            opts=cloud,
        )
        return domain.regional_domain_name, domain.regional_zone_id


# ---------------------------------------------------------------- DNS and certificate (item: no 75-minute wait)


def zone_candidates(domain: str) -> list[str]:
    """api.eu.example.com -> [api.eu.example.com, eu.example.com, example.com]: the zones that could hold it."""
    labels = domain.rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def hosted_zone(domain: str, dns_zone: str | None, provider: Any) -> str | None:
    """The Route 53 hosted zone id for `domain`: gateway.dns_zone, else the public zone of the same name as
    the domain or its nearest parent in this account (a look-up at preview time), else None."""
    if dns_zone:
        return dns_zone.removeprefix("/hostedzone/")
    for name in zone_candidates(domain):
        try:
            found = aws.route53.get_zone(name=name, private_zone=False, opts=pulumi.InvokeOptions(provider=provider))
        except Exception:  # "no matching Route 53 Hosted Zone found" is the expected miss
            continue
        if found and found.zone_id:
            return found.zone_id
    return None


def issued_certificate(domain: str, provider: Any) -> str | None:
    """The ARN of an ISSUED ACM certificate for `domain` in the region (the one the last `up` requested,
    once its validation record exists), else None."""
    try:
        found = aws.acm.get_certificate(
            domain=domain, statuses=["ISSUED"], most_recent=True, opts=pulumi.InvokeOptions(provider=provider)
        )
    except Exception:  # "no certificate for domain" is the expected answer on the first up
        return None
    return found.arn if found and found.arn else None


def pending_notice(domain: str, kind: str) -> str:
    what = "the HTTPS listener" if kind != "managed" else "the API's custom domain"
    return (
        f"gateway.domain {domain}: no Route 53 hosted zone for it (set gateway.dns_zone to its hosted zone "
        f"id, or create one) - nothing waits on DNS: `up` requests the certificate and builds everything but "
        f"{what}. Then add two records at your DNS provider, both shown by `llmcloud outputs` under "
        f"dns_records: the certificate's validation CNAME (known a few seconds into `up`) and {domain} as a "
        f"CNAME of the endpoint target; once ACM has issued the certificate (minutes after the CNAME "
        f"resolves), run `llmcloud up` again to finish {what}."
    )


def dns_records(domain: str, target: str, validation: Any, zone: str | None, pending: str | None) -> dict:
    """What `llmcloud outputs` shows: the records (created by llmcloud when it has the zone) and what is left."""

    def field_(name: str) -> Any:
        if validation is None:
            return None
        return validation.get(name) if isinstance(validation, dict) else getattr(validation, name, None)

    certificate = {
        "name": field_("resource_record_name"),
        "type": field_("resource_record_type") or "CNAME",
        "value": field_("resource_record_value"),
    }
    return {
        "CNAME": {domain: target or "(the API's domain name, after the certificate is issued)"},
        "certificate": certificate,
        "hosted_zone": zone,
        "managed_by_llmcloud": bool(zone),
        "pending": pending,
    }


def waf_rate_limit(g: ResolvedGateway) -> int:
    """Requests per client IP per 5 minutes: five times every key's per-minute budget together, so that only
    a flood, never a heavy legitimate client, is blocked here (Envoy enforces each key's own rate)."""
    per_minute = sum(g.keys.values()) if g.keys else g.rate_limit_per_minute
    return min(2_000_000_000, max(WAF_MIN_LIMIT, per_minute * 5))


def build_front_door(
    r: Any, platform: Any, k8s_provider: Any, k8s_labels: dict[str, str], opts: pulumi.ResourceOptions
) -> AwsFrontDoor:
    ctx = platform.front_door_inputs(AwsFrontDoorInputs)
    cluster = ctx.cluster
    public = ctx.public_subnet_ids
    if public is None:
        # Existing subnets: the VPC's public subnets carry the tag EKS load balancers look for.
        public = aws.ec2.get_subnets_output(
            filters=[
                aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[ctx.vpc_id]),
                aws.ec2.GetSubnetsFilterArgs(name="tag:kubernetes.io/role/elb", values=["1"]),
            ],
            opts=pulumi.InvokeOutputOptions(provider=ctx.provider),
        ).ids
    return AwsFrontDoor(
        f"llm-{r.environment}-front-door",
        AwsFrontDoorArgs(
            gateway=r.gateway,
            namespace=r.namespace,
            stack_name=r.stack_name,
            vpc_id=ctx.vpc_id,
            public_subnet_ids=public,
            node_security_group_id=cluster.security_group_id,
            cluster_name=cluster.name,
            region=r.region,
            private_subnet_ids=ctx.private_subnet_ids,
            tags=ctx.tags,
            k8s_labels=k8s_labels,
            prod=r.environment == "prod",
            log_bucket=ctx.log_bucket,
            log_bucket_ready=ctx.log_bucket_ready,
        ),
        ctx.provider,
        k8s_provider,
        opts,
    )
