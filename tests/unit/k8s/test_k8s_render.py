"""llmcloud render: the serving layer's manifests as YAML."""

from __future__ import annotations

from pathlib import Path

import yaml

STACKS = Path(__file__).resolve().parents[3] / "stacks"


def test_render_to_a_directory(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_render_sentinel")
    out = tmp_path / "manifests"
    result = cli("render", STACKS / "dev.yaml", "-o", out)
    assert result.exit_code == 0, result.stderr
    files = sorted(out.glob("*.yaml"))
    docs = [yaml.safe_load(f.read_text()) for f in files]
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ScaledObject", "PodDisruptionBudget", "Secret"} <= kinds
    assert (out / "Deployment-llama-8b.yaml").exists()
    for f in files:
        assert "hf_render_sentinel" not in f.read_text()
        assert ":latest" not in f.read_text()
    secret = yaml.safe_load((out / "Secret-llama-8b-hf-token.yaml").read_text())
    assert secret["stringData"] == {"value": "[secret]"}  # a placeholder inside the map: apply-able


def test_render_to_stdout_is_multi_document_yaml(cli, monkeypatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    result = cli("render", STACKS / "gcp-tpu.yaml")
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {"LeaderWorkerSet", "Deployment"} <= {d["kind"] for d in docs}
    assert all("apiVersion" in d and "metadata" in d for d in docs)
    assert "HF_TOKEN is not set" in result.stderr


def test_serving_docs_cover_the_layer() -> None:
    text = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for heading in (
        "## The serving layer",
        "### Weights and cold start",
        "### Disks that fit",
        "### Quantization",
        "### Images and pins",
        "### Autoscaling",
        "### Monitoring",
        "### Does the model fit?",
    ):
        assert heading in text
    for word in (
        "GKE",
        "EKS",
        "AKS",
        "image streaming",
        "local SSD",
        "runai_streamer",
        "llmcloud weights sync",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:num_requests_running",
    ):
        assert word in text
