"""mypy over the contracts between layers: the Cloud protocol and each cloud's object (checked against it
structurally through `CLOUD: Cloud = ...`), the registry, the catalog, labels, credentials, the platform
and front-door contract, and the CLI pipeline. Settings in pyproject.toml [tool.mypy]."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Modules that pass today; add one here when it does (README "Architecture").
TYPED = [
    "components/cloud.py",
    "components/registry.py",
    "components/gcp/__init__.py",
    "components/aws/__init__.py",
    "components/azure/__init__.py",
    "components/labels.py",
    "components/catalog/__init__.py",
    "components/engine/credentials.py",
    "components/platform.py",
    "cli/pipeline.py",
]


def test_contract_modules_type_check(tmp_path):
    pytest.importorskip("mypy")
    cache = Path(shutil.os.environ.get("LLMCLOUD_MYPY_CACHE", tmp_path / "mypy-cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *TYPED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_cloud_missing_a_member_fails_the_check(tmp_path):
    pytest.importorskip("mypy")
    bad = tmp_path / "bad.py"
    bad.write_text("from components.cloud import Cloud\n\nclass Half:\n    name = 'half'\n\nCLOUD: Cloud = Half()\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "c"), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**shutil.os.environ, "MYPYPATH": str(ROOT)},
    )
    assert proc.returncode == 1 and "Incompatible types in assignment" in proc.stdout, proc.stdout
