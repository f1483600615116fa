"""S3WeightsBucket: the private, versioned, encrypted bucket that holds model weights.

Five separate resources configure the bucket (pulumi-aws 7: `aws.s3.Bucket` is current, the
inline arguments and the *V2 resources are deprecated):
- all four public-access-block flags: no ACL or policy can ever make an object public;
- BucketOwnerEnforced ownership: ACLs are disabled, the account owns every object;
- default encryption: SSE-KMS with an S3 bucket key (one KMS call per object instead of per
  request) when the stack names a key, else SSE-S3;
- versioning, and a lifecycle that keeps at most three old versions, none longer than 30 days, and
  removes delete markers that no longer hide any version;
- a policy refusing any request not made over TLS;
- in prod, S3 server access logs to the stack's audit-log bucket (components/aws/logs.py): who read which
  weights, independently of the IAM policies.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..resolve import ResolvedBucket
from . import s3_bucket_name

_SseDefault = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs


def kms_key_arn(kms_key: str, partition: str, region: str, account: str) -> str:
    """The ARN of a key given as an ARN, a key id or an alias name (alias/...)."""
    if kms_key.startswith("arn:"):
        return kms_key
    kind = "" if kms_key.startswith("alias/") else "key/"
    return f"arn:{partition}:kms:{region}:{account}:{kind}{kms_key}"


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


@dataclass(frozen=True)
class S3WeightsBucketArgs:
    bucket: ResolvedBucket
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    log_bucket: pulumi.Input[str] | None = None  # the audit-log bucket's name: server access logs go there


class S3WeightsBucket(pulumi.ComponentResource):
    """Outputs: name, arn, url (s3://name), kms_key_arn (empty with SSE-S3)."""

    def __init__(self, name: str, args: S3WeightsBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:aws:S3WeightsBucket", name, None, opts)
        b = args.bucket
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        # Bucket names are global across every AWS account: the account id makes ours unique.
        physical = account.apply(lambda a: s3_bucket_name(b.physical_name, a))

        self.bucket = aws.s3.Bucket(
            name,
            bucket=physical,
            force_destroy=False,
            tags=args.tags,
            # The weights are the one thing teardown must not take: protect blocks `destroy`, and
            # retain_on_delete leaves the bucket in the account if the stack is removed anyway.
            opts=pulumi.ResourceOptions(parent=self, protect=b.protect, retain_on_delete=b.protect),
        )
        bucket_id = self.bucket.id
        # Known at preview (unlike the bucket's computed `arn` output), so the plan shows the exact policies.
        arn = pulumi.Output.all(partition, self.bucket.bucket).apply(lambda a: f"arn:{a[0]}:s3:::{a[1]}")
        # S3 refuses concurrent configuration changes on one bucket (OperationAborted): chain them.
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ownership]),
        )
        if b.kms_key:
            self.kms_key_arn = pulumi.Output.all(partition, account).apply(
                lambda a: kms_key_arn(b.kms_key or "", a[0], args.region, a[1])
            )
            default = _SseDefault(sse_algorithm="aws:kms", kms_master_key_id=b.kms_key)
        else:
            self.kms_key_arn = pulumi.Output.from_input("")
            default = _SseDefault(sse_algorithm="AES256")
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default, bucket_key_enabled=bool(b.kms_key)
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            # Suspended, not Disabled: valid whatever the bucket's history.
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if b.versioning else "Suspended"
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
        )
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ]
        if b.versioning:
            # Old versions of multi-GB weight files add up. One rule cannot say "at most three, none older
            # than 30 days": with newer_noncurrent_versions S3 keeps the newest three for ever. So two rules:
            # every old version expires 30 days after it was replaced, and beyond the newest three after one.
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html
            expire = aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs
            everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=everything,
                    noncurrent_version_expiration=expire(noncurrent_days=30),
                    # A delete marker with no version left behind it only slows listings: remove it.
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                )
            )
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="keep-three-old-versions",
                    status="Enabled",
                    filter=everything,
                    noncurrent_version_expiration=expire(noncurrent_days=1, newer_noncurrent_versions=3),
                )
            )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        tls_only = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket_id,
            policy=arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[lifecycle]),
        )
        if args.log_bucket is not None:
            from .logs import PREFIXES

            aws.s3.BucketLogging(
                f"{name}-access-logs",
                bucket=bucket_id,
                target_bucket=args.log_bucket,
                target_prefix=f"{PREFIXES['s3']}/{b.name}/",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[tls_only]),
            )

        self.name = self.bucket.bucket
        self.arn = arn
        self.url = self.bucket.bucket.apply(lambda n: f"s3://{n}")
        self.register_outputs({"name": self.name, "arn": self.arn, "url": self.url, "kms_key_arn": self.kms_key_arn})
