"""GcsWeightsBucket: the private, versioned, encrypted bucket that holds model weights.

Uniform bucket-level access (no object ACLs) and enforced public access prevention mean no object
can ever be made public, whatever IAM says later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from ..resolve import ResolvedBucket
from .options import child

# Cloud Storage writes usage logs as this group: it needs objectCreator on the log bucket.
# https://cloud.google.com/storage/docs/access-logs (checked 2026-12-01)
STORAGE_ANALYTICS = "group:cloud-storage-analytics@google.com"
ROLE_LABEL = "llmcloud-bucket-role"  # "access-logs" on the log bucket: the pricer tells it from the weights


def lifecycle_rules(versioning: bool) -> list[gcp.storage.BucketLifecycleRuleArgs] | None:
    """Old versions of multi-GB weight files add up: keep at most three, and none older than 30 days.
    Conditions within one rule are ANDed, so that takes two rules (either one deletes).
    https://cloud.google.com/storage/docs/lifecycle#conditions"""
    if not versioning:
        return None
    delete = gcp.storage.BucketLifecycleRuleActionArgs(type="Delete")
    return [
        gcp.storage.BucketLifecycleRuleArgs(
            action=delete,
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(with_state="ARCHIVED", num_newer_versions=3),
        ),
        gcp.storage.BucketLifecycleRuleArgs(
            action=delete,
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                with_state="ARCHIVED", days_since_noncurrent_time=30
            ),
        ),
    ]


def log_bucket_name(physical_name: str) -> str:
    return f"{physical_name[: 63 - len('-access-logs')].rstrip('-')}-access-logs"


@dataclass(frozen=True)
class GcsWeightsBucketArgs:
    bucket: ResolvedBucket
    location: str  # the cluster's region: weights next to the GPUs load fastest and cost no egress
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()  # the enabled APIs
    # Usage (access) logs into a bucket of their own: on for protected (production) buckets.
    enable_access_logs: bool = False


class GcsWeightsBucket(pulumi.ComponentResource):
    """Outputs: name, url (gs://name)."""

    def __init__(self, name: str, args: GcsWeightsBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GcsWeightsBucket", name, None, opts)
        b = args.bucket
        encryption = gcp.storage.BucketEncryptionArgs(default_kms_key_name=b.kms_key) if b.kms_key else None
        # The data and its logs survive `destroy`: protect blocks it, retain_on_delete leaves the
        # bucket in the cloud if the stack is removed anyway.
        keep = child(self, args.depends_on, protect=b.protect, retain_on_delete=b.protect)
        logging = None
        self.log_bucket = None
        if args.enable_access_logs:
            self.log_bucket = gcp.storage.Bucket(
                f"{name}-access-logs",
                name=log_bucket_name(b.physical_name),
                location=args.location.upper(),
                storage_class="STANDARD",
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning=gcp.storage.BucketVersioningArgs(enabled=True),
                encryption=encryption,
                force_destroy=b.force_destroy,
                lifecycle_rules=[
                    gcp.storage.BucketLifecycleRuleArgs(
                        action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                        condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=365),
                    )
                ],
                labels={**args.labels, ROLE_LABEL: "access-logs"},
                opts=keep,
            )
            gcp.storage.BucketIAMMember(
                f"{name}-access-logs-writer",
                bucket=self.log_bucket.name,
                role="roles/storage.objectCreator",
                member=STORAGE_ANALYTICS,
                opts=child(self, args.depends_on),
            )
            logging = gcp.storage.BucketLoggingArgs(log_bucket=self.log_bucket.name, log_object_prefix=b.physical_name)
        self.bucket = gcp.storage.Bucket(
            name,
            name=b.physical_name,
            location=args.location.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=b.versioning),
            encryption=encryption,
            force_destroy=b.force_destroy,  # true only for `llmcloud destroy --delete-data`
            lifecycle_rules=lifecycle_rules(b.versioning),
            logging=logging,
            labels=args.labels,
            opts=keep,
        )
        self.name = self.bucket.name
        self.url = self.bucket.name.apply(lambda n: f"gs://{n}")
        self.register_outputs({"name": self.name, "url": self.url})
