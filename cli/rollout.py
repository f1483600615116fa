"""After `up`: each model's rollout status, read from the cluster with the stack's kubeconfig output.

`up` does not wait for model servers: their Deployment or LeaderWorkerSet carries `pulumi.com/skipAwait`
(components/k8s/serving.py), and their Service is headless, which Pulumi's Service await does not hold on
ready pods (pulumi-kubernetes provider/pkg/await/service.go, `isHeadlessService`). A cold start (node,
image, weights, compilation) can outlast any deploy timeout, so `up` succeeds once the resources exist and
reports here what each model is doing: ready replicas of desired, or starting within its start-up budget
(the figure of its startup probe).

The status is read with `kubectl get --raw` (the Python kubernetes client is not a dependency), through
the kubeconfig the stack outputs, written to a private temporary file for the call and deleted after.
Without kubectl, or when the API server does not answer within TIMEOUT_SECONDS, each model is reported as
unknown with the command that shows it. Tested against a stand-in API server on 127.0.0.1, not a real
cluster (README, "The serving layer").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmcloud.components.resolve import ResolvedModel, ResolvedStack

TIMEOUT_SECONDS = 10
LWS_API = "/apis/leaderworkerset.x-k8s.io/v1"
DEPLOYMENT_API = "/apis/apps/v1"


@dataclass(frozen=True)
class ModelRollout:
    model: str
    kind: str  # Deployment | LeaderWorkerSet
    state: str  # ready | starting | scaled to zero | unknown
    ready: int | None  # ready replicas (LeaderWorkerSet: ready groups); None when unknown
    desired: int | None
    startup_budget_minutes: int
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kind": self.kind,
            "state": self.state,
            "ready": self.ready,
            "desired": self.desired,
            "startup_budget_minutes": self.startup_budget_minutes,
            "detail": self.detail,
        }

    def line(self) -> str:
        if self.state == "unknown":
            return f"{self.model}: status unknown ({self.detail})"
        counts = f"{self.ready}/{self.desired} {'groups' if self.kind == 'LeaderWorkerSet' else 'replicas'} ready"
        if self.state == "starting":
            return f"{self.model}: {counts}, starting (budget {self.startup_budget_minutes} min)"
        return f"{self.model}: {counts}" + (" (scaled to zero)" if self.state == "scaled to zero" else "")


def _budget_minutes(model: ResolvedModel) -> int:
    from llmcloud.components.gateway_checks import startup_budget_seconds

    return startup_budget_seconds(model) // 60


def _path(namespace: str, model: ResolvedModel) -> str:
    if model.workload_kind == "LeaderWorkerSet":
        return f"{LWS_API}/namespaces/{namespace}/leaderworkersets/{model.name}"
    return f"{DEPLOYMENT_API}/namespaces/{namespace}/deployments/{model.name}"


def check_command(namespace: str, model: ResolvedModel) -> str:
    return f"kubectl -n {namespace} get {model.workload_kind.lower()} {model.name}"


def from_object(model: ResolvedModel, obj: dict[str, Any]) -> ModelRollout:
    """The rollout of one model from its Deployment or LeaderWorkerSet as the API server returns it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    state = "scaled to zero" if desired == 0 else ("ready" if ready >= desired else "starting")
    return ModelRollout(model.name, model.workload_kind, state, ready, desired, _budget_minutes(model))


def _unknown(model: ResolvedModel, detail: str) -> ModelRollout:
    return ModelRollout(model.name, model.workload_kind, "unknown", None, None, _budget_minutes(model), detail)


# kubectl's stderr is never shown as is: it can quote the kubeconfig (tokens, keys) when it cannot parse it.
_KUBECTL_ERRORS = (
    (("NotFound", "not found"), "the workload is not in the cluster (yet)"),
    (("Unauthorized", "Forbidden", "forbidden"), "the kubeconfig's credentials were refused"),
    (
        (
            "was refused",
            "connection refused",
            "Unable to connect",
            "no such host",
            "i/o timeout",
            "Timeout",
            "deadline exceeded",
        ),
        "the API server did not answer",
    ),
    (("executable", "exec plugin", "getting credentials"), "the kubeconfig's credential plugin failed"),
)


def _kubectl_error(stderr: str, code: int) -> str:
    for needles, meaning in _KUBECTL_ERRORS:
        if any(n in stderr for n in needles):
            return meaning
    return f"kubectl failed (exit {code})"


def statuses(
    r: ResolvedStack, kubeconfig: str | None, *, namespace: str | None = None, kubectl: str | None = None
) -> list[ModelRollout]:
    """Every model's rollout, read with kubectl through `kubeconfig` (the stack output); unknown, with the
    reason and the command to check it, when it cannot be read."""
    ns = namespace or r.namespace
    models = [r.models[name] for name in sorted(r.models)]
    exe = kubectl or shutil.which("kubectl")
    if not models:
        return []
    if exe is None:
        return [_unknown(m, f"kubectl is not installed; check with `{check_command(ns, m)}`") for m in models]
    if not kubeconfig or kubeconfig == "[secret]":
        return [_unknown(m, f"no kubeconfig output; check with `{check_command(ns, m)}`") for m in models]
    out = []
    fd, path = tempfile.mkstemp(prefix="llmcloud-kubeconfig-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp: readable by this user only
            f.write(kubeconfig)
        for m in models:
            out.append(_read(exe, path, ns, m))
    finally:
        os.unlink(path)
    return out


def _read(exe: str, kubeconfig_path: str, namespace: str, model: ResolvedModel) -> ModelRollout:
    argv = [exe, "--kubeconfig", kubeconfig_path, f"--request-timeout={TIMEOUT_SECONDS}s"]
    argv += ["get", "--raw", _path(namespace, model)]
    how = f"check with `{check_command(namespace, model)}`"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS + 5, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _unknown(model, f"kubectl did not answer ({type(exc).__name__}); {how}")
    if done.returncode != 0:
        return _unknown(model, f"{_kubectl_error(done.stderr, done.returncode)}; {how}")
    try:
        obj = json.loads(done.stdout)
    except ValueError:
        return _unknown(model, f"the API server's answer is not JSON; {how}")
    return from_object(model, obj) if isinstance(obj, dict) else _unknown(model, f"unexpected answer; {how}")


def report(r: ResolvedStack, outputs: dict[str, Any], read_secret_outputs: Any) -> list[ModelRollout]:
    """The statuses after `up`: the kubeconfig from the outputs, or (masked there) from
    `read_secret_outputs()`; never printed."""
    kubeconfig = outputs.get("kubeconfig")
    namespace = outputs.get("namespace") if isinstance(outputs.get("namespace"), str) else None
    if r.models and (not isinstance(kubeconfig, str) or kubeconfig == "[secret]"):
        try:
            kubeconfig = (read_secret_outputs() or {}).get("kubeconfig")
        except Exception:  # the engine's error or its exit (typer.Exit): status unknown, `up` has succeeded
            kubeconfig = None
    return statuses(r, kubeconfig if isinstance(kubeconfig, str) else None, namespace=namespace)
