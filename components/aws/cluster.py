"""EksCluster: an EKS cluster built from plain pulumi-aws resources, secure by default.

- Access entries only (authentication_mode API, no aws-auth ConfigMap): the deploying identity gets
  an access entry with AmazonEKSClusterAdminPolicy, explicitly, so it shows in the plan and is
  removed with the stack. https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html
- Kubernetes secrets are envelope-encrypted with a KMS key of the cluster's own (rotated yearly), whose
  key policy is explicit (`secrets_key_policy`): the account administers it, CloudWatch Logs may use it
  for this cluster's log group only; EKS uses it through the cluster role's IAM policy.
- Control-plane logs go to a log group we create, encrypted with that key, so its retention is ours
  (EKS would create one that never expires, unencrypted).
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
- Managed add-ons replace the self-managed defaults (bootstrap_self_managed_addons false): vpc-cni,
  kube-proxy and eks-pod-identity-agent before any node, coredns once the system nodes exist (it
  stays DEGRADED without nodes and its creation would time out).
- A small on-demand system node group runs coredns, the autoscaler and the device plugins, so the
  accelerator groups can scale to zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .node_group import POOL_LABEL, launch_template, template_ref

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# Node role: what the kubelet and the VPC CNI need, and image pulls from ECR (pull only).
# https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
BEFORE_NODES_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
AFTER_NODES_ADDONS = ("coredns",)


def trust_policy(service: str, actions: tuple[str, ...] = ("sts:AssumeRole",)) -> str:
    """An IAM trust policy letting an AWS service principal assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}],
        }
    )


def secrets_key_policy(partition: str, account: str, region: str, log_group: str) -> str:
    """The secrets key's policy: the account's IAM decides who administers and uses it (the cluster role
    gets Encrypt/Decrypt there); the CloudWatch Logs service may use it for one log group."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "ControlPlaneLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnEquals": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:{partition}:logs:{region}:{account}:log-group:{log_group}"
                            )
                        }
                    },
                },
            ],
        }
    )


@dataclass(frozen=True)
class EksClusterArgs:
    # The EKS name, plain: the kubeconfig, autoscaler tags and log group need it before the cluster exists.
    cluster_name: str
    region: str
    subnet_ids: pulumi.Input[list[str]]  # private subnets in two or more AZs
    kubernetes_version: str | None = None  # None: the EKS default version
    private_endpoint: bool = False
    authorized_networks: tuple[str, ...] = ()  # CIDRs allowed to the public endpoint; empty: any
    system_instance_type: str = "m6i.xlarge"
    system_min_nodes: int = 1
    system_max_nodes: int = 3
    # STANDARD: EKS upgrades the control plane when standard support ends (no extended-support fee);
    # EXTENDED: stays on its version for 12 more months at $0.60 instead of $0.10 per hour.
    support_type: str = "STANDARD"
    deletion_protection: bool = False
    log_retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    """Outputs: name, endpoint, arn, kubeconfig (secret), node_role_arn, security_group_id."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmcloud:aws:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        caller = aws.get_caller_identity_output(opts=invoke)

        def managed(policy: str) -> pulumi.Output[str]:
            return partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{policy}")

        # ---- control plane identity and encryption
        cluster_role = aws.iam.Role(
            f"{name}-cluster",
            assume_role_policy=trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")),
            description=f"EKS control plane of {args.cluster_name}",
            tags=tags,
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=cluster_role.name, policy_arn=managed("AmazonEKSClusterPolicy"), opts=child
        )
        log_group_name = f"/aws/eks/{args.cluster_name}/cluster"
        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Kubernetes secrets of {args.cluster_name} (envelope encryption)",
            enable_key_rotation=True,
            deletion_window_in_days=30 if args.deletion_protection else 7,
            policy=pulumi.Output.all(partition, caller.account_id).apply(
                lambda a: secrets_key_policy(a[0], a[1], args.region, log_group_name)
            ),
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-secrets", name=f"alias/eks/{args.cluster_name}", target_key_id=self.kms_key.key_id, opts=child
        )
        # EKS encrypts and decrypts secrets' data keys as the cluster role.
        kms_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            role=cluster_role.id,
            policy=self.kms_key.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Resource": arn,
                                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=self.kms_key.arn,
            tags=tags,
            opts=child,
        )

        public = not args.private_endpoint
        cidrs = list(args.authorized_networks) if public and args.authorized_networks else None
        self.cluster = aws.eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,  # nodes always reach the API server inside the VPC
                endpoint_public_access=public,
                public_access_cidrs=cidrs,  # None: any address (still authenticated and authorized)
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            bootstrap_self_managed_addons=False,
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn)
            ),
            enabled_cluster_log_types=list(LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.support_type),
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.deletion_protection, depends_on=[cluster_policy, kms_policy, log_group]
            ),
        )
        cluster_name = self.cluster.name

        # ---- who may administer it: the identity running `llmcloud up`. An assumed-role session ARN
        # (arn:aws:sts::...:assumed-role/R/s) is not a valid principal: use the role's IAM ARN.
        deployer = aws.iam.get_session_context_output(arn=caller.arn, opts=invoke).issuer_arn
        admin = aws.eks.AccessEntry(
            f"{name}-admin", cluster_name=cluster_name, principal_arn=deployer, type="STANDARD", tags=tags, opts=child
        )
        self.admin_access = aws.eks.AccessPolicyAssociation(
            f"{name}-admin",
            cluster_name=cluster_name,
            principal_arn=deployer,
            policy_arn=partition.apply(lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{ADMIN_POLICY}"),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[admin]),
        )

        # ---- add-ons that must run before nodes can become Ready
        addons = {a: _addon(f"{name}-{a}", cluster_name, a, tags, child) for a in BEFORE_NODES_ADDONS}

        # ---- node role (shared by every node group of the cluster)
        node_role = aws.iam.Role(
            f"{name}-nodes",
            assume_role_policy=trust_policy("ec2.amazonaws.com"),
            description=f"EKS nodes of {args.cluster_name}",
            tags=tags,
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(f"{name}-nodes-{p}", role=node_role.name, policy_arn=managed(p), opts=child)
            for p in NODE_POLICIES
        ]
        # No access entry for the node role: EKS creates the EC2_LINUX entry itself for managed node
        # groups (creating it here too would conflict).

        # ---- system node group
        system_lt = launch_template(f"{name}-system", disk_gb=100, tags=tags, parent=self)
        self.system_node_group = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster_name,
            node_role_arn=node_role.arn,
            subnet_ids=args.subnet_ids,
            instance_types=[args.system_instance_type],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.system_min_nodes, max_size=args.system_max_nodes, desired_size=args.system_min_nodes
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=template_ref(system_lt),
            labels={POOL_LABEL: "system"},
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["scalingConfig.desiredSize"], depends_on=[*node_policies, *addons.values()]
            ),
        )
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=[self.system_node_group])
        for a in AFTER_NODES_ADDONS:
            addons[a] = _addon(f"{name}-{a}", cluster_name, a, tags, after_nodes)
        self.addons = addons

        self.name = cluster_name
        self.arn = self.cluster.arn
        self.endpoint = self.cluster.endpoint
        self.node_role_arn = node_role.arn
        # Node groups wait for these: nodes cannot become Ready before their role policies and the CNI.
        self.node_prerequisites: list[pulumi.Resource] = [*node_policies, *addons.values()]
        self.security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                cluster_name,
                self.cluster.endpoint,
                self.cluster.certificate_authority.data,
            ).apply(lambda a: kubeconfig(a[0], a[1], a[2], args.region))
        )
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "arn": self.arn,
                "kubeconfig": self.kubeconfig,
                "node_role_arn": self.node_role_arn,
                "security_group_id": self.security_group_id,
            }
        )


def _addon(
    name: str, cluster_name: pulumi.Input[str], addon: str, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> aws.eks.Addon:
    """An EKS managed add-on at the cluster version's default; llmcloud owns its configuration."""
    return aws.eks.Addon(
        name,
        cluster_name=cluster_name,
        addon_name=addon,
        tags=tags,
        opts=opts,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
    )


def kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that gets a token from `aws eks get-token` (no static credentials)."""
    from ..k8s.kubeconfig import exec_kubeconfig

    return exec_kubeconfig(
        name,
        endpoint,
        ca_data,
        "aws",
        ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
        install_hint="Install the AWS CLI v2, see "
        "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
        interactiveMode="Never",
    )
