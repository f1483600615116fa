"""build_platform(resolved) for AWS: VPC (or existing subnets), EKS, managed node groups, S3
weights buckets, Pod Identity for the model servers and for Cluster Autoscaler."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..k8s.cluster_autoscaler import NAMESPACE as AUTOSCALER_NAMESPACE
from ..k8s.cluster_autoscaler import SERVICE_ACCOUNT as AUTOSCALER_SERVICE_ACCOUNT
from ..platform import Platform
from ..resolve import ResolvedStack
from . import AwsFrontDoorInputs, aws_options
from .bucket import S3WeightsBucket, S3WeightsBucketArgs
from .cluster import EksCluster, EksClusterArgs
from .identity import EksPodIdentity, EksPodIdentityArgs, bucket_read_policy, cluster_autoscaler_policy
from .logs import AuditLogBucket, AuditLogBucketArgs
from .network import AwsNetwork, AwsNetworkArgs
from .node_group import EksAcceleratorNodeGroup, EksAcceleratorNodeGroupArgs
from .versions import cluster_version, eks_versions, support_warning, today
from .zones import network_azs, pool_azs


def build_platform(r: ResolvedStack) -> Platform:
    # Provider settings come from the stack file: nobody runs `pulumi config set`. default_tags tag
    # whatever we forget; every resource also gets the tags explicitly, so plans show them.
    provider = aws.Provider("aws", region=r.region, default_tags=aws.ProviderDefaultTagsArgs(tags=r.labels))
    opts = pulumi.ResourceOptions(providers=[provider])
    name = f"llm-{r.environment}"
    prod = r.environment == "prod"
    tags = r.labels

    # prod: independent records (flow logs, S3 server access logs, ALB access logs) in one audit-log bucket.
    audit = (
        AuditLogBucket(
            f"{name}-audit-logs",
            AuditLogBucketArgs(physical_name=f"llmcloud-{r.stack_name}-audit-logs", protect=r.protect_data, tags=tags),
            opts,
        )
        if prod
        else None
    )
    after_audit = (
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[audit.policy])) if audit else opts
    )

    existing = list(aws_options(r).subnet_ids or [])
    outputs: dict[str, object] = {}
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]] | None = None  # existing subnets: the front door finds them
    if existing:
        # Existing private subnets: every group uses all of them (the stack owner picked their AZs).
        private_all: pulumi.Input[list[str]] = existing
        private_by_az: dict[str, pulumi.Input[str]] | None = None
        vpc_id = aws_options(r).vpc_id or ""
    else:
        network = AwsNetwork(
            f"{name}-net",
            AwsNetworkArgs(
                region=r.region,
                azs=network_azs(r),
                # `cluster.regional` (default: true in prod) asks for zone-redundancy: one NAT per AZ.
                nat_per_az=r.regional_cluster,
                tags=tags,
                flow_log_bucket_arn=audit.arn if audit else None,
            ),
            after_audit,
        )
        private_all = network.private_subnet_ids
        private_by_az = network.private_subnets
        vpc_id = network.vpc_id
        public_subnet_ids = network.public_subnet_ids
    outputs["vpc_id"] = vpc_id

    cluster_name = name
    version = cluster_version(r)  # the stack's pin, else the newest version in standard support
    warning = support_warning(version, eks_versions(r.region), today(), prod)
    if warning:
        pulumi.log.warn(warning)
    cluster = EksCluster(
        name,
        EksClusterArgs(
            cluster_name=cluster_name,
            region=r.region,
            subnet_ids=private_all,
            kubernetes_version=version,
            private_endpoint=r.private_endpoint,
            authorized_networks=r.authorized_networks,
            system_instance_type=r.system_machine_type,
            system_min_nodes=2 if r.regional_cluster else 1,
            support_type="EXTENDED" if prod else "STANDARD",
            deletion_protection=r.protect_data,
            log_retention_days=90 if prod else 30,
            tags=tags,
        ),
        opts,
    )

    after_cluster = pulumi.ResourceOptions(depends_on=cluster.node_prerequisites)
    groups_opts = pulumi.ResourceOptions.merge(opts, after_cluster)
    groups = [
        EksAcceleratorNodeGroup(
            f"{name}-{pool.name}",
            EksAcceleratorNodeGroupArgs(
                cluster_name=cluster_name,
                node_role_arn=cluster.node_role_arn,
                subnet_ids=[private_by_az[z] for z in pool_azs(r, pool)] if private_by_az is not None else private_all,
                pool=pool,
                region=r.region,
                tags=tags,
            ),
            groups_opts,
        )
        for pool in r.node_pools.values()
    ]

    buckets = {
        b.name: S3WeightsBucket(
            f"{name}-{b.name}",
            S3WeightsBucketArgs(bucket=b, region=r.region, tags=tags, log_bucket=audit.name if audit else None),
            after_audit,
        )
        for b in r.buckets.values()
    }

    arns = [b.arn for b in buckets.values()]
    keys = [b.kms_key_arn for b in buckets.values()]
    read_policy = pulumi.Output.all(*arns, *keys).apply(
        lambda a: bucket_read_policy(a[: len(arns)], a[len(arns) :], r.region)
    )
    serving = EksPodIdentity(
        f"{name}-serving",
        EksPodIdentityArgs(
            cluster_name=cluster.name,
            namespace=r.namespace,
            service_account=r.service_account,
            policy=read_policy,
            description="llmcloud model servers: read the weights buckets",
            tags=tags,
        ),
        opts,
    )
    autoscaler = EksPodIdentity(
        f"{name}-autoscaler",
        EksPodIdentityArgs(
            cluster_name=cluster.name,
            namespace=AUTOSCALER_NAMESPACE,
            service_account=AUTOSCALER_SERVICE_ACCOUNT,
            policy=cluster_autoscaler_policy(cluster_name),
            tags=tags,
            description="Cluster Autoscaler: resize this cluster's node groups",
        ),
        opts,
    )

    return Platform(
        cluster_name=cluster.name,
        kubeconfig=cluster.kubeconfig,
        bucket_urls={k: b.url for k, b in buckets.items()},
        service_account_annotations={},  # Pod Identity: the association is on the AWS side
        depends_on=[*groups, *cluster.addons.values(), serving, autoscaler],
        # The deployer may call Kubernetes only once its access policy is associated.
        provider_depends_on=[cluster.admin_access],
        front_door=AwsFrontDoorInputs(
            provider=provider,
            vpc_id=vpc_id,
            cluster=cluster,
            tags=tags,
            private_subnet_ids=private_all,
            public_subnet_ids=public_subnet_ids,
            log_bucket=audit.name if audit else None,
            log_bucket_ready=audit.policy if audit else None,
        ),
        outputs={
            "kubernetes_version": version,
            "cluster_endpoint": cluster.endpoint,
            "serving_role_arn": serving.role_arn,
            "autoscaler_role_arn": autoscaler.role_arn,
            **outputs,
        },
    )
