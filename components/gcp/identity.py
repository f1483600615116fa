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
    # Kubernetes service accounts (namespace, name) that read Managed Prometheus metrics: KEDA's
    # operator queries vllm:num_requests_waiting there to scale the model servers.
    metrics_readers: tuple[tuple[str, str], ...] = (("keda", "keda-operator"),)


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
        # Direct IAM on a Kubernetes principal (Workload Identity Federation for GKE): no Google
        # service account needed. https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
        number = gcp.organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOutputOptions(
            parent=self)).number
        for namespace, account in args.metrics_readers:
            gcp.projects.IAMMember(
                f"{name}-metrics-{namespace}", project=args.project, role="roles/monitoring.viewer",
                member=number.apply(lambda n, ns=namespace, sa=account: (
                    f"principal://iam.googleapis.com/projects/{n}/locations/global/workloadIdentityPools/"
                    f"{args.project}.svc.id.goog/subject/ns/{ns}/sa/{sa}")),
                opts=child)
        self.email = gsa.email
        self.annotations = gsa.email.apply(lambda e: {"iam.gke.io/gcp-service-account": e})
        self.register_outputs({"email": self.email, "annotations": self.annotations})
