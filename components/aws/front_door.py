"""AwsFrontDoor: the HTTPS endpoint of the models on AWS (README, "The front door").

kind load_balancer (the default): an internet-facing Application Load Balancer in front of the
in-cluster Envoy gateway (k8s/gateway.py), which runs as a NodePort Service on the system nodes:
- idle timeout = request_timeout_seconds + 60 (ALB allows up to 4,000 s), so a streamed generation is
  never cut by the load balancer; the ALB passes chunked responses through as they come;
- HTTPS on 443 with an ACM certificate for gateway.domain (DNS validation) and a TLS 1.2+/1.3 policy;
  HTTP on 80 only answers 301 to HTTPS;
- a security group that accepts 443/80 from gateway.allowed_cidrs (default: anywhere: this is the
  front door, policy LLM-NET-001 allows it by the "gateway" name), and nodes that accept only the ALB.
kind managed: an API Gateway REST API whose HTTP_PROXY integration streams (response_transfer_mode
STREAM, up to 900 s) through a VPC link to an internal Network Load Balancer in front of the same Envoy
NodePort; the execute-api endpoint is off, clients use gateway.domain (TLS 1.2, ACM certificate), and
the stage throttles the sum of the keys' rates (Envoy still checks each key and its own rate).
Not used: API Gateway HTTP APIs (30 s integration cap, no streaming).
API keys: generated (pulumi_random), kept in Secrets Manager, handed to Envoy as a Kubernetes Secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..gateway_checks import ResolvedGateway
from ..k8s.gateway import API_PORT, HEALTH_PORT, ApiGateway, ApiGatewayArgs, api_keys

NODE_PORTS = {API_PORT: 30080, HEALTH_PORT: 30081}
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class AwsFrontDoorArgs:
    gateway: ResolvedGateway
    namespace: str
    stack_name: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    node_security_group_id: pulumi.Input[str]
    node_group_asg: pulumi.Input[str]  # the system node group's Auto Scaling group
    private_subnet_ids: pulumi.Input[list[str]] | None = None  # kind managed: the internal NLB's subnets
    vpc_cidr: str = "10.0.0.0/16"  # kind managed: the VPC link's NLB reaches the nodes from inside the VPC
    prod: bool = False  # prod keeps deleted API-key secrets recoverable for 7 days
    tags: dict[str, str] = field(default_factory=dict)
    k8s_labels: dict[str, str] = field(default_factory=dict)


def secret_name(stack_name: str, key: str) -> str:
    return f"llmcloud/{stack_name}/api-keys/{key}"


class AwsFrontDoor(pulumi.ComponentResource):
    """Outputs: endpoint, api_keys (secret), dns_records."""

    def __init__(self, name: str, args: AwsFrontDoorArgs, provider: Any, k8s_provider: Any,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:aws:FrontDoor", name, None, opts)
        g = args.gateway
        assert g.domain is not None  # gateway_checks: both kinds need a domain
        cloud = pulumi.ResourceOptions(parent=self, provider=provider)
        tags = args.tags

        keys = api_keys(name, g.key_names, pulumi.ResourceOptions(parent=self))
        for key, value in keys.items():
            secret = aws.secretsmanager.Secret(f"{name}-key-{key}-secret", name=secret_name(args.stack_name, key),
                                               description=f"llmcloud API key {key} of {args.stack_name}",
                                               # Secrets Manager keeps a deleted name for the recovery
                                               # window: 0 (delete at once) lets destroy-then-up work the
                                               # same day outside prod.
                                               recovery_window_in_days=7 if args.prod else 0, tags=tags,
                                               opts=cloud)
            aws.secretsmanager.SecretVersion(f"{name}-key-{key}-version", secret_id=secret.id, secret_string=value,
                                             opts=cloud)

        envoy = ApiGateway(f"{name}-envoy", ApiGatewayArgs(
            gateway=g, namespace=args.namespace, keys=keys, labels=args.k8s_labels, service_type="NodePort",
            node_ports=NODE_PORTS), pulumi.ResourceOptions(parent=self, provider=k8s_provider))

        cert = aws.acm.Certificate(f"{name}-gateway-cert", domain_name=g.domain, validation_method="DNS",
                                   tags=tags, opts=cloud)
        # Waits until the DNS validation record (output dns_records) exists and ACM has issued the certificate.
        validated = aws.acm.CertificateValidation(f"{name}-gateway-cert-validation", certificate_arn=cert.arn,
                                                  opts=cloud)
        if g.kind == "managed":
            target = self._rest_api(name, args, validated.certificate_arn, cloud, envoy)
        else:
            target = self._alb(name, args, validated.certificate_arn, cloud, provider, envoy)

        self.endpoint = pulumi.Output.from_input(f"https://{g.domain}")
        self.api_keys = pulumi.Output.secret(pulumi.Output.all(**keys)) if keys else pulumi.Output.from_input({})
        self.dns_records = pulumi.Output.all(target, cert.domain_validation_options).apply(
            lambda a: {"CNAME": {g.domain: a[0]}, "certificate": a[1]})
        self.register_outputs({"endpoint": self.endpoint, "api_keys": self.api_keys, "dns_records": self.dns_records})

    def _alb(self, name: str, args: AwsFrontDoorArgs, certificate_arn: pulumi.Input[str],
             cloud: pulumi.ResourceOptions, provider: Any, envoy: pulumi.Resource) -> pulumi.Output[str]:
        """kind load_balancer: the ALB; returns its DNS name (the domain's CNAME target)."""
        g, tags = args.gateway, args.tags
        sources = list(g.allowed_cidrs) or ["0.0.0.0/0"]
        alb_sg = aws.ec2.SecurityGroup(f"{name}-gateway-alb", vpc_id=args.vpc_id,
                                       description="llmcloud front door: HTTPS (and the HTTP redirect) from clients",
                                       tags={**tags, "Name": f"{args.stack_name}-gateway-alb"}, opts=cloud)
        for port in (443, 80):
            for i, cidr in enumerate(sources):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-gateway-alb-in-{port}-{i}", security_group_id=alb_sg.id, ip_protocol="tcp",
                    from_port=port, to_port=port, cidr_ipv4=cidr, tags=tags, opts=cloud)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-gateway-alb-to-nodes", security_group_id=alb_sg.id, ip_protocol="tcp",
            from_port=NODE_PORTS[API_PORT], to_port=NODE_PORTS[HEALTH_PORT],
            referenced_security_group_id=args.node_security_group_id, tags=tags, opts=cloud)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-gateway-nodes-from-alb", security_group_id=args.node_security_group_id, ip_protocol="tcp",
            from_port=NODE_PORTS[API_PORT], to_port=NODE_PORTS[HEALTH_PORT],
            referenced_security_group_id=alb_sg.id, tags=tags, opts=cloud)

        alb = aws.lb.LoadBalancer(
            f"{name}-gateway", name=f"{args.stack_name}-gw"[:32], load_balancer_type="application", internal=False,
            security_groups=[alb_sg.id], subnets=args.public_subnet_ids,
            idle_timeout=g.idle_timeout_seconds, drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
            tags=tags, opts=cloud)
        tg = aws.lb.TargetGroup(
            f"{name}-gateway-targets", name=f"{args.stack_name}-gw"[:32], port=NODE_PORTS[API_PORT], protocol="HTTP",
            target_type="instance", vpc_id=args.vpc_id,
            # Let in-flight generations finish when a node leaves (ALB allows up to 3,600 s).
            deregistration_delay=min(g.request_timeout_seconds, 3600),
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTP", port=str(NODE_PORTS[HEALTH_PORT]), path="/healthz", matcher="200",
                interval=10, healthy_threshold=2, unhealthy_threshold=3),
            tags=tags, opts=cloud)
        aws.autoscaling.Attachment(f"{name}-gateway-nodes", autoscaling_group_name=args.node_group_asg,
                                   lb_target_group_arn=tg.arn, opts=cloud)
        aws.lb.Listener(
            f"{name}-gateway-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS", ssl_policy=SSL_POLICY,
            certificate_arn=certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
            tags=tags, opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[envoy]))
        aws.lb.Listener(
            f"{name}-gateway-http-redirect", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port="443", status_code="HTTP_301"))],
            tags=tags, opts=cloud)
        return alb.dns_name

    def _rest_api(self, name: str, args: AwsFrontDoorArgs, certificate_arn: pulumi.Input[str],
                  cloud: pulumi.ResourceOptions, envoy: pulumi.Resource) -> pulumi.Output[str]:
        """kind managed: REST API → VPC link → internal NLB → Envoy; returns the regional domain name."""
        g, tags = args.gateway, args.tags
        assert args.private_subnet_ids is not None
        nlb = aws.lb.LoadBalancer(
            f"{name}-gateway-nlb", name=f"{args.stack_name}-gwn"[:32], load_balancer_type="network", internal=True,
            subnets=args.private_subnet_ids, enable_cross_zone_load_balancing=True, tags=tags, opts=cloud)
        tg = aws.lb.TargetGroup(
            f"{name}-gateway-nlb-targets", name=f"{args.stack_name}-gwn"[:32], port=NODE_PORTS[API_PORT],
            protocol="TCP", target_type="instance", vpc_id=args.vpc_id,
            deregistration_delay=min(g.request_timeout_seconds, 3600),
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTP", port=str(NODE_PORTS[HEALTH_PORT]), path="/healthz", interval=10,
                healthy_threshold=2, unhealthy_threshold=3),
            tags=tags, opts=cloud)
        aws.autoscaling.Attachment(f"{name}-gateway-nlb-nodes", autoscaling_group_name=args.node_group_asg,
                                   lb_target_group_arn=tg.arn, opts=cloud)
        aws.lb.Listener(
            f"{name}-gateway-nlb-tcp", load_balancer_arn=nlb.arn, port=80, protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
            tags=tags, opts=pulumi.ResourceOptions.merge(cloud, pulumi.ResourceOptions(depends_on=[envoy])))
        # An NLB without security groups passes the VPC link's addresses through: nodes accept the VPC.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-gateway-nodes-from-vpc", security_group_id=args.node_security_group_id, ip_protocol="tcp",
            from_port=NODE_PORTS[API_PORT], to_port=NODE_PORTS[HEALTH_PORT], cidr_ipv4=args.vpc_cidr, tags=tags,
            opts=cloud)
        link = aws.apigateway.VpcLink(f"{name}-gateway-link", name=f"{args.stack_name}-gateway",
                                      target_arn=nlb.arn, tags=tags, opts=cloud)
        api = aws.apigateway.RestApi(
            f"{name}-gateway-api", name=f"{args.stack_name}-gateway",
            description=f"llmcloud front door of {args.stack_name}",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            disable_execute_api_endpoint=True,  # only https://<domain>, with its TLS policy
            tags=tags, opts=cloud)
        v1 = aws.apigateway.Resource(f"{name}-gateway-v1", rest_api=api.id, parent_id=api.root_resource_id,
                                     path_part="v1", opts=cloud)
        proxy = aws.apigateway.Resource(f"{name}-gateway-proxy", rest_api=api.id, parent_id=v1.id,
                                        path_part="{proxy+}", opts=cloud)
        method = aws.apigateway.Method(
            f"{name}-gateway-any", rest_api=api.id, resource_id=proxy.id, http_method="ANY",
            # Envoy checks the Bearer key on every route; API Gateway API keys would need a second header.
            authorization="NONE", request_parameters={"method.request.path.proxy": True}, opts=cloud)
        integration = aws.apigateway.Integration(
            f"{name}-gateway-stream", rest_api=api.id, resource_id=proxy.id, http_method=method.http_method,
            type="HTTP_PROXY", integration_http_method="ANY",
            uri=nlb.dns_name.apply(lambda d: f"http://{d}/v1/{{proxy}}"),
            connection_type="VPC_LINK", connection_id=link.id,
            request_parameters={"integration.request.path.proxy": "method.request.path.proxy"},
            # STREAM: tokens reach the client as they are generated, for up to 15 minutes.
            response_transfer_mode="STREAM" if g.streaming else "BUFFERED",
            timeout_milliseconds=g.request_timeout_seconds * 1000, opts=cloud)
        deployment = aws.apigateway.Deployment(
            f"{name}-gateway-deployment", rest_api=api.id,
            triggers={"shape": f"{g.request_timeout_seconds}-{g.streaming}-{sorted(g.keys.items())}"},
            opts=pulumi.ResourceOptions.merge(cloud, pulumi.ResourceOptions(depends_on=[integration])))
        stage = aws.apigateway.Stage(f"{name}-gateway-stage", rest_api=api.id, deployment=deployment.id,
                                     stage_name="api", tags=tags, opts=cloud)
        total_per_second = max(1.0, sum(g.keys.values() or [g.rate_limit_per_minute]) / 60)
        aws.apigateway.MethodSettings(
            f"{name}-gateway-throttle", rest_api=api.id, stage_name=stage.stage_name, method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=total_per_second, throttling_burst_limit=max(10, int(total_per_second * 2))),
            opts=cloud)
        domain = aws.apigateway.DomainName(
            f"{name}-gateway-domain", domain_name=g.domain, regional_certificate_arn=certificate_arn,
            security_policy="TLS_1_2",
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            tags=tags, opts=cloud)
        aws.apigateway.BasePathMapping(f"{name}-gateway-mapping", rest_api=api.id, stage_name=stage.stage_name,
                                       domain_name=domain.domain_name, opts=cloud)
        return domain.regional_domain_name


def build_front_door(r: Any, platform: Any, k8s_provider: Any, k8s_labels: dict[str, str],
                     opts: pulumi.ResourceOptions) -> AwsFrontDoor:
    ctx = platform.front_door
    cluster = ctx["cluster"]
    asg = cluster.system_node_group.resources.apply(lambda res: res[0].autoscaling_groups[0].name)
    public = ctx.get("public_subnet_ids")
    if public is None:
        # Existing subnets: the VPC's public subnets carry the tag EKS load balancers look for.
        public = aws.ec2.get_subnets_output(filters=[
            aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[ctx["vpc_id"]]),
            aws.ec2.GetSubnetsFilterArgs(name="tag:kubernetes.io/role/elb", values=["1"])],
            opts=pulumi.InvokeOutputOptions(provider=ctx.get("provider"))).ids
    return AwsFrontDoor(f"llm-{r.environment}-front-door", AwsFrontDoorArgs(
        gateway=r.gateway, namespace=r.namespace, stack_name=r.stack_name, vpc_id=ctx["vpc_id"],
        public_subnet_ids=public, node_security_group_id=cluster.security_group_id,
        node_group_asg=asg, private_subnet_ids=ctx.get("private_subnet_ids"), tags=ctx.get("tags", r.labels),
        k8s_labels=k8s_labels, prod=r.environment == "prod"),
        ctx.get("provider"), k8s_provider, opts)
