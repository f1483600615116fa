"""EKS gets the Cluster Autoscaler (GKE and AKS autoscale node pools themselves)."""

from __future__ import annotations

from pathlib import Path

from helpers import repo_plan
from llmcloud.components.k8s.cluster_autoscaler import values

REPO = Path(__file__).resolve().parents[3]
RELEASE = "kubernetes:helm.sh/v3:Release"


def test_autoscaler_release_on_eks_only():
    aws = [s for s in repo_plan("aws-example").by_type(RELEASE) if s.inputs.get("chart") == "cluster-autoscaler"]
    assert len(aws) == 1
    release = aws[0]
    assert release.inputs["namespace"] == "kube-system"
    assert release.inputs["version"] and release.inputs["repositoryOpts"]["repo"].startswith("https://")
    for stack in ("dev", "azure-example"):
        assert not [s for s in repo_plan(stack).by_type(RELEASE) if s.inputs.get("chart") == "cluster-autoscaler"]


def test_autoscaler_values_discover_this_cluster_and_match_its_pod_identity():
    from llmcloud.components.aws import platform as aws_platform

    v = values("llm-dev", "us-east-1")
    assert v["autoDiscovery"] == {"clusterName": "llm-dev"} and v["awsRegion"] == "us-east-1"
    assert v["rbac"]["serviceAccount"]["name"] == aws_platform.AUTOSCALER_SERVICE_ACCOUNT
    assert v["nodeSelector"] == {"llmcloud.dev/pool": "system"}  # never on a GPU node it might remove
