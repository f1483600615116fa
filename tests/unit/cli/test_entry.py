"""cli/entry.py: `llmcloud --help` is served from llmcloud's cache once Typer has rendered it, and only
while nothing that renders it has changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from llmcloud.cli import entry

ROOT = Path(__file__).resolve().parents[3]
# The executable's entry point as the console script runs it, reporting at exit whether Typer was imported.
_RUN = (
    "import atexit, sys; sys.argv[0] = 'llmcloud'; "
    "atexit.register(lambda: sys.stderr.write('typer-loaded=%s' % ('typer' in sys.modules))); "
    "from llmcloud.cli.{module} import main; main()"
)


def _run(tmp_path: Path, *args: str, module: str = "entry", **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "100", **env}
    return subprocess.run(
        [sys.executable, "-c", _RUN.format(module=module), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=120,
    )


@pytest.mark.parametrize("args", [["--help"], ["preview", "-h"]])
def test_help_is_typers_own_text_then_served_without_typer(tmp_path, args):
    typer_text = _run(tmp_path, *args, module="main")
    first = _run(tmp_path, *args)
    second = _run(tmp_path, *args)
    assert typer_text.returncode == first.returncode == second.returncode == 0
    assert first.stdout == second.stdout == typer_text.stdout and "Usage: llmcloud" in first.stdout
    assert "typer-loaded=True" in first.stderr  # rendered by Typer, and kept
    assert "typer-loaded=False" in second.stderr  # read back
    assert len(list((tmp_path / "cache" / "help").glob("*.txt"))) == 1


def test_a_changed_environment_or_cache_off_renders_again(tmp_path):
    _run(tmp_path, "--help")
    assert "typer-loaded=True" in _run(tmp_path, "--help", LLMCLOUD_CLOUD="aws").stderr  # another key
    off = _run(tmp_path, "--help", LLMCLOUD_CACHE_DIR="off")
    assert off.returncode == 0 and "typer-loaded=True" in off.stderr


def test_only_pure_help_requests_are_served():
    assert entry._help_request([]) and entry._help_request(["--help"]) and entry._help_request(["cost", "-h"])
    assert entry._help_request(["weights", "sync", "--help"])
    for args in (["preview", "dev"], ["preview", "dev", "--json", "--help"], ["--version"], ["Preview", "-h"]):
        assert not entry._help_request(args), args


def test_the_key_follows_every_cli_file_and_the_installed_typer(tmp_path, monkeypatch):
    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    (cli_dir / "main.py").write_text("x = 1\n")
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "registry.py").write_text("")
    typer_init = tmp_path / "typer_init.py"
    typer_init.write_text("")
    monkeypatch.setattr(entry, "_HERE", str(cli_dir))
    monkeypatch.setattr(entry, "_typer_file", lambda: str(typer_init))
    monkeypatch.setenv("COLUMNS", "120")
    base = entry._key(["--help"])
    assert entry._key(["cost", "--help"]) != base
    (cli_dir / "main.py").write_text("x = 22\n")  # a command's text changed
    changed = entry._key(["--help"])
    assert changed != base
    (cli_dir / "new.py").write_text("")  # a command module added
    assert entry._key(["--help"]) != changed
    os.utime(typer_init, ns=(1, 1))  # another Typer installed
    assert entry._key(["--help"]) not in (base, changed)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_stdout_that_refuses_the_text_is_an_error_not_a_traceback(tmp_path):
    for cache in ("empty", "warm"):  # rendered by Typer, then the kept text
        env = {**os.environ, "LLMCLOUD_CACHE_DIR": str(tmp_path / cache), "COLUMNS": "100"}
        if cache == "warm":
            assert _run(tmp_path, "--help", LLMCLOUD_CACHE_DIR=str(tmp_path / cache)).returncode == 0
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [sys.executable, "-c", _RUN.format(module="entry"), "--help"],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=120,
            )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, cache
        assert "error: cannot write the help text to stdout: No space left on device" in proc.stderr
        assert f"typer-loaded={cache == 'empty'}" in proc.stderr


def test_a_secret_setting_never_enters_the_key(monkeypatch):
    monkeypatch.setenv("LLMCLOUD_PASSPHRASE", "one")
    first = entry._key(["--help"])
    monkeypatch.setenv("LLMCLOUD_PASSPHRASE", "two")
    assert entry._key(["--help"]) == first
    monkeypatch.setenv("LLMCLOUD_OWNER", "someone-else")
    assert entry._key(["--help"]) != first


def test_commands_run_with_the_cli_garbage_collection_thresholds():
    script = (
        "import gc, sys\n"
        "sys.argv = ['llmcloud', 'version']\n"
        "from llmcloud.cli import main\n"
        "try:\n    main.main()\nexcept SystemExit:\n    pass\n"
        "print(gc.get_threshold(), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    from llmcloud.cli.main import GC_THRESHOLDS

    assert proc.stderr.strip().splitlines()[-1] == str(GC_THRESHOLDS)
    assert GC_THRESHOLDS[0] > 700  # above the interpreter's default young generation
