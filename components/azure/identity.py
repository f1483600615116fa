"""AksWorkloadIdentity: the model servers' Kubernetes service account reads the weights storage
through Microsoft Entra Workload ID, with no key, SAS or connection string anywhere.

A user-assigned managed identity trusts tokens that the cluster's OIDC issuer signs for exactly
`system:serviceaccount:<namespace>:<name>` (a federated identity credential), and holds Storage Blob
Data Reader on each weights storage account only.
https://learn.microsoft.com/azure/aks/workload-identity-overview
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity

# Built-in role definition ids (the same in every tenant):
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
DNS_ZONE_CONTRIBUTOR = "befefa01-2a29-4197-83a8-272ff33ce314"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"  # the audience Entra ID accepts for federated tokens
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"  # the mutating webhook only injects tokens into pods with it


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The subscription-scoped id of a built-in role, as RoleAssignment expects it."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role
    )


def subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class AksWorkloadIdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    oidc_issuer_url: pulumi.Input[str]  # the cluster's OIDC issuer
    subscription_id: pulumi.Input[str]
    namespace: str
    service_account: str  # the Kubernetes service account
    storage_account_ids: tuple[pulumi.Input[str], ...]  # accounts whose blobs it may read
    tags: dict[str, str] = field(default_factory=dict)


class AksWorkloadIdentity(pulumi.ComponentResource):
    """Outputs: client_id, principal_id, annotations (for the Kubernetes service account)."""

    def __init__(self, name: str, args: AksWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:AksWorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-id",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        self.credential = managedidentity.FederatedIdentityCredential(
            f"{name}-fic",
            resource_group_name=args.resource_group_name,
            resource_name_=identity.name,
            issuer=args.oidc_issuer_url,
            subject=subject(args.namespace, args.service_account),
            audiences=[TOKEN_AUDIENCE],
            opts=child,
        )
        reader = role_definition_id(args.subscription_id, STORAGE_BLOB_DATA_READER)
        self.role_assignments = [
            authorization.RoleAssignment(
                f"{name}-blob-reader-{i}",
                principal_id=identity.principal_id,
                # ServicePrincipal: ARM skips the directory look-up that fails for a just-created identity.
                principal_type="ServicePrincipal",
                role_definition_id=reader,
                scope=account_id,
                description="llmcloud model servers read model weights",
                opts=child,
            )
            for i, account_id in enumerate(args.storage_account_ids)
        ]
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.annotations = identity.client_id.apply(lambda c: {CLIENT_ID_ANNOTATION: c})
        self.register_outputs(
            {"client_id": self.client_id, "principal_id": self.principal_id, "annotations": self.annotations}
        )
