"""`llmcloud render`'s manifests are consumed as kubectl and kustomize consume them: `kubectl kustomize` builds
each bundled stack's multi-document YAML into the same objects, and refuses two objects with one identity
(kind, namespace, name), which an apply would otherwise merge into one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
INDEX = json.loads((ROOT / "tests" / "golden" / "plans" / "_index.json").read_text())
COMBOS = [(stack, cloud) for stack, clouds in sorted(INDEX.items()) for cloud in clouds if " " not in cloud]
KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _kustomize(directory: Path, documents: str) -> subprocess.CompletedProcess[str]:
    (directory / "all.yaml").write_text(documents)
    (directory / "kustomization.yaml").write_text("resources:\n- all.yaml\n")
    return subprocess.run([str(KUBECTL), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("stack", "cloud"), COMBOS)
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
