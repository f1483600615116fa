"""RbacPropagationWait: the deploy waits until a just-made Azure role assignment takes effect.

Role assignments reach Azure's authorizers after a delay (usually seconds, up to about ten minutes), so a
Kubernetes call right after "Azure Kubernetes Service RBAC Cluster Admin" is granted can get 403, and AKS
can fail to attach a subnet right after its control plane got Network Contributor.
https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected

A Pulumi dynamic resource (Python, run by the engine during `up`; nothing is created in Azure) that
- mode "kubernetes": asks the API server, with the deploy's own kubeconfig, a SelfSubjectAccessReview
  ("may I create namespaces?") every `interval` seconds until it says allowed, for at most `timeout`
  seconds; then `up` fails with one clear message instead of a 403 half-way through the Kubernetes phase;
- mode "sleep": waits `timeout` seconds once (ARM gives no way to ask on another identity's behalf
  whether its grant is live; the same as Terraform's time_sleep after a role assignment).
Both run on create only, and again when `trigger` (the role assignment's id) changes.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi.dynamic as dynamic
import yaml

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSAR = {
    "apiVersion": "authorization.k8s.io/v1",
    "kind": "SelfSubjectAccessReview",
    "spec": {"resourceAttributes": {"verb": "create", "resource": "namespaces"}},
}
DEFAULT_TIMEOUT = 600  # seconds: the documented worst case of role-assignment propagation
DEFAULT_INTERVAL = 15
SUBNET_ROLE_WAIT = 60  # seconds after Network Contributor on the subnet, before the cluster is created


class NotGranted(Exception):
    """The grant did not take effect within the bound."""


def _exec_token(user: dict[str, Any]) -> str | None:
    """The bearer token of a kubeconfig user: `token`, or what its exec plugin (kubelogin) prints."""
    if user.get("token"):
        return str(user["token"])
    exec_ = user.get("exec")
    if not exec_:
        return None
    env = dict(os.environ)
    env.update({e["name"]: e["value"] for e in exec_.get("env") or []})
    out = subprocess.run(
        [exec_["command"], *(exec_.get("args") or [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise NotGranted(f"{exec_['command']} failed ({out.returncode}): {out.stderr.strip()[:300]}")
    return json.loads(out.stdout)["status"]["token"]


def can_create_namespaces(kubeconfig: str, timeout: float = 30.0) -> bool:
    """One SelfSubjectAccessReview with `kubeconfig` (its current context). False on 401/403 or allowed=false."""
    config = yaml.safe_load(kubeconfig)
    ctx_name = config.get("current-context") or config["contexts"][0]["name"]
    ctx = next(c["context"] for c in config["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    token = _exec_token(user)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    context = None
    if cluster["server"].startswith("https://"):
        context = ssl.create_default_context()
        ca = cluster.get("certificate-authority-data")
        if ca:
            context = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
    request = urllib.request.Request(
        cluster["server"].rstrip("/") + SSAR_PATH, data=json.dumps(SSAR).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return False
        raise
    return bool((answer.get("status") or {}).get("allowed"))


def wait_for_kubernetes_access(
    kubeconfig: str,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    probe: Callable[[str], bool] = can_create_namespaces,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Probe until allowed; the number of probes it took. NotGranted after `timeout` seconds of refusals."""
    attempts = max(1, int(timeout // interval) + 1)
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            if probe(kubeconfig):
                return attempt
            last = "not allowed yet"
        except (OSError, urllib.error.URLError, ValueError) as exc:  # API server not reachable yet
            last = str(exc)[:200]
        if attempt < attempts:
            sleep(interval)
    raise NotGranted(
        f"the deployer still may not create namespaces after {timeout:g} s ({last}): check that "
        "the identity running `up` holds 'Azure Kubernetes Service RBAC Cluster Admin' on the cluster"
    )


class _Provider(dynamic.ResourceProvider):
    def _run(self, props: dict[str, Any]) -> None:
        if props["mode"] == "kubernetes":
            wait_for_kubernetes_access(props["kubeconfig"], float(props["timeout"]), float(props["interval"]))
        else:
            time.sleep(float(props["timeout"]))

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        self._run(props)
        return dynamic.CreateResult(id_=f"rbac-wait-{props['trigger']}"[:200], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = olds.get("trigger") != news.get("trigger")
        return dynamic.DiffResult(changes=changed, replaces=["trigger"] if changed else [], delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=news)


class RbacPropagationWait(dynamic.Resource):
    """Waits for a role assignment (`trigger`: its id) to take effect. kubeconfig: mode kubernetes only."""

    def __init__(
        self,
        name: str,
        *,
        trigger: pulumi.Input[str],
        mode: str = "kubernetes",
        kubeconfig: pulumi.Input[str] | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        interval: int = DEFAULT_INTERVAL,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if mode not in ("kubernetes", "sleep"):
            raise ValueError(f"RbacPropagationWait mode {mode!r}: use kubernetes or sleep")
        if mode == "kubernetes" and kubeconfig is None:
            raise ValueError("RbacPropagationWait mode kubernetes needs the kubeconfig")
        super().__init__(
            _Provider(),
            name,
            {
                "trigger": trigger,
                "mode": mode,
                "timeout": timeout,
                "interval": interval,
                "kubeconfig": pulumi.Output.secret(kubeconfig) if kubeconfig is not None else None,
            },
            opts,
        )
