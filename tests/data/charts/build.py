"""Rebuild the chart packages in this directory from the charts' source repositories, at the versions
components/k8s/images.py and the components pin (a maintainer's tool: it needs local git clones; the test
suite only reads the packages).

    python tests/data/charts/build.py MIRRORS_DIR

MIRRORS_DIR holds one bare or normal git clone per repository, named owner+name (kedacore+charts, ...), or
owner+name/repo. Each chart is taken from its release tag (or, for aws/eks-charts, which has no tags per
chart, the commit that released the version), changed the way the project's own release tooling changes it
before `helm package` (noted per chart below), and packaged with Helm's SDK (helm-python-sdk).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

# name: (repository, ref, chart directory in the repository, chart version, app version (None: as in
# Chart.yaml), release edits of values.yaml)
CHARTS = {
    "keda": ("kedacore+charts", "v2.20.2", "keda", "2.20.2", None, {}),
    # kubernetes-sigs/lws hack/push-chart.sh at v0.10.0: image repository, tag and pull policy set, then
    # `helm package --version v0.10.0 --app-version v0.10.0` (the installation page asks Helm for 0.10.0, which
    # matches the tag v0.10.0).
    "lws": (
        "kubernetes-sigs+lws",
        "v0.10.0",
        "charts/lws",
        "v0.10.0",
        "v0.10.0",
        {
            ("image", "manager", "repository"): "registry.k8s.io/lws/lws",
            ("image", "manager", "tag"): "v0.10.0",
            ("image", "manager", "pullPolicy"): "IfNotPresent",
        },
    ),
    # cert-manager make/manifests.mk at v1.21.1: Chart.yaml version and appVersion set to the release.
    "cert-manager": ("cert-manager+cert-manager", "v1.21.1", "deploy/charts/cert-manager", "v1.21.1", "v1.21.1", {}),
    "cluster-autoscaler": (
        "kubernetes+autoscaler",
        "cluster-autoscaler-chart-9.59.0",
        "cluster-autoscaler/charts/cluster-autoscaler",
        "9.59.0",
        None,
        {},
    ),
    # Its dependencies are packaged in its charts/ directory, each at the version Chart.yaml asks for; for
    # prometheus-windows-exporter's "0.12.*" the newest 0.12 release tagged before kube-prometheus-stack-88.5.3
    # (0.12.8, 2026-07-22), as `helm dependency update` would have resolved it then.
    "kube-prometheus-stack": (
        "prometheus-community+helm-charts",
        "kube-prometheus-stack-88.5.3",
        "charts/kube-prometheus-stack",
        "88.5.3",
        None,
        {},
    ),
    "aws-load-balancer-controller": (
        "aws+eks-charts",
        "5239609",  # "aws-load-balancer-controller: v3.5.0 (#1354)"
        "stable/aws-load-balancer-controller",
        "3.5.0",
        None,
        {},
    ),
}


# chart name: (repository, ref, chart directory) of each dependency put into its charts/ directory
SUBCHARTS = {
    "kube-prometheus-stack": (
        ("prometheus-community+helm-charts", "kube-state-metrics-8.4.0", "charts/kube-state-metrics"),
        ("prometheus-community+helm-charts", "prometheus-node-exporter-4.56.1", "charts/prometheus-node-exporter"),
        ("grafana-community+helm-charts", "grafana-12.11.1", "charts/grafana"),
        (
            "prometheus-community+helm-charts",
            "prometheus-windows-exporter-0.12.8",
            "charts/prometheus-windows-exporter",
        ),
    ),
}


def _extract(mirrors: Path, repo: str, ref: str, path: str, into: Path) -> Path:
    """`git archive` of one directory at a ref, unpacked under `into`; returns the directory."""
    archive = subprocess.run(
        ["git", "-C", str(_git_dir(mirrors, repo)), "archive", "--format=tar", ref, path],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / path


def _git_dir(mirrors: Path, repo: str) -> Path:
    for candidate in (mirrors / repo / "repo", mirrors / repo):
        if candidate.is_dir():
            return candidate
    raise SystemExit(f"no clone of {repo} under {mirrors}")


def _set(values: dict, path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        values = values[key]
    if path[-1] not in values:
        raise SystemExit(f"values.yaml has no {'.'.join(path)}: the release edit no longer applies")
    values[path[-1]] = value


def build(mirrors: Path, name: str) -> Path:
    import helm_python

    repo, ref, chart_dir, version, app_version, edits = CHARTS[name]
    with tempfile.TemporaryDirectory() as tmp:
        source = _extract(mirrors, repo, ref, chart_dir, Path(tmp) / "chart")
        for sub_repo, sub_ref, sub_dir in SUBCHARTS.get(name, ()):
            sub = _extract(mirrors, sub_repo, sub_ref, sub_dir, Path(tmp) / "sub")
            sub.rename(source / "charts" / sub.name)
        if edits:
            values_file = source / "values.yaml"
            values = yaml.safe_load(values_file.read_text())
            for path, value in edits.items():
                _set(values, path, value)
            values_file.write_text(yaml.safe_dump(values, sort_keys=False))
        for old in HERE.glob(f"{name}-*.tgz"):
            old.unlink()
        out = helm_python.package(source, destination=HERE, version=version, app_version=app_version)
    return Path(out)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for name in CHARTS:
        print(build(Path(sys.argv[1]), name))


if __name__ == "__main__":
    main()
