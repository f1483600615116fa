"""GcsWeightsBucket: the private, versioned, encrypted bucket that holds model weights.

Uniform bucket-level access (no object ACLs) and enforced public access prevention mean no object
can ever be made public, whatever IAM says later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from ..resolve import ResolvedBucket


@dataclass(frozen=True)
class GcsWeightsBucketArgs:
    bucket: ResolvedBucket
    location: str  # the cluster's region: weights next to the GPUs load fastest and cost no egress
    labels: dict[str, str] = field(default_factory=dict)


class GcsWeightsBucket(pulumi.ComponentResource):
    """Outputs: name, url (gs://name)."""

    def __init__(self, name: str, args: GcsWeightsBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GcsWeightsBucket", name, None, opts)
        b = args.bucket
        encryption = gcp.storage.BucketEncryptionArgs(default_kms_key_name=b.kms_key) if b.kms_key else None
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
            # Old versions of multi-GB weight files add up: keep three, none older than 30 days.
            lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    with_state="ARCHIVED", num_newer_versions=3, days_since_noncurrent_time=30))]
            if b.versioning else None,
            labels=args.labels,
            # The weights are the one thing teardown must not take: protect blocks `destroy`, and
            # retain_on_delete leaves the bucket in the cloud if the stack is removed anyway.
            opts=pulumi.ResourceOptions(parent=self, protect=b.protect, retain_on_delete=b.protect),
        )
        self.name = self.bucket.name
        self.url = self.bucket.name.apply(lambda n: f"gs://{n}")
        self.register_outputs({"name": self.name, "url": self.url})
