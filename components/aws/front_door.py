"""AwsFrontDoor: the HTTPS endpoint of the models on AWS (README, "The front door").

kind load_balancer (the default): an internet-facing Application Load Balancer in front of the
in-cluster Envoy gateway (k8s/gateway.py), which runs as a NodePort Service on the system nodes:
- idle timeout = request_timeout_seconds + 60 (ALB allows up to 4,000 s), so a streamed generation is
  never cut by the load balancer; the ALB passes chunked responses through as they come;
- HTTPS on 443 with an ACM certificate for gateway.domain (DNS validation) and a TLS 1.2+/1.3 policy;
  HTTP on 80 only answers 301 to HTTPS;
- a security group that accepts 443/80 from gateway.allowed_cidrs (default: anywhere: this is the
  front door, policy LLM-NET-001 allows it by the "gateway" name), and nodes that accept only the ALB.
Not used: API Gateway HTTP APIs (30 s integration cap, no streaming). kind managed (REST API with
response streaming) is validated by gateway_checks but not built yet.
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
        if g.kind != "load_balancer":
            raise ValueError(f"gateway.kind {g.kind} on aws is not built yet")
        assert g.domain is not None  # gateway_checks: load_balancer needs a domain
        cloud = pulumi.ResourceOptions(parent=self, provider=provider)
        tags = args.tags

        keys = api_keys(name, g.key_names, pulumi.ResourceOptions(parent=self))
        for key, value in keys.items():
            secret = aws.secretsmanager.Secret(f"{name}-key-{key}-secret", name=secret_name(args.stack_name, key),
                                               description=f"llmcloud API key {key} of {args.stack_name}",
                                               recovery_window_in_days=7, tags=tags, opts=cloud)
            aws.secretsmanager.SecretVersion(f"{name}-key-{key}-version", secret_id=secret.id, secret_string=value,
                                             opts=cloud)

        envoy = ApiGateway(f"{name}-envoy", ApiGatewayArgs(
            gateway=g, namespace=args.namespace, keys=keys, labels=args.k8s_labels, service_type="NodePort",
            node_ports=NODE_PORTS), pulumi.ResourceOptions(parent=self, provider=k8s_provider))

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

        cert = aws.acm.Certificate(f"{name}-gateway-cert", domain_name=g.domain, validation_method="DNS",
                                   tags=tags, opts=cloud)
        # Waits until the DNS validation record (output dns_records) exists and ACM has issued the certificate.
        validated = aws.acm.CertificateValidation(f"{name}-gateway-cert-validation", certificate_arn=cert.arn,
                                                  opts=cloud)
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
            certificate_arn=validated.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
            tags=tags, opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[envoy]))
        aws.lb.Listener(
            f"{name}-gateway-http-redirect", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port="443", status_code="HTTP_301"))],
            tags=tags, opts=cloud)

        self.endpoint = pulumi.Output.from_input(f"https://{g.domain}")
        self.api_keys = pulumi.Output.secret(pulumi.Output.all(**keys)) if keys else pulumi.Output.from_input({})
        self.dns_records = pulumi.Output.all(alb.dns_name, cert.domain_validation_options).apply(
            lambda a: {"CNAME": {g.domain: a[0]}, "certificate": a[1]})
        self.register_outputs({"endpoint": self.endpoint, "api_keys": self.api_keys, "dns_records": self.dns_records})


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
        node_group_asg=asg, tags=ctx.get("tags", r.labels), k8s_labels=k8s_labels),
        ctx.get("provider"), k8s_provider, opts)
