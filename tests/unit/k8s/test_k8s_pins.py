"""Every pin in components/k8s/images.py carries its source and date, and renovate.json tracks it."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from llmcloud.components.k8s import images

ROOT = Path(__file__).resolve().parents[3]
IMAGES_PY = ROOT / "components" / "k8s" / "images.py"


def _managers() -> list[dict]:
    return json.loads((ROOT / "renovate.json").read_text())["customManagers"]


def _py(regex: str) -> re.Pattern[str]:
    return re.compile(regex.replace("(?<", "(?P<"))  # JavaScript named groups -> Python's


def _file_matches(manager: dict, rel: str) -> bool:
    return any(re.search(p.strip("/"), rel) for p in manager["managerFilePatterns"])


def _tracked(rel: str, text: str) -> set[tuple[str, str]]:
    """(depName, currentValue) of every dependency Renovate's regex managers find in a file."""
    found = set()
    for m in _managers():
        if not _file_matches(m, rel):
            continue
        for regex in m["matchStrings"]:
            for hit in _py(regex).finditer(text):
                groups = hit.groupdict()
                found.add((m.get("depNameTemplate") or groups["depName"], groups["currentValue"]))
    return found


def test_every_pin_has_a_source_and_a_date_not_in_the_future() -> None:
    pins = [*images.reviewed().values(), *images.CHARTS.values()]
    assert len(pins) >= 10
    for pin in pins:
        assert pin.source.startswith("https://"), pin
        assert date.fromisoformat(pin.checked) <= date(2026, 12, 1)
        if not pin.verified:
            assert pin.note, f"{pin}: an unverified pin must say why"


def test_renovate_tracks_every_image_and_chart_pin() -> None:
    tracked = _tracked("components/k8s/images.py", IMAGES_PY.read_text())
    values = {v for _, v in tracked}
    for pin in images.reviewed().values():
        assert pin.tag in values, f"renovate.json does not track {pin.ref}"
    for pin in images.CHARTS.values():
        assert pin.version in values, f"renovate.json does not track chart {pin.chart} {pin.version}"
    assert ("vllm/vllm-openai", images.VLLM_VERSION) in tracked
    assert ("vllm/vllm-tpu", images.VLLM_TPU_VERSION) in tracked
    assert ("keda", images.KEDA_CHART.version) in tracked


def test_renovate_tracks_image_and_chart_constants_in_other_components() -> None:
    sample = (
        'ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v1.36.2"\n'
        'X_CHART = {"chart": "cluster-autoscaler", "repo": "https://kubernetes.github.io/autoscaler",\n'
        '           "version": "9.59.0"}\n'
    )
    tracked = _tracked("components/k8s/gateway.py", sample)
    assert ("docker.io/envoyproxy/envoy", "v1.36.2") in tracked
    assert ("cluster-autoscaler", "9.59.0") in tracked


def test_no_pin_is_latest_or_unpinned() -> None:
    for ref in images.reviewed():
        assert images.is_pinned(ref), ref
    assert not images.is_pinned("vllm/vllm-openai:latest")
    assert images.is_pinned("registry.example/vllm@sha256:" + "a" * 64)


def test_model_image_dockerfiles_build_on_the_pinned_vllm_images() -> None:
    for kind in ("gpu", "tpu", "cpu"):
        text = (ROOT / "model_images" / kind / "Dockerfile").read_text()
        pin = images.SERVING[kind]
        frm = re.search(r"^FROM (\S+)", text, re.M).group(1)
        assert frm.endswith(f"{pin.repository}:{pin.tag}"), (kind, frm)


def test_vllm_facts_were_read_at_the_pinned_tag() -> None:
    """Bumping VLLM_VERSION means re-reading the metric names and quantization methods at the new tag."""
    from llmcloud.components import serving_checks
    from llmcloud.components.k8s import monitoring

    assert monitoring.VLLM_METRICS_TAG == images.VLLM_VERSION
    assert serving_checks.VLLM_QUANTIZATION_TAG == images.VLLM_VERSION


def test_the_stack_schema_offers_exactly_the_methods_the_checks_know() -> None:
    from typing import get_args

    from llmcloud.components import serving_checks
    from llmcloud.components.spec.model import ModelSpec

    annotation = ModelSpec.model_fields["quantization"].annotation
    offered = {a for arg in get_args(annotation) for a in get_args(arg)}
    known = set(serving_checks.ON_THE_FLY) | {m for ms in serving_checks.PRE_QUANTIZED.values() for m in ms}
    assert offered == known
    assert not offered & {"bitsandbytes", "gguf", "int8", "int4"}  # not vLLM v0.33.0 methods


def test_renovate_tracks_the_charts_pinned_as_dicts() -> None:
    from llmcloud.components.aws import load_balancer_controller as lbc

    tracked = _tracked("components/k8s/images.py", IMAGES_PY.read_text())
    assert ("cluster-autoscaler", images.CLUSTER_AUTOSCALER_CHART["version"]) in tracked
    lbc_py = ROOT / "components" / "aws" / "load_balancer_controller.py"
    assert ("aws-load-balancer-controller", lbc.CHART["version"]) in _tracked(
        "components/aws/load_balancer_controller.py", lbc_py.read_text()
    )


def test_renovate_tracks_every_cluster_autoscaler_image_tag() -> None:
    from llmcloud.components.k8s import cluster_autoscaler

    path = ROOT / "components" / "k8s" / "cluster_autoscaler.py"
    tracked = _tracked("components/k8s/cluster_autoscaler.py", path.read_text())
    dep = "registry.k8s.io/autoscaling/cluster-autoscaler"
    assert {(dep, tag) for tag in cluster_autoscaler.IMAGE_TAGS.values()} <= tracked
