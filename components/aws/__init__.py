"""AWS (pulumi-aws, no pulumi-eks): the `CLOUD` object, llmcloud's one door to AWS (components/cloud.py).

This module imports nothing heavy: facts and small pure functions only. `checks` is pure Python too
(`validate` runs it without the SDK); every module that builds resources imports pulumi_aws at the top
and is loaded only when the target cloud is aws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..cloud import BaseCloud, CiLogin, CiTools, Cloud, RehearsalFacts, any_env, typed_options

if TYPE_CHECKING:
    import pulumi

    from ..gateway_checks import Product
    from ..resolve import ResolvedBucket, ResolvedStack
    from ..spec.errors import StackError
    from ..spec.load import LoadedStack
    from ..spec.model import AwsSpec
    from .cluster import EksCluster

# Tags: https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
_BAD = re.compile(r"[^\w .:/=+\-@]", re.UNICODE)


# The CI login action, pinned to the commit its release tag points at (git rev-parse TAG^{commit} in the
# action's repository, checked 2026-12-01); renovate.json proposes updates.
CI_LOGIN_ACTION = ("aws-actions/configure-aws-credentials", "e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3")


def s3_bucket_name(physical_name: str, account: str) -> str:
    """The S3 bucket llmcloud creates for a resolved bucket. Bucket names are global across every AWS account:
    at most 50 characters (Aws.bucket_name_max) of the stack's name for it, '-', the 12-digit account id
    (63 in all)."""
    return f"{physical_name[: Aws.bucket_name_max].rstrip('-')}-{account}"


def caller_account() -> str:
    """The AWS account of the ambient credentials (STS GetCallerIdentity)."""
    import boto3

    return str(boto3.client("sts").get_caller_identity()["Account"])


class Aws(BaseCloud):
    name = "aws"
    title = "AWS"
    sdk_module = "pulumi_aws"
    pip_extra = "aws"
    object_store_scheme = "s3"

    # gateway kind -> the product llmcloud builds (limits checked by components/gateway_checks.py).
    # Never used: API Gateway HTTP APIs (30 s integration cap, no response streaming).
    @property
    def front_door_products(self) -> Mapping[str, Product]:
        from ..gateway_checks import (
            AWS_ALB_TIMEOUT,
            AWS_BUFFERED_MAX,
            AWS_MANAGED_BUFFERED,
            AWS_MANAGED_TIMEOUT,
            LB_TIMEOUT_MARGIN,
            Product,
        )

        return MappingProxyType(
            {
                # ALB idle timeout: 1-4,000 s.
                "load_balancer": Product(
                    "Application Load Balancer", 4_000 - LB_TIMEOUT_MARGIN, True, limit=AWS_ALB_TIMEOUT
                ),
                # REST API integration with response_transfer_mode STREAM: up to 15 minutes; buffered: 29 s.
                # needs_domain: the REST API is reached through its custom domain only.
                "managed": Product(
                    "API Gateway REST API (response streaming)",
                    900,
                    True,
                    limit=AWS_MANAGED_TIMEOUT,
                    buffered_max=AWS_BUFFERED_MAX,
                    buffered_limit=AWS_MANAGED_BUFFERED,
                ),
            }
        )

    def front_door_problems(self, loaded: LoadedStack, resolved: ResolvedStack, kind: str) -> list[StackError]:
        from ..gateway_checks import AWS_EXISTING_SUBNETS

        block = aws_options(resolved)
        if kind == "load_balancer" and block.subnet_ids and not block.vpc_id:
            return [loaded.error(("aws", "subnet_ids"), *AWS_EXISTING_SUBNETS)]
        return []

    ci_login = CiLogin(
        "Authenticate to AWS (OIDC)",
        CI_LOGIN_ACTION[0],
        MappingProxyType({"role-to-assume": "${{ vars.AWS_ROLE_ARN }}", "aws-region": "${{ vars.AWS_REGION }}"}),
        "AWS_OIDC_TOKEN",
        "sts.amazonaws.com",
        (
            'echo "$AWS_OIDC_TOKEN" > "$CI_BUILDS_DIR/.ci-oidc-token"',
            'export AWS_WEB_IDENTITY_TOKEN_FILE="$CI_BUILDS_DIR/.ci-oidc-token" AWS_ROLE_ARN="$AWS_ROLE_ARN"',
        ),
        "s3",
        CI_LOGIN_ACTION[1:],
    )
    # `aws eks get-token`: GitHub's Ubuntu image has the AWS CLI v2 (actions/runner-images
    # images/ubuntu/scripts/build/install-aws-tools.sh); GitLab jobs install it as AWS's guide does
    # (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html, Linux x86_64).
    ci_tools = CiTools(
        gitlab_script=(
            "curl -fsSL https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip -o /tmp/awscliv2.zip",
            "unzip -q /tmp/awscliv2.zip -d /tmp && /tmp/aws/install",
        ),
    )
    bucket_name_max = 50  # the part of the S3 name the deploy keeps before '-<account id>' (s3_bucket_name)
    token_prefix = "aws"
    region_field = "region"
    default_system_machine = "m6i.xlarge"
    in_cluster_autoscaler = True  # EKS managed node groups scale only when the Cluster Autoscaler asks
    data_resource_types = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
    unsupported = MappingProxyType(
        {
            "tpu": "AWS offers no TPUs; use Inferentia2/Trainium (Neuron) or a GPU",
            "node_pools.provisioning": "flex-start and GCE reservations are GKE's; on AWS set capacity_reservation "
            "(an EC2 Capacity Block or reservation)",
            "node_pools.reservation": "a GCE reservation name; on AWS set capacity_reservation instead",
        }
    )
    credentials_help = (
        "AWS credentials: AWS_PROFILE or ~/.aws/config (`aws sso login`), a role via "
        "AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (OIDC in CI), or a container/instance role"
    )
    label_fields = ("tags",)
    max_labels = 50
    prices_url_env = "LLMCLOUD_AWS_PRICING_URL"
    device_plugins = ("gpu", "neuron")  # EKS runs neither the NVIDIA nor the Neuron device plugin
    refresh_note = " (the AWS offer files are several GB each; this takes minutes)"

    def label_key(self, key: str) -> str:
        """At most 128 characters of letters, digits, spaces and _.:/=+-@; the aws: prefix is reserved."""
        key = _BAD.sub("_", key)
        if key.lower().startswith("aws:"):
            key = "x-" + key
        return key[:128] or "_"

    def label_value(self, value: str) -> str:
        return _BAD.sub("_", str(value))[:256]

    def label_problem(self, key: str, value: str) -> str | None:
        if len(key) > 128 or len(value) > 256 or key.lower().startswith("aws:"):
            return f"{key}={value}: not an AWS tag"
        return None

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if not token.startswith("aws:"):
            return None
        if token.startswith("aws:index/getCallerIdentity"):
            return {
                "accountId": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/offline",
                "userId": "OFFLINE",
                "id": "123456789012",
            }
        if token.startswith("aws:index/getPartition"):
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token.startswith("aws:index/getAvailabilityZones"):
            return {"names": [], "zoneIds": []}
        if token.startswith("aws:iam/getSessionContext"):
            # An IAM user or role ARN is its own issuer; the mock identity is a user.
            arn = args.get("arn", "arn:aws:iam::123456789012:user/offline")
            return {"arn": arn, "issuerArn": arn, "issuerId": "OFFLINE", "issuerName": arn.rsplit("/", 1)[-1]}
        return {}

    def has_credentials(self, env: Mapping[str, str], home: Path) -> bool:
        return (
            any_env(
                env,
                "AWS_ACCESS_KEY_ID",
                "AWS_PROFILE",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            )
            or (home / ".aws" / "credentials").is_file()
            or (home / ".aws" / "config").is_file()
        )

    def weights_url(self, bucket: ResolvedBucket) -> str:
        # The bucket the deploy creates carries the account id (s3_bucket_name): asked of STS with the ambient
        # credentials, as the deploy's get_caller_identity does. Raises when they cannot be asked.
        return f"s3://{s3_bucket_name(bucket.physical_name, caller_account())}"

    def rehearsal_facts(self) -> RehearsalFacts:
        from . import rehearsal  # pure Python; mypy checks the module against RehearsalFacts

        return rehearsal


@dataclass(frozen=True)
class AwsFrontDoorInputs:
    """What components/aws/front_door.py builds on, from the platform (Platform.front_door)."""

    provider: pulumi.ProviderResource  # the aws provider of the stack's region
    vpc_id: pulumi.Input[str]
    cluster: EksCluster  # its name and node security group
    tags: dict[str, str]
    private_subnet_ids: pulumi.Input[list[str]]
    public_subnet_ids: pulumi.Input[list[str]] | None = None  # None: existing subnets, found by their elb tag
    log_bucket: pulumi.Input[str] | None = None  # prod: the audit-log bucket the load balancer logs to
    log_bucket_ready: pulumi.Resource | None = None  # its policy, which lets the load balancer write


def aws_options(r: ResolvedStack) -> AwsSpec:
    """The stack's `aws:` block of a stack resolved for aws (ResolvedStack.cloud_options), typed."""
    from ..spec.model import AwsSpec  # pydantic: imported when called (the policy pack's venv has none)

    return typed_options(r, AwsSpec)


CLOUD: Cloud = Aws()  # mypy checks Aws against the Cloud protocol (tests/unit/test_types.py)
