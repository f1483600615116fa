"""EKS facts the rehearsal asks for (components/rehearsal): pure Python over the plan, no SDK import.

Sources (checked 2026-12-01):
- allocatable: https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html and the AL2023
  nodeadm defaults (kube-reserved memory 255 MiB + 11 MiB per pod, the shared CPU table, 100 MiB eviction);
- control plane -> nodes: https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html (managed node
  groups without their own security groups get the cluster security group, which admits all traffic from
  the control plane);
- add-ons: https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html (with
  bootstrapSelfManagedAddons false a node has no CNI until the vpc-cni add-on exists; CoreDNS needs nodes);
- access entries: https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html (authentication mode
  API without the creator's admin permission: nothing can call the Kubernetes API until an access policy is
  associated);
- Pod Identity: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html.
"""

from __future__ import annotations

from typing import Any

KUBERNETES_SERVICE = "eks"
MIB = 2**20
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# max pods per node when the VPC CNI's prefix delegation is off: ENIs x (IPs per ENI - 1) + 2 (the EKS
# eni-max-pods table); for sizes not listed, 58 (the xlarge figure) is assumed.
_MAX_PODS = {
    "m6i.large": 29,
    "m6i.xlarge": 58,
    "m6i.2xlarge": 58,
    "m7i.xlarge": 58,
    "m7i.2xlarge": 58,
    "t3.large": 35,
    "g6.xlarge": 58,
    "g5.xlarge": 58,
    "g4dn.xlarge": 29,
    "inf2.xlarge": 58,
    "inf2.8xlarge": 58,
}


def _addon(plan: Any, name: str) -> Any:
    return next((s for s in plan.by_type("aws:eks/addon:Addon") if s.inputs.get("addonName") == name), None)


def _launch_templates(plan: Any) -> dict[str, Any]:
    return {f"{s.name}-id": s for s in plan.by_type("aws:ec2/launchTemplate:LaunchTemplate")}


def _local_nvme_gib(instance_type: str) -> int:
    from llmcloud.components import catalog

    cat = catalog.load("aws")
    machine = next((m for m in cat.machines if m.machine_type == instance_type), None) or cat.cpu_machine(instance_type)
    return int(machine.local_ssd_gib) if machine else 0


def pools(plan: Any, resolved: Any) -> list[dict[str, Any]]:
    templates = _launch_templates(plan)
    out = []
    for step in plan.by_type("aws:eks/nodeGroup:NodeGroup"):
        labels = {str(k): str(v) for k, v in (step.inputs.get("labels") or {}).items()}
        name = labels.get("llmcloud.dev/pool", step.name)
        labels["eks.amazonaws.com/nodegroup"] = str(step.inputs.get("nodeGroupName") or step.name)
        labels["eks.amazonaws.com/capacityType"] = str(step.inputs.get("capacityType") or "ON_DEMAND")
        taints = [
            (t.get("key", ""), str(t.get("value", "")), _EFFECTS.get(t.get("effect", ""), t.get("effect", "")))
            for t in step.inputs.get("taints") or []
        ]
        machine = str((step.inputs.get("instanceTypes") or [""])[0])
        lt = templates.get(str((step.inputs.get("launchTemplate") or {}).get("id", "")))
        disk = step.inputs.get("diskSize")
        if lt is not None:
            for bdm in lt.inputs.get("blockDeviceMappings") or []:
                disk = (bdm.get("ebs") or {}).get("volumeSize") or disk
            if lt.inputs.get("userData"):  # nodeadm localStorage RAID0: the kubelet's disk is the local NVMe
                disk = max(int(disk or 0), _local_nvme_gib(machine))
        scaling = step.inputs.get("scalingConfig") or {}
        out.append(
            {
                "name": name,
                "machine_type": machine,
                "labels": labels,
                "taints": taints,
                "disk_gb": disk or 20,
                "max_nodes": int(scaling.get("maxSize") or 0),
                "max_pods": _MAX_PODS.get(machine, 58),
            }
        )
    return out


def reserved(vcpus: int, memory_gib: float, max_pods: int) -> tuple[int, int]:
    from llmcloud.components.rehearsal.scheduling import reserved_cpu_millis

    return reserved_cpu_millis(vcpus), (255 + 11 * max_pods + 100) * MIB


def control_plane_ports(plan: Any, resolved: Any) -> tuple[set[int] | None, str]:
    templates = _launch_templates(plan)
    own_groups = [
        lt.name
        for lt in templates.values()
        if lt.inputs.get("vpcSecurityGroupIds")
        or any(n.get("securityGroups") for n in lt.inputs.get("networkInterfaces") or [])
    ]
    if not own_groups:
        return None, "managed node groups carry the cluster security group, which admits the control plane"
    open_ports = {443, 10250}
    for rule in plan.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        lo, hi = rule.inputs.get("fromPort"), rule.inputs.get("toPort")
        if isinstance(lo, int) and isinstance(hi, int) and rule.inputs.get("referencedSecurityGroupId"):
            open_ports |= set(range(lo, hi + 1))
    return open_ports, f"launch templates {', '.join(own_groups)} set their own security groups"


def builtin_api_groups(plan: Any, resolved: Any) -> set[str]:
    return {
        "vpcresources.k8s.aws",
        "crd.k8s.amazonaws.com",
        "networking.k8s.aws",
        "eks.amazonaws.com",
        "metrics.k8s.io",
        "snapshot.storage.k8s.io",
    }


def orderings(plan: Any, resolved: Any) -> list[tuple[Any, Any, str]]:
    out = []
    cluster = next(iter(plan.by_type("aws:eks/cluster:Cluster")), None)
    groups = plan.by_type("aws:eks/nodeGroup:NodeGroup")
    cni = _addon(plan, "vpc-cni")
    if cluster is not None and cluster.inputs.get("bootstrapSelfManagedAddons") is False and cni is not None:
        for group in groups:
            out.append(
                (
                    group,
                    cni,
                    "the cluster is created without self-managed add-ons: a node has no CNI, "
                    "stays NotReady and the node group fails to create until vpc-cni exists",
                )
            )
    coredns = _addon(plan, "coredns")
    system = next((g for g in groups if (g.inputs.get("labels") or {}).get("llmcloud.dev/pool") == "system"), None)
    if coredns is not None and system is not None:
        out.append(
            (coredns, system, "CoreDNS runs on nodes: without one the add-on stays DEGRADED and its creation times out")
        )
    # A node's role needs its policies before the node joins.
    attachments = plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for group in groups:
        role = set((group.property_dependencies or {}).get("nodeRoleArn") or [])
        for att in attachments:
            if role & set((att.property_dependencies or {}).get("role") or []):
                out.append(
                    (group, att, f"the node role needs {att.inputs.get('policyArn', 'its policy')} before nodes join")
                )
    # Authentication mode API without the creator's admin permission: the Kubernetes provider can do nothing
    # until an access policy is associated with the deployer's access entry.
    access = (cluster.inputs.get("accessConfig") or {}) if cluster else {}
    association = next(iter(plan.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")), None)
    if access.get("bootstrapClusterCreatorAdminPermissions") is False and association is not None:
        for provider in plan.by_type("pulumi:providers:kubernetes"):
            out.append(
                (
                    provider,
                    association,
                    "the deployer has no Kubernetes permission until its access "
                    "policy is associated (the first Kubernetes call is refused)",
                )
            )
    return out


def propagation_delays(plan: Any, resolved: Any) -> list[tuple[Any, Any, str]]:
    return []


def required_services(plan: Any, resolved: Any) -> list[dict[str, Any]]:
    needs = []
    if plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        needs.append(
            {
                "name": "eks-pod-identity-agent add-on",
                "why": "Pod Identity associations",
                "enabled": _addon(plan, "eks-pod-identity-agent") is not None,
                "how": "an aws.eks.Addon eks-pod-identity-agent in the plan",
            }
        )
    if any(g.inputs.get("capacityType") == "SPOT" for g in plan.by_type("aws:eks/nodeGroup:NodeGroup")):
        needs.append(
            {
                "name": "AWSServiceRoleForEC2Spot",
                "why": "Spot node groups",
                "enabled": None,
                "how": "EKS creates the service-linked role on first use when the deployer may "
                "(iam:CreateServiceLinkedRole); `llmcloud preflight` checks the account",
            }
        )
    return needs
