"""A new user's first run (issue 21, items 5 and 6): gates that cannot check, budgets that are not
numbers, no state before a refusal, the end of a preview, placeholders, 80 columns, rich markup,
`size` on hostile input, and the test command's setup (progress, constraints, reuse)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import GOLDEN_PLAN_FILES

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no pulumi CLI: the offline engine


# ---- item 5: gates


@pytest.mark.parametrize("budget", ["nan", "-5", "0", "inf"])
def test_budget_that_is_not_a_budget_is_refused(cli, in_repo, budget):
    result = cli("preview", "dev", "--offline", "--budget", budget)
    assert result.exit_code == 2, result.output
    assert "is not a budget" in result.stderr


def test_budget_from_the_environment_is_checked_too(cli, in_repo, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_BUDGET", "nan")
    result = cli("preview", "dev", "--offline")
    assert result.exit_code == 2 and "is not a budget" in result.stderr


def test_a_small_budget_still_blocks(cli, in_repo):
    result = cli("preview", "dev", "--offline", "--budget", "1")
    assert result.exit_code == 3


def test_leftovers_strict_without_credentials_exits_4(cli, in_repo, monkeypatch):
    for var in (
        "GOOGLE_OAUTH_ACCESS_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CREDENTIALS",
        "CLOUDSDK_AUTH_ACCESS_TOKEN",
        "GCE_METADATA_HOST",
    ):
        monkeypatch.delenv(var, raising=False)
    assert cli("leftovers", "dev").exit_code == 0
    strict = cli("leftovers", "dev", "--strict")
    assert strict.exit_code == 4, strict.stderr
    assert "could not check" in strict.stderr


def test_up_without_a_terminal_writes_no_state_before_refusing(cli, fake_pulumi_cli, tmp_path):
    result = cli("up", "dev")
    assert result.exit_code == 2
    assert "no terminal to ask; pass --yes" in result.stderr
    assert fake_pulumi_cli.ops() == []  # no stack select/init, no preview: nothing recorded
    assert not (tmp_path / "fake-state").exists()


def test_destroy_without_a_terminal_writes_no_state_before_refusing(cli, fake_pulumi_cli):
    result = cli("destroy", "dev")
    assert result.exit_code == 2
    assert fake_pulumi_cli.ops() == []


def test_json_never_holds_nan_or_infinity():
    from llmcloud.cli.common import _finite, json_text

    assert (
        json.dumps(_finite({"a": float("inf"), "b": [float("nan"), 1.5]}), allow_nan=False)
        == '{"a": null, "b": [null, 1.5]}'
    )
    deep = {"cost": {"rows": [{"usd": 1.5}, {"usd": float("-inf")}], "n": 2}}
    assert json.loads(json_text(deep)) == {"cost": {"rows": [{"usd": 1.5}, {"usd": None}], "n": 2}}
    finite = {"a": [1, 2.5, "x", None, True], "b": {"c": ()}}
    assert json_text(finite) == json.dumps(_finite(finite), indent=2)  # the same text when nothing is replaced


@pytest.mark.parametrize("golden", GOLDEN_PLAN_FILES, ids=lambda p: p.stem)
def test_json_output_is_the_json_modules_text_for_every_golden_plan(golden):
    from llmcloud.cli.common import _json_module_text, json_text

    data = json.loads(golden.read_text())
    assert json_text(data) == _json_module_text(data)


def test_json_output_keeps_the_json_modules_choices():
    import dataclasses
    import datetime

    from llmcloud.cli.common import _json_module_text, json_text

    @dataclasses.dataclass
    class Row:
        usd: float

    cases = [
        {"note": "1 × L4 per node", "emoji": "ok 😀", "nan": float("nan"), "inf": [float("-inf")]},
        {1: "a key that is not a str"},  # orjson refuses it: json writes it
        {"when": datetime.datetime(2026, 12, 1, 10, 30), "row": Row(1.5), "set": {3}},
        {"big": 2**70},  # beyond 64 bits: json
        {"empty": {}, "list": [], "tuple": (1, 2), "ctrl": 'a\tb\u0001"q"\\'},
    ]
    for case in cases:
        assert json_text(case) == _json_module_text(case)
    assert json_text(cases[0]).isascii()


# ---- item 6: first run


def test_preview_ends_with_budget_placeholders_and_next_command(cli, in_repo):
    result = cli("preview", "dev", "--offline")
    assert result.exit_code == 0, result.stderr
    tail = result.stdout.rstrip().splitlines()[-8:]
    text = "\n".join(tail)
    assert "Budget: expected $" in text and "of $1,500.00/month: within" in text
    assert "Placeholders to replace before `up`:" in text
    assert "gcp.project: 'llmcloud-demo'" in text and "gateway.domain: 'api.example.com'" in text
    assert tail[-1].startswith("Next: ") and "llmcloud up dev" in tail[-1]


def test_preview_json_has_no_footer(cli, in_repo):
    result = cli("preview", "dev", "--offline", "--json")
    assert result.exit_code == 0
    json.loads(result.stdout)


def test_placeholders_are_an_advisory_with_exit_0(cli, in_repo):
    result = cli("validate", "prod")
    assert result.exit_code == 0, result.stderr
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("note: placeholder")]
    assert any("stacks/base.yaml:7:" in n and "llmcloud-demo" in n for n in notes)
    assert any("stacks/prod.yaml:7:" in n and "203.0.113.0/24" in n for n in notes)
    assert any("api.example.com" in n for n in notes)


def test_real_values_are_not_placeholders(cli, write_stack):
    file = write_stack("""
cloud: gcp
gcp: {project: acme-llm-prod}
gateway: {domain: llm.acme.io}
cluster: {authorized_networks: [100.64.0.0/10]}
""")
    result = cli("validate", file)
    assert result.exit_code == 0, result.stderr
    assert "placeholder" not in result.stderr


def test_preview_fits_80_columns(cli, in_repo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("preview", "dev", "--offline")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(ln.rstrip()) for ln in lines) <= 80
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("Monthly cost"))) :]
    # numbers and SKUs are never cut in the middle: each price and SKU appears whole on one line
    assert any("g2-standard-4 (spot)" in ln for ln in table)
    assert any("$0.3973/node-hour" in ln for ln in table)


def test_compare_keeps_square_brackets(cli, in_repo, monkeypatch):
    import llmcloud.components.cost.compare as compare

    monkeypatch.setattr(
        compare,
        "compare",
        lambda stack: [
            {
                "cloud": "aws",
                "cost": None,
                "notes": ["see [docs]"],
                "error": "the aws SDK (pulumi-aws) is not installed: pip install 'llmcloud[aws]'",
            }
        ],
    )
    result = cli("cost", "dev", "--compare")
    assert "pip install 'llmcloud[aws]'" in result.stdout, result.stdout
    assert "see [docs]" in result.stdout


# ---- size on hostile input (no traceback, exit 2)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["meta-llama/Llama-3.1-8B-Instruct", "--cloud", "AWS"], "did you mean aws?"),
        (["meta-llama/Llama-3.1-8B-Instruct", "--cloud", "gcpp"], "did you mean gcp?"),
        (["meta-llama/Llama-3.1-8B-Instruct", "-q", "awq4"], "did you mean awq?"),
        (["meta-llama/Llama-3.1-8B-Instruct", "--concurrency", "0"], "out of range"),
        (["/dev/zero"], "not a regular file"),
    ],
)
def test_size_refuses_bad_options(cli, args, fragment):
    result = cli("size", *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[]", "a config.json is a JSON object"),
        ('{"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 0}', "num_attention_heads is '0'"),
        ('{"hidden_size": 1e400, "num_hidden_layers": 32, "num_attention_heads": 32}', "hidden_size is 'inf'"),
        ('{"hidden_size": true, "num_hidden_layers": 32, "num_attention_heads": 32}', "hidden_size is 'True'"),
        ('{"text_config": 5, "hidden_size": 64}', "missing num_hidden_layers"),
        ("{not json", "cannot read a config.json"),
    ],
)
def test_size_refuses_bad_configs(cli, tmp_path, content, fragment):
    path = tmp_path / "config.json"
    path.write_text(content)
    result = cli("size", path)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr


def test_size_does_not_hang_on_a_fifo(cli, tmp_path):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    result = cli("size", fifo)
    assert result.exit_code == 2 and "not a regular file" in result.stderr


# ---- item 7: the test command's setup


def _fake_tools(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A stand-in virtualenv whose python and uv log their arguments, and a stand-in tool cache."""
    venv, cache, log = tmp_path / "venv", tmp_path / "cache", tmp_path / "calls.log"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "uv"):
        tool = venv / "bin" / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
        tool.chmod(0o755)
    for tool in ("checkov/bin/checkov", "policy/bin/python", "aiperf/bin/aiperf"):
        path = cache / tool
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return venv, cache, log


def _run_setup(venv: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cache), "LLMCLOUD_VENV": str(venv), "LLMCLOUD_CACHE": str(cache)}
    return subprocess.run(
        [str(REPO / "scripts" / "test"), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_setup_installs_with_constraints_through_uv_then_reuses(tmp_path):
    venv, cache, log = _fake_tools(tmp_path)
    first = _run_setup(venv, cache, "-q", "tests/unit")
    assert first.returncode == 0, first.stderr
    steps = [ln for ln in first.stderr.splitlines() if ln.startswith("==> [")]
    assert any("installing llmcloud" in s and "(uv;" in s for s in steps), first.stderr
    calls = log.read_text().splitlines()
    install = next(c for c in calls if c.startswith("uv pip install"))
    assert "-c constraints.txt" in install and "-e .[test]" in install
    assert calls[-1] == "python -m pytest -n auto -q tests/unit"  # every core: pytest-xdist
    # second run: dependencies unchanged, nothing installed
    log.write_text("")
    second = _run_setup(venv, cache, "-q")
    assert second.returncode == 0
    assert "reusing" in second.stderr
    assert log.read_text().splitlines() == ["python -m pytest -n auto -q"]


def test_constraints_pin_what_pip_backtracked_over():
    pins = dict(
        ln.split("==", 1)
        for ln in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in ln and not ln.startswith("#")
    )
    for name in ("boto3", "botocore", "aiobotocore", "s3fs", "pulumi", "pydantic"):
        assert name in pins, name


def test_render_to_an_existing_file_is_a_usage_error(cli, in_repo, tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("keep me")
    result = cli("render", "dev", "-o", existing)
    assert result.exit_code == 2
    assert "exists and is not a directory" in result.stderr
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("shell", ["llmcloud schema | head -c 10 >/dev/null", "llmcloud schema >&-"])
def test_closed_stdout_is_no_traceback(shell):
    import shutil
    import sys

    exe = shutil.which("llmcloud") or str(Path(sys.executable).parent / "llmcloud")
    result = subprocess.run(
        ["bash", "-c", shell.replace("llmcloud", exe, 1)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr


def test_preview_names_the_program_up_would_miss(cli, in_repo, monkeypatch):
    """Before the next command, a preview says which program the cloud's kubeconfig runs and this machine lacks
    (`up` stops without it, exit 4), and says nothing when it is there."""
    import shutil

    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda n, *a, **k: None if n == "aws" else which(n, *a, **k))
    result = cli("preview", "aws-example", "--offline")
    assert result.exit_code == 0, result.stderr
    assert "`up` also needs aws on this machine (the aws kubeconfig runs it)" in result.stdout
    monkeypatch.setattr(shutil, "which", lambda n, *a, **k: f"/usr/bin/{n}")
    result = cli("preview", "aws-example", "--offline")
    assert "`up` also needs" not in result.stdout
