"""No unpublished image anywhere: every image in every rendered manifest of every bundled stack, on every
cloud it plans on, is a reviewed pin (components/k8s/images.py: registry, repository, tag, the upstream page
it was read from, the date checked) or one the stack's `images:` configures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import GOLDEN_COMBOS, GOLDEN_INDEX, plan, repo_plan
from llmcloud.cli.manifests import objects
from llmcloud.components.k8s import gateway, images
from llmcloud.components.spec import load_stack

ROOT = Path(__file__).resolve().parents[3]


def pod_specs(obj: Any) -> Iterator[dict[str, Any]]:
    """Every pod spec inside an object (Deployment, DaemonSet, LeaderWorkerSet templates, ...)."""
    if isinstance(obj, dict):
        if "containers" in obj and isinstance(obj["containers"], list):
            yield obj
        for value in obj.values():
            yield from pod_specs(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from pod_specs(value)


def rendered_images(p: Any) -> set[str]:
    return {
        c["image"]
        for o in objects(p)
        for spec in pod_specs(o)
        for c in spec.get("containers", []) + spec.get("initContainers", [])
    }


def allowed(stack_file: Path) -> dict[str, str]:
    """image -> why it may run: the reviewed pin's source, or the stack's override."""
    out = {ref: f"{pin.source} (checked {pin.checked})" for ref, pin in images.reviewed().items()}
    # The front door's Envoy is pinned and reviewed by the gateway issue (14), next to its bootstrap.
    envoy = getattr(images, "ENVOY_IMAGE", gateway.ENVOY_IMAGE)
    out[getattr(envoy, "ref", envoy)] = "components/k8s/gateway.py (issue 14)"
    for original, mirror in load_stack(str(stack_file)).spec.images.items():
        out[mirror] = f"images: override of {original} in {stack_file.name}"
    return out


def test_every_bundled_stack_is_covered() -> None:
    stacks = {p.stem for p in (ROOT / "stacks").glob("*.yaml")} - {"base"}
    assert stacks == set(GOLDEN_INDEX) and len(GOLDEN_COMBOS) >= len(stacks)


@pytest.mark.parametrize(("stack", "cloud"), GOLDEN_COMBOS)
def test_only_reviewed_or_configured_images_are_rendered(stack: str, cloud: str) -> None:
    found = rendered_images(repo_plan(stack, cloud))
    assert found, f"{stack} on {cloud} renders no image"
    ok = allowed(ROOT / "stacks" / f"{stack}.yaml")
    unknown = sorted(found - set(ok))
    assert not unknown, f"{stack} on {cloud}: images not in the reviewed allow-list: {unknown}"
    for image in found:
        assert images.is_pinned(image), image


def test_an_unreviewed_image_fails_the_check(write_stack) -> None:
    path = write_stack("""
        extends: base.yaml
        node_pools: {l4: {accelerator: L4, max_nodes: 1}}
        models:
          m: {source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: l4, max_model_len: 8192,
              image: ghcr.io/somebody/unpublished:0.1.0}
    """)
    found = rendered_images(plan(path))
    assert "ghcr.io/somebody/unpublished:0.1.0" in found - set(allowed(path))


def test_images_override_replaces_reviewed_images_for_air_gapped_registries(write_stack) -> None:
    gpu = images.SERVING_IMAGES["gpu"]
    plugin = images.NVIDIA_DEVICE_PLUGIN_IMAGE
    path = write_stack(f"""
        extends: base.yaml
        cloud: aws
        node_pools: {{l4: {{accelerator: L4, max_nodes: 1}}}}
        models:
          m: {{source: hf://meta-llama/Llama-3.1-8B-Instruct, node_pool: l4, max_model_len: 8192}}
        images:
          "{gpu}": registry.internal:5000/vllm/vllm-openai:v0.33.0
          "{plugin}": registry.internal:5000/nvidia/k8s-device-plugin:v0.20.0
    """)
    found = rendered_images(plan(path))
    assert "registry.internal:5000/vllm/vllm-openai:v0.33.0" in found
    assert "registry.internal:5000/nvidia/k8s-device-plugin:v0.20.0" in found
    assert gpu not in found and plugin not in found
    assert found <= set(allowed(path))
