"""BlobWeightsStorage: the private, versioned, encrypted storage account and container that hold
model weights.

- No anonymous access (allow_blob_public_access false, container public_access None), no shared keys
  or SAS (allow_shared_key_access false: Entra ID only), HTTPS and TLS 1.2 only.
- Blob versioning plus soft delete of blobs and containers (14 days): an overwritten or deleted
  multi-GB checkpoint can be recovered. Old versions are deleted after 30 days (lifecycle policy).
- Encryption: Microsoft-managed keys, or a customer-managed Key Vault key when the bucket's kms_key
  is a key URL (https://<vault>.vault.azure.net/keys/<name>[/<version>]). The account then reads the
  key as a user-assigned identity, which must hold "Key Vault Crypto Service Encryption User" on the
  vault (output `cmk_principal_id`).
  https://learn.microsoft.com/azure/storage/common/customer-managed-keys-configure-new-account
- The deployer (whoever runs `llmcloud up`, and so `llmcloud weights sync`) gets Storage Blob Data
  Contributor on the account: with shared keys off, a data-plane role is the only way to upload weights.
- Prod: the account's firewall denies every network (default action Deny) but the cluster's subnet
  (a service endpoint) and `cluster.authorized_networks` (the operators' CIDRs, for `weights sync`);
  blob reads, writes and deletes go to Log Analytics (a diagnostic setting on the blob service).
  https://learn.microsoft.com/azure/storage/common/storage-network-security
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.storage as storage

from ..resolve import ResolvedBucket
from .checks import parse_key_url
from .identity import STORAGE_BLOB_DATA_CONTRIBUTOR, role_definition_id

SOFT_DELETE_DAYS = 14
NONCURRENT_VERSION_DAYS = 30
BLOB_LOG_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")


@dataclass(frozen=True)
class BlobWeightsStorageArgs:
    bucket: ResolvedBucket
    resource_group_name: pulumi.Input[str]
    location: str  # the cluster's location: weights next to the GPUs load fastest and cost no egress
    sku: str = "Standard_LRS"  # Standard_ZRS in prod: survives the loss of one zone
    subscription_id: pulumi.Input[str] | None = None  # with uploader_object_id: the role's subscription
    uploader_object_id: pulumi.Input[str] | None = None  # gets Storage Blob Data Contributor
    deny_public_network: bool = False  # prod: firewall Deny, except allowed_subnet_ids and allowed_ip_ranges
    allowed_subnet_ids: tuple[pulumi.Input[str], ...] = ()
    allowed_ip_ranges: tuple[str, ...] = ()
    log_analytics_workspace_id: pulumi.Input[str] | None = None  # set: blob access is logged there
    tags: dict[str, str] = field(default_factory=dict)


class BlobWeightsStorage(pulumi.ComponentResource):
    """Outputs: account_name, account_id, container_name, url (az://<container>), blob_endpoint,
    cmk_principal_id (empty without a customer-managed key)."""

    def __init__(self, name: str, args: BlobWeightsStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:azure:BlobWeightsStorage", name, None, opts)
        b = args.bucket
        child = pulumi.ResourceOptions(parent=self)
        identity = None
        cmk_identity = None
        key_source = None
        if b.kms_key:
            vault_uri, key_name, key_version = parse_key_url(b.kms_key)  # rejected before anything is created
            cmk_identity = managedidentity.UserAssignedIdentity(
                f"{name}-cmk",
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=args.tags,
                opts=child,
            )
            identity = storage.IdentityArgs(
                type="UserAssigned", user_assigned_identities=cmk_identity.id.apply(lambda i: {i: {}})
            )
            key_source = storage.KeyVaultPropertiesArgs(
                key_vault_uri=vault_uri, key_name=key_name, key_version=key_version
            )
        encryption = storage.EncryptionArgs(
            key_source="Microsoft.Keyvault" if key_source else "Microsoft.Storage",
            key_vault_properties=key_source,
            encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=cmk_identity.id)
            if cmk_identity
            else None,
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
            ),
        )
        # The weights are the one thing teardown must not take: protect blocks `destroy`, and
        # retain_on_delete leaves the account (and its container) in Azure if the stack is removed anyway.
        keep = pulumi.ResourceOptions(parent=self, protect=b.protect, retain_on_delete=b.protect)
        self.account = storage.StorageAccount(
            name,
            account_name=b.physical_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.sku),
            access_tier="Hot",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            is_hns_enabled=False,
            public_network_access="Enabled",  # reachable only as the network rules below allow
            network_rule_set=_network_rules(args),
            identity=identity,
            encryption=encryption,
            tags=args.tags,
            opts=keep,
        )
        storage.BlobServiceProperties(
            f"{name}-blob",
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=b.versioning,
            # Soft delete: a deleted blob or container can be restored for SOFT_DELETE_DAYS.
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=SOFT_DELETE_DAYS),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=SOFT_DELETE_DAYS),
            opts=child,
        )
        if b.versioning:
            storage.ManagementPolicy(
                f"{name}-lifecycle",
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                management_policy_name="default",
                policy=storage.ManagementPolicySchemaArgs(
                    rules=[
                        storage.ManagementPolicyRuleArgs(
                            name="expire-old-versions",
                            type="Lifecycle",
                            enabled=True,
                            definition=storage.ManagementPolicyDefinitionArgs(
                                filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                                actions=storage.ManagementPolicyActionArgs(
                                    version=storage.ManagementPolicyVersionArgs(
                                        delete=storage.DateAfterCreationArgs(
                                            days_after_creation_greater_than=NONCURRENT_VERSION_DAYS
                                        )
                                    )
                                ),
                            ),
                        )
                    ]
                ),
                opts=child,
            )
        self.container = storage.BlobContainer(
            f"{name}-container",
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            container_name=b.name,
            public_access="None",
            opts=keep,
        )
        if args.uploader_object_id is not None:
            assert args.subscription_id is not None
            self.uploader_role = authorization.RoleAssignment(
                f"{name}-uploader",
                principal_id=args.uploader_object_id,
                role_definition_id=role_definition_id(args.subscription_id, STORAGE_BLOB_DATA_CONTRIBUTOR),
                scope=self.account.id,
                description="llmcloud deployer uploads model weights (weights sync)",
                opts=child,
            )
        if args.log_analytics_workspace_id is not None:
            monitor.DiagnosticSetting(
                f"{name}-blob-diagnostics",
                name="llmcloud-blob-access",
                resource_uri=pulumi.Output.concat(self.account.id, "/blobServices/default"),
                workspace_id=args.log_analytics_workspace_id,
                logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in BLOB_LOG_CATEGORIES],
                opts=child,
            )
        self.account_name = self.account.name
        self.account_id = self.account.id
        self.container_name = self.container.name
        self.url = pulumi.Output.from_input(f"az://{b.name}")
        self.blob_endpoint = pulumi.Output.concat("https://", self.account.name, ".blob.core.windows.net/")
        self.cmk_principal_id = cmk_identity.principal_id if cmk_identity else pulumi.Output.from_input("")
        self.register_outputs(
            {
                "account_name": self.account_name,
                "account_id": self.account_id,
                "container_name": self.container_name,
                "url": self.url,
                "blob_endpoint": self.blob_endpoint,
                "cmk_principal_id": self.cmk_principal_id,
            }
        )


def _network_rules(args: BlobWeightsStorageArgs) -> storage.NetworkRuleSetArgs:
    """Allow (dev: the account is reachable from anywhere, Entra ID still required) or Deny with the cluster
    subnet and the operators' CIDRs allowed. AzureServices: Azure Monitor and trusted services still reach it."""
    if not args.deny_public_network:
        return storage.NetworkRuleSetArgs(default_action="Allow", bypass="AzureServices")
    return storage.NetworkRuleSetArgs(
        default_action="Deny",
        bypass="AzureServices",
        virtual_network_rules=[
            storage.VirtualNetworkRuleArgs(virtual_network_resource_id=s, action="Allow")
            for s in args.allowed_subnet_ids
        ]
        or None,
        # Storage IP rules take public IPv4 ranges as CIDR, or a single address without /32.
        ip_rules=[
            storage.IPRuleArgs(i_p_address_or_range=c.removesuffix("/32"), action="Allow")
            for c in args.allowed_ip_ranges
        ]
        or None,
    )
