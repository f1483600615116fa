"""GkeWorkloadIdentity: the model servers' Kubernetes service account reads the weights bucket
through Workload Identity, with no key file anywhere.

A Google service account gets objectViewer on the bucket only, and the Kubernetes service account
`<namespace>/<name>` may impersonate it (roles/iam.workloadIdentityUser).
https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from .options import child as child_opts


@dataclass(frozen=True)
class GkeWorkloadIdentityArgs:
    project: str
    account_id: str  # 6-30 characters
    namespace: str
    service_account: str  # the Kubernetes service account
    buckets: tuple[pulumi.Input[str], ...]  # bucket names it may read
    # The cluster's Workload Identity pool (<project>.svc.id.goog), from the cluster's output: members
    # that name it are accepted only once a Workload Identity cluster exists.
    workload_pool: pulumi.Input[str]
    # The cluster (and the enabled APIs): every IAM member here waits for them.
    depends_on: Sequence[pulumi.Resource] = ()
    # Kubernetes service accounts (namespace, name) that read Managed Prometheus metrics: KEDA's
    # operator queries vllm:num_requests_waiting there to scale the model servers.
    metrics_readers: tuple[tuple[str, str], ...] = (("keda", "keda-operator"),)


class GkeWorkloadIdentity(pulumi.ComponentResource):
    """Outputs: email (the Google service account), annotations (for the Kubernetes service account)."""

    def __init__(self, name: str, args: GkeWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:gcp:GkeWorkloadIdentity", name, None, opts)
        child = child_opts(self, args.depends_on)
        gsa = gcp.serviceaccount.Account(
            f"{name}-gsa", account_id=args.account_id, display_name="llmcloud model servers (read weights)", opts=child
        )
        member = gsa.email.apply(lambda e: f"serviceAccount:{e}")
        for i, bucket in enumerate(args.buckets):
            gcp.storage.BucketIAMMember(
                f"{name}-read-{i}", bucket=bucket, role="roles/storage.objectViewer", member=member, opts=child
            )
        gcp.serviceaccount.IAMMember(
            f"{name}-wi",
            service_account_id=gsa.name,
            role="roles/iam.workloadIdentityUser",
            member=pulumi.Output.from_input(args.workload_pool).apply(
                lambda pool: f"serviceAccount:{pool}[{args.namespace}/{args.service_account}]"
            ),
            opts=child,
        )
        # Direct IAM on a Kubernetes principal (Workload Identity Federation for GKE): no Google
        # service account needed. https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
        number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        # KEDA runs as keda/keda-operator in every cluster, so every environment of the project names the
        # same principal and the same (role, member) pair: one environment's destroy would remove the
        # binding all of them use. retain_on_delete leaves it (read-only metrics access); remove it by
        # hand after the last environment (README, Google Cloud).
        for namespace, account in args.metrics_readers:
            gcp.projects.IAMMember(
                f"{name}-metrics-{namespace}",
                project=args.project,
                role="roles/monitoring.viewer",
                member=pulumi.Output.all(number, args.workload_pool).apply(
                    lambda a, ns=namespace, sa=account: (
                        f"principal://iam.googleapis.com/projects/{a[0]}/locations/global/workloadIdentityPools/"
                        f"{a[1]}/subject/ns/{ns}/sa/{sa}"
                    )
                ),
                opts=child_opts(self, args.depends_on, retain_on_delete=True),
            )
        self.email = gsa.email
        self.annotations = gsa.email.apply(lambda e: {"iam.gke.io/gcp-service-account": e})
        self.register_outputs({"email": self.email, "annotations": self.annotations})
