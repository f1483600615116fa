"""`llmcloud render`'s manifests are consumed as kubectl and kustomize consume them: `kubectl kustomize` builds
each bundled stack's multi-document YAML into the same objects, and refuses two objects with one identity
(kind, namespace, name), which an apply would otherwise merge into one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import GOLDEN_COMBOS

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _kustomize(directory: Path, documents: str) -> subprocess.CompletedProcess[str]:
    (directory / "all.yaml").write_text(documents)
    (directory / "kustomization.yaml").write_text("resources:\n- all.yaml\n")
    return subprocess.run([str(KUBECTL), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("stack", "cloud"), GOLDEN_COMBOS)
def test_kustomize_builds_the_rendered_manifests(cli, tmp_path, stack, cloud) -> None:
    result = cli("render", stack, "--cloud", cloud)
    assert result.exit_code == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    built = _kustomize(tmp_path, result.stdout)
    assert built.returncode == 0, built.stderr
    assert len([d for d in yaml.safe_load_all(built.stdout) if d]) == len(rendered) >= 10


def test_two_objects_with_one_identity_are_refused(cli, tmp_path) -> None:
    result = cli("render", "dev")
    first = next(d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Service")
    built = _kustomize(tmp_path, result.stdout + "---\n" + yaml.safe_dump(first))
    assert built.returncode != 0 and "already registered" in built.stderr
