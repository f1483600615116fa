"""EksPodIdentity: an IAM role that pods of one Kubernetes service account assume through EKS Pod
Identity, with no access key and no OIDC provider.

The role trusts the pods.eks.amazonaws.com service (sts:AssumeRole to get credentials,
sts:TagSession to attach the cluster/namespace/service-account session tags), and a
PodIdentityAssociation binds it to `<namespace>/<service_account>`. The eks-pod-identity-agent
add-on hands the credentials to the pods; the service account needs no annotation.
https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html

Used twice: the model servers (read-only on the weights buckets) and Cluster Autoscaler.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .cluster import trust_policy
from .node_group import CA_TAG

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


def bucket_read_policy(bucket_arns: Sequence[str], kms_key_arns: Sequence[str] = (), region: str = "") -> str:
    """Read-only access to exactly these buckets: list the bucket, get its objects; decrypt with its
    KMS key only through S3."""
    statements: list[dict[str, object]] = [
        {"Sid": "ListWeights", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": list(bucket_arns)},
        {
            "Sid": "ReadWeights",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{arn}/*" for arn in bucket_arns],
        },
    ]
    keys = [k for k in kms_key_arns if k]
    if keys:
        statements.append(
            {
                "Sid": "DecryptWeights",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": keys,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def cluster_autoscaler_policy(cluster_name: str) -> str:
    """What Cluster Autoscaler needs on AWS: read everywhere, resize only this cluster's groups.
    https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md#iam-policy"""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Resource": "*",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                        "eks:DescribeNodegroup",
                    ],
                },
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Resource": "*",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Condition": {"StringEquals": {f"aws:ResourceTag/{CA_TAG}/{cluster_name}": "owned"}},
                },
            ],
        }
    )


@dataclass(frozen=True)
class EksPodIdentityArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    service_account: str  # the Kubernetes service account
    policy: pulumi.Input[str]  # the role's permissions, an IAM policy document (JSON)
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


class EksPodIdentity(pulumi.ComponentResource):
    """Outputs: role_arn, annotations (always {}: Pod Identity needs none on the service account)."""

    def __init__(self, name: str, args: EksPodIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:aws:EksPodIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=trust_policy(POD_IDENTITY_PRINCIPAL, POD_IDENTITY_ACTIONS),
            description=args.description or f"Pod Identity of {args.namespace}/{args.service_account}",
            max_session_duration=3600,
            tags=args.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(f"{name}-access", role=role.id, policy=args.policy, opts=child)
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=args.service_account,
            role_arn=role.arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.role_arn = role.arn
        self.annotations: pulumi.Output[dict[str, str]] = pulumi.Output.from_input({})
        self.register_outputs({"role_arn": self.role_arn, "annotations": self.annotations})
