"""AuditLogBucket: where prod's independent records go: VPC flow logs, S3 server access logs of the weights
buckets and the ALB's access logs (one private bucket per stack, kept 90 days).

- SSE-S3, not KMS: ALB access logs and S3 server access logs can only be written to SSE-S3 buckets.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
- BucketOwnerEnforced (no ACLs): every writer is allowed by the bucket policy, each to its own prefix and
  only for this account (aws:SourceAccount), and nothing over plain HTTP.
- Flow logs (delivery.logs.amazonaws.com), S3 server access logs (logging.s3.amazonaws.com) and ALB logs
  (the region's Elastic Load Balancing account, or logdelivery.elasticloadbalancing.amazonaws.com in
  regions opened since August 2022).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from . import s3_bucket_name

RETENTION_DAYS = 90
PREFIXES = {"flow": "vpc-flow-logs", "s3": "s3-access", "alb": "alb"}


def log_bucket_policy(bucket_arn: str, account: str, elb_account_arn: str | None) -> str:
    """Each log writer may put objects under its prefix for this account only; no request without TLS."""

    def put(sid: str, principal: dict[str, str], prefix: str, extra: dict | None = None) -> dict:
        condition: dict = {"StringEquals": {"aws:SourceAccount": account}} if "Service" in principal else {}
        for key, value in (extra or {}).items():
            condition.setdefault(key, {}).update(value)
        statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{prefix}/*",
        }
        if condition:
            statement["Condition"] = condition
        return statement

    statements = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        put(
            "FlowLogsWrite",
            {"Service": "delivery.logs.amazonaws.com"},
            PREFIXES["flow"],
            {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        ),
        {
            "Sid": "FlowLogsAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
        put("S3AccessLogsWrite", {"Service": "logging.s3.amazonaws.com"}, PREFIXES["s3"]),
        put(
            "AlbLogsWrite",
            {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            f"{PREFIXES['alb']}/AWSLogs/{account}",
        ),
    ]
    if elb_account_arn:
        statements.append(
            put("AlbLogsWriteLegacyRegion", {"AWS": elb_account_arn}, f"{PREFIXES['alb']}/AWSLogs/{account}")
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class AuditLogBucketArgs:
    physical_name: str  # without the account suffix, at most 50 characters
    protect: bool = False  # kept like the weights: protect blocks destroy, retained if the stack goes anyway
    tags: dict[str, str] = field(default_factory=dict)


class AuditLogBucket(pulumi.ComponentResource):
    """Outputs: name, arn."""

    def __init__(self, name: str, args: AuditLogBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:aws:AuditLogBucket", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        elb = aws.elb.get_service_account_output(opts=invoke).arn
        physical = account.apply(lambda a: s3_bucket_name(args.physical_name, a))
        self.bucket = aws.s3.Bucket(
            name,
            bucket=physical,
            force_destroy=False,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        bucket_id = self.bucket.id
        arn = pulumi.Output.all(partition, self.bucket.bucket).apply(lambda a: f"arn:{a[0]}:s3:::{a[1]}")

        def after(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        public = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=after(ownership),
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=after(public),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=after(encryption),
        )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=RETENTION_DAYS),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=1
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=after(versioning),
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=pulumi.Output.all(arn, account, elb).apply(lambda a: log_bucket_policy(a[0], a[1], a[2])),
            opts=after(lifecycle),
        )
        self.name = self.bucket.bucket
        self.arn = arn
        self.register_outputs({"name": self.name, "arn": self.arn})
