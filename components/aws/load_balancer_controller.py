"""AwsLoadBalancerController: the AWS Load Balancer Controller, here only to keep the front door's target
groups pointed at the Envoy pods (TargetGroupBinding, IP targets).

Why not attach the target group to the node group's Auto Scaling group: a managed node group owns its ASG
(EKS replaces it on some updates, and the attachment then points at nothing), every node would be a target
whether Envoy runs there or not, and a node leaving is deregistered only when the ASG notices. With a
TargetGroupBinding the controller registers exactly the pods behind the Envoy Service, as they come and go.
https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/targetgroupbinding/targetgroupbinding/

- Pod Identity (components/aws/identity.py) with a policy for what TargetGroupBindings need: describe, and
  register/deregister targets of this stack's target groups only. It manages no security group rules
  (the bindings carry no `networking`: llmcloud writes those rules itself) and creates no load balancer
  (no Ingress or LoadBalancer Service uses it: the service mutator webhook is off).
- region and vpcId are given: the controller never asks IMDS (the nodes' hop limit of 1 keeps pods off it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .identity import EksPodIdentity, EksPodIdentityArgs

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
# Chart 3.5.0 ships controller v3.5.0 (aws/eks-charts stable/aws-load-balancer-controller/Chart.yaml at commit
# 5239609, 2026-08-03, the newest stored; every value below exists in its values.yaml; the controller's
# docs/install/iam_policy.json is unchanged since v2.15.0). TargetGroupBinding CRD of v3.5.0 in
# tests/data/crds. Checked 2026-12-01.
CHART = {"chart": "aws-load-balancer-controller", "repo": "https://aws.github.io/eks-charts", "version": "3.5.0"}
TGB_API_VERSION = "elbv2.k8s.aws/v1beta1"


def controller_policy(partition: str, region: str, account: str, target_group_prefix: str) -> str:
    """Describe everything it looks at; change the targets of this stack's target groups only."""
    groups = f"arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{target_group_prefix}*/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Describe",
                    "Effect": "Allow",
                    "Resource": "*",
                    "Action": [
                        "ec2:DescribeAvailabilityZones",
                        "ec2:DescribeInstances",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeVpcs",
                        "ec2:DescribeTags",
                        "elasticloadbalancing:DescribeListeners",
                        "elasticloadbalancing:DescribeLoadBalancers",
                        "elasticloadbalancing:DescribeTags",
                        "elasticloadbalancing:DescribeTargetGroupAttributes",
                        "elasticloadbalancing:DescribeTargetGroups",
                        "elasticloadbalancing:DescribeTargetHealth",
                    ],
                },
                {
                    "Sid": "RegisterOwnTargets",
                    "Effect": "Allow",
                    "Resource": groups,
                    "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                },
            ],
        }
    )


def values(cluster_name: str, region: str, vpc_id: str) -> dict[str, object]:
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "enableServiceMutatorWebhook": False,  # LoadBalancer Services stay with whoever else handles them
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,  # Ingress features, unused here
        "nodeSelector": {"llmcloud.dev/pool": "system"},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }


def target_group_binding(
    name: str, namespace: str, service_name: Any, port: int, target_group_arn: Any, labels: dict[str, str]
) -> dict[str, Any]:
    """The TargetGroupBinding object: IP targets (the pods), no networking section."""
    return {
        "apiVersion": TGB_API_VERSION,
        "kind": "TargetGroupBinding",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "serviceRef": {"name": service_name, "port": port},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
        },
    }


@dataclass(frozen=True)
class AwsLoadBalancerControllerArgs:
    cluster_name: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    account: pulumi.Input[str]
    target_group_prefix: str  # the stack's target group names start with it
    tags: dict[str, str] = field(default_factory=dict)


class AwsLoadBalancerController(pulumi.ComponentResource):
    """Outputs: release, role_arn."""

    def __init__(
        self,
        name: str,
        args: AwsLoadBalancerControllerArgs,
        provider: Any,
        k8s_provider: Any,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmcloud:aws:LoadBalancerController", name, None, opts)
        policy = pulumi.Output.all(args.partition, args.account).apply(
            lambda a: controller_policy(a[0], args.region, a[1], args.target_group_prefix)
        )
        identity = EksPodIdentity(
            f"{name}-identity",
            EksPodIdentityArgs(
                cluster_name=args.cluster_name,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                policy=policy,
                description="AWS Load Balancer Controller: register the front door's targets",
                tags=args.tags,
            ),
            pulumi.ResourceOptions(parent=self, provider=provider),
        )
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="aws-load-balancer-controller",
            chart=CHART["chart"],
            version=CHART["version"],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART["repo"]),
            namespace=NAMESPACE,
            values=pulumi.Output.all(args.cluster_name, args.vpc_id).apply(lambda a: values(a[0], args.region, a[1])),
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[identity]),
        )
        self.release_resource = release
        self.release = release.name
        self.role_arn = identity.role_arn
        self.register_outputs({"release": self.release, "role_arn": self.role_arn})
