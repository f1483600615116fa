"""A planted sentinel secret appears in no output: tables, JSON, logs, rendered manifests, error messages,
engine events and exceptions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TOKEN = "hf_SentinelTokenValue0123456789abcdefXYZ"
API_KEY = "sk-SentinelApiKeyValue0123456789abcdef"


@pytest.fixture
def planted(monkeypatch, caplog):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    return caplog


def _clean(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and API_KEY not in text


def test_offline_commands_never_show_the_token(cli, planted, tmp_path):
    outputs = []
    for args in (
        ["preview", "dev", "--offline"],
        ["preview", "dev", "--offline", "--json"],
        ["cost", "dev"],
        ["cost", "dev", "--json"],
        ["render", "dev"],
        ["render", "dev", "-o", str(tmp_path / "out")],
        ["validate", "dev", "--json"],
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        outputs += [result.stdout, result.stderr]
    outputs += [p.read_text() for p in (tmp_path / "out").iterdir()]
    outputs += [r.getMessage() for r in planted.records]
    _clean(*outputs)
    assert any("[secret]" in text for text in outputs)  # the token is there, as a secret


def test_error_messages_redact_a_literal_token(cli, write_stack):
    file = write_stack(f"""
extends: base.yaml
labels: {{build: "{TOKEN}"}}
models:
  m: {{source: "hf://org/{TOKEN}", node_pool: nope}}
""")
    result = cli("validate", file)
    assert result.exit_code == 2
    _clean(result.stdout, result.stderr)
    assert "[redacted]" in result.stderr or "looks like a literal secret" in result.stderr


def test_engine_errors_and_outputs_are_redacted(cli, planted, tmp_path, monkeypatch):
    import shutil

    bin_dir = tmp_path / "p" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "fakes" / "pulumi", bin_dir / "pulumi")
    scenario = tmp_path / "scenario.json"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", str(scenario))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("LLMCLOUD_PASSPHRASE", "pass")
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.x")
    scenario.write_text(
        json.dumps(
            {
                "outputs": {"endpoint": "https://api.example.com", "api_keys": {"default": API_KEY}},
                "secret_outputs": ["api_keys"],
                "preview": {"exit": 255, "stderr": f"error: provider said: bad token {TOKEN} / key {API_KEY}"},
            }
        )
    )
    masked = cli("outputs", "dev", "--json")
    assert masked.exit_code == 0, masked.stderr
    failed = cli("preview", "dev")
    assert failed.exit_code == 1
    _clean(masked.stdout, masked.stderr, failed.stdout, failed.stderr, *(r.getMessage() for r in planted.records))
    shown = cli("outputs", "dev", "--json", "--show-secrets")
    assert API_KEY in shown.stdout  # only when asked for
