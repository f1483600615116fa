"""A kubeconfig whose user gets short-lived tokens from an exec credential plugin: no static credentials
(GKE: gke-gcloud-auth-plugin; EKS: `aws eks get-token`; AKS returns its own kubelogin config)."""

from __future__ import annotations

import yaml


def exec_kubeconfig(
    name: str,
    server: str,
    ca_data: str,
    command: str,
    args: list[str] | None = None,
    install_hint: str = "",
    **exec_options: object,
) -> str:
    user_exec: dict[str, object] = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": command}
    if args:
        user_exec["args"] = args
    user_exec.update(exec_options)
    if install_hint:
        user_exec["installHint"] = install_hint
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"exec": user_exec}}],
    }
    return yaml.safe_dump(config, sort_keys=False)
