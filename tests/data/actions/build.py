"""Record the inputs of every GitHub Action `llmcloud ci init` pins, from its action.yml at the pinned commit,
into inputs.json here (a maintainer's tool; the test suite reads only inputs.json).

    python tests/data/actions/build.py MIRRORS_DIR

MIRRORS_DIR holds one git clone per action repository, named owner+name (or owner+name/repo); the owner is
matched without regard to case (azure/login is the Azure/login repository)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def _clone(mirrors: Path, action: str) -> Path:
    owner, name = action.split("/")
    for candidate in mirrors.iterdir():
        if candidate.name.lower() == f"{owner}+{name}".lower():
            return candidate / "repo" if (candidate / "repo").is_dir() else candidate
    raise SystemExit(f"no clone of {action} under {mirrors}")


def main() -> None:
    sys.path.insert(0, str(HERE.parents[2] / ".editable"))
    from llmcloud.cli.ci import pinned_actions

    out = {}
    for action, (sha, tag) in sorted(pinned_actions().items()):
        git = _clone(Path(sys.argv[1]), action)
        assert (
            subprocess.run(
                ["git", "-C", str(git), "rev-parse", f"{tag}^{{commit}}"], capture_output=True, text=True, check=True
            ).stdout.strip()
            == sha
        ), f"{action}: {tag} is not {sha}"
        text = subprocess.run(
            ["git", "-C", str(git), "show", f"{sha}:action.yml"], capture_output=True, text=True, check=True
        ).stdout
        inputs = yaml.safe_load(text).get("inputs") or {}
        out[action] = {
            "commit": sha,
            "tag": tag,
            "inputs": {
                name: {"required": bool(spec.get("required")) and "default" not in spec}
                for name, spec in sorted(inputs.items())
            },
        }
    (HERE / "inputs.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
