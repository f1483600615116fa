"""GkeWorkloadIdentity: the model servers' Kubernetes service account reads the weights bucket
through Workload Identity, with no key file anywhere.

A Google service account gets objectViewer on the bucket only, and the Kubernetes service account
`<namespace>/<name>` may impersonate it (roles/iam.workloadIdentityUser).
https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class GkeWorkloadIdentityArgs:
    project: str
    account_id: str  # 6-30 characters
    namespace: str
    service_account: str  # the Kubernetes service account
    buckets: tuple[pulumi.Input[str], ...]  # bucket names it may read


class GkeWorkloadIdentity(pulumi.ComponentResource):
    """Outputs: email (the Google service account), annotations (for the Kubernetes service account)."""

    def __init__(self, name: str, args: GkeWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GkeWorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        gsa = gcp.serviceaccount.Account(f"{name}-gsa", account_id=args.account_id,
                                         display_name="llmcloud model servers (read weights)", opts=child)
        member = gsa.email.apply(lambda e: f"serviceAccount:{e}")
        for i, bucket in enumerate(args.buckets):
            gcp.storage.BucketIAMMember(f"{name}-read-{i}", bucket=bucket, role="roles/storage.objectViewer",
                                        member=member, opts=child)
        gcp.serviceaccount.IAMMember(
            f"{name}-wi", service_account_id=gsa.name, role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{args.project}.svc.id.goog[{args.namespace}/{args.service_account}]",
            opts=child)
        self.email = gsa.email
        self.annotations = gsa.email.apply(lambda e: {"iam.gke.io/gcp-service-account": e})
        self.register_outputs({"email": self.email, "annotations": self.annotations})
