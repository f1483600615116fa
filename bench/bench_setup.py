"""How long the test command's setup takes: a fresh virtualenv and cold download caches, per installer.

    python bench/bench_setup.py [--modes pip-unconstrained,pip,uv] [--json]

Each mode creates a new virtualenv in a temporary directory (never .venv) and installs exactly what
`./scripts/test` installs into .venv (`-e '.[test]' -e './model_images/loader[test]'`), with empty
pip/uv caches, so the figure is what a new clone on a machine with only Python pays:

- pip-unconstrained: pip without constraints.txt (the old setup: pip searches boto3/aiobotocore releases);
- pip:  pip with constraints.txt;
- uv:   `pip install uv` into the new venv (counted), then `uv pip install` with constraints.txt.

It needs the network (PyPI). Results go to stdout, one line per mode, and are quoted in the README
("Running the tests").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = ["-e", f"{REPO}[test]", "-e", f"{REPO / 'model_images' / 'loader'}[test]"]


def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(cmd, check=True, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1800)


def measure(mode: str, work: Path) -> dict[str, object]:
    venv = work / f"venv-{mode}"
    env = {
        **os.environ,
        "PIP_CACHE_DIR": str(work / f"pip-cache-{mode}"),
        "UV_CACHE_DIR": str(work / f"uv-{mode}"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    log = work / f"{mode}.log"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    created = time.perf_counter()
    constraints = ["-c", str(REPO / "constraints.txt")]
    if mode == "pip-unconstrained":
        _run([python, "-m", "pip", "install", *TARGETS], env, log)
    elif mode == "pip":
        _run([python, "-m", "pip", "install", *constraints, *TARGETS], env, log)
    elif mode == "uv":
        _run([python, "-m", "pip", "install", "uv"], env, log)
        _run([str(venv / "bin" / "uv"), "pip", "install", "--python", python, *constraints, *TARGETS], env, log)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    done = time.perf_counter()
    backtracks = log.read_text(errors="replace").lower().count("backtracking")
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    return {
        "mode": mode,
        "venv_s": round(created - start, 1),
        "install_s": round(done - created, 1),
        "total_s": round(done - start, 1),
        "venv_mb": round(size / 1e6),
        "pip_backtracking_lines": backtracks,
        "load": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="pip-unconstrained,pip,uv")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="llmcloud-bench-setup-") as tmp:
        for mode in args.modes.split(","):
            r = measure(mode.strip(), Path(tmp))
            results.append(r)
            if not args.json:
                print(
                    f"{r['mode']:>18}: install {r['install_s']:6.1f} s (venv {r['venv_s']} s), "
                    f"{r['venv_mb']} MB, pip backtracking lines {r['pip_backtracking_lines']}, "
                    f"load average {r['load']}",
                    flush=True,
                )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
