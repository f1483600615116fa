"""`llmcloud --help` and `llmcloud validate` must not import Pulumi or any cloud SDK (speed, and a
user with one cloud's SDK must never need another's). Checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PROBE = """
import json, sys
sys.argv = ["llmcloud", *json.loads(sys.argv[1])]
from llmcloud.cli.main import app  # app, not main: main leaves with os._exit once Pulumi is loaded
try:
    app()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules
                if m.split(".")[0] in ("pulumi", "pulumi_gcp", "pulumi_aws", "pulumi_azure_native",
                                       "pulumi_kubernetes", "grpc")}
               # network clients load only in the commands that talk to a network (weights sync, bench, ...)
               | {m for m in sys.modules if m in ("urllib.request", "http.client")})
sys.stderr.write("LOADED=" + json.dumps(heavy) + "\\n")
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", "dev"],
        ["validate", "prod", "--json"],
        ["schema"],
        ["validate", "dev", "--cloud", "aws"],
    ],
)
def test_no_pulumi_or_cloud_sdk_loaded(args):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED="))
    assert json.loads(line.removeprefix("LOADED=")) == []


def test_offline_preview_loads_only_the_chosen_cloud():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["preview", "dev", "--offline", "--json"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED="))
    loaded = json.loads(line.removeprefix("LOADED="))
    assert "pulumi_gcp" in loaded
    assert "pulumi_aws" not in loaded and "pulumi_azure_native" not in loaded
