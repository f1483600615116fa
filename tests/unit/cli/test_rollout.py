"""`up` reports each model's rollout instead of waiting for it (cli/rollout.py): read with kubectl through the
stack's kubeconfig output from a stand-in Kubernetes API server on 127.0.0.1 (no real cluster here)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import get, repo_plan, resolved
from llmcloud.cli import rollout
from stub_server import StubServer

REPO = Path(__file__).resolve().parents[3]
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


class FakeApiServer(StubServer):
    """Answers GET <path> with the scripted object (200) or a Kubernetes Status (404); records the paths."""

    def __init__(self, objects: dict[str, dict]) -> None:
        # kubectl as Google Cloud SDK ships it (a version dispatcher) asks /version first
        self.objects = {"/version": {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}, **objects}
        super().__init__(self._answer)

    @property
    def paths(self) -> list[str]:
        return [r.split("?", 1)[0] for r in self.requests]

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        obj = self.objects.get(path)
        code = 200 if obj is not None else 404
        if obj is None:
            name = path.rsplit("/", 1)[-1]
            obj = {
                "kind": "Status",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
                "message": f'deployments.apps "{name}" not found',
            }
        return code, json.dumps(obj).encode(), {"Content-Type": "application/json"}

    def kubeconfig(self) -> str:
        port = self.port
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
            "users: [{name: u, user: {token: not-sent-over-http}}]\n"
            "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
        )


def deployment(replicas: int, ready: int | None) -> dict:
    status = {"replicas": replicas} if ready is None else {"replicas": replicas, "readyReplicas": ready}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": replicas}, "status": status}


DEV_PATH = "/apis/apps/v1/namespaces/llmcloud/deployments/llama-8b"


def _dev():
    return resolved(REPO / "stacks" / "dev.yaml")


def test_model_workloads_are_not_awaited():
    # skipAwait on the workloads and a headless Service (Pulumi's Service await skips those): nothing in `up`
    # holds on a model pod becoming ready
    for stack in ("dev", "gcp-tpu"):
        plan = repo_plan(stack)
        models = set(resolved(REPO / "stacks" / f"{stack}.yaml").models)
        workloads = {
            get(s.inputs, "metadata.name"): s
            for s in plan.steps
            if s.type in ("kubernetes:apps/v1:Deployment", "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
            and get(s.inputs, "metadata.name") in models
        }
        assert set(workloads) == models, stack
        for s in workloads.values():
            assert s.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
        services = [s for s in plan.by_type("kubernetes:core/v1:Service") if get(s.inputs, "metadata.name") in models]
        assert len(services) == len(models)
        assert all(s.inputs["spec"]["clusterIP"] == "None" for s in services)


@needs_kubectl
@pytest.mark.parametrize(
    ("obj", "state", "line"),
    [
        (deployment(1, None), "starting", "llama-8b: 0/1 replicas ready, starting (budget 30 min)"),
        (deployment(2, 1), "starting", "llama-8b: 1/2 replicas ready, starting (budget 30 min)"),
        (deployment(1, 1), "ready", "llama-8b: 1/1 replicas ready"),
        (deployment(0, None), "scaled to zero", "llama-8b: 0/0 replicas ready (scaled to zero)"),
    ],
)
def test_status_from_the_api_server(obj, state, line):
    with FakeApiServer({DEV_PATH: obj}) as api:
        (status,) = rollout.statuses(_dev(), api.kubeconfig())
    assert [p for p in api.paths if p != "/version"] == [DEV_PATH]
    assert status.state == state and status.line() == line
    assert status.to_json()["startup_budget_minutes"] == 30  # Llama-3.1-8B: 20 + 0.5 x 16 GiB -> the 30 min floor


@needs_kubectl
def test_a_missing_workload_is_unknown_with_the_command_to_check(tmp_path):
    before = set(Path(tempfile.gettempdir()).glob("llmcloud-kubeconfig-*"))
    with FakeApiServer({}) as api:
        (status,) = rollout.statuses(_dev(), api.kubeconfig())
    assert status.state == "unknown" and status.ready is None
    assert status.detail == (
        "the workload is not in the cluster (yet); check with `kubectl -n llmcloud get deployment llama-8b`"
    )
    assert set(Path(tempfile.gettempdir()).glob("llmcloud-kubeconfig-*")) == before  # the kubeconfig file is gone


@needs_kubectl
def test_a_leader_worker_set_is_read_from_its_own_api():
    r = resolved(REPO / "stacks" / "gcp-tpu.yaml")
    multi = [m for m in r.models.values() if m.nodes_per_replica > 1]
    assert multi, "gcp-tpu.yaml has a multi-host model"
    objects = {
        f"/apis/leaderworkerset.x-k8s.io/v1/namespaces/llmcloud/leaderworkersets/{m.name}": {
            "spec": {"replicas": 1},
            "status": {"readyReplicas": 0, "replicas": 1},
        }
        for m in multi
    }
    with FakeApiServer(objects) as api:
        found = {s.model: s for s in rollout.statuses(r, api.kubeconfig())}
    for m in multi:
        assert found[m.name].kind == "LeaderWorkerSet" and found[m.name].state == "starting"
        assert "groups ready" in found[m.name].line()


def test_without_kubectl_the_status_is_unknown_and_says_how_to_check(monkeypatch):
    monkeypatch.setattr(rollout.shutil, "which", lambda name: None)
    (status,) = rollout.statuses(_dev(), "apiVersion: v1")
    assert status.state == "unknown"
    assert status.detail == "kubectl is not installed; check with `kubectl -n llmcloud get deployment llama-8b`"


def test_an_unreachable_api_server_is_unknown_not_an_error():
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    with FakeApiServer({}) as api:
        config = api.kubeconfig()  # the server stops before the call: connection refused
    (status,) = rollout.statuses(_dev(), config)
    assert status.state == "unknown" and status.detail.startswith("the API server did not answer; check with")


@needs_kubectl
def test_kubectl_errors_never_quote_the_kubeconfig():
    # kubectl echoes a kubeconfig it cannot parse; the detail is a fixed phrase, never its stderr
    (status,) = rollout.statuses(_dev(), "apiVersion: v1 SECRET-TOKEN-abc123")
    assert status.state == "unknown"
    assert "SECRET-TOKEN" not in status.detail and "SECRET-TOKEN" not in status.line()


def _documents(text: str) -> list[dict]:
    decoder, docs, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)
    return docs


@pytest.fixture
def fake_up(fake_pulumi_cli, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_value_for_the_fake_engine")
    return fake_pulumi_cli


@needs_kubectl
def test_up_reports_a_starting_model_and_succeeds(cli, fake_up):
    with FakeApiServer({DEV_PATH: deployment(1, 0)}) as api:
        config = api.kubeconfig()
        fake_up.script(
            outputs={"cluster_name": "llm-dev", "namespace": "llmcloud", "kubeconfig": config},
            secret_outputs=["kubeconfig"],
            up={"changes": {"create": 3}},
        )
        result = cli("up", "dev", "--yes")
        assert result.exit_code == 0, result.stderr
        assert "llama-8b: 0/1 replicas ready, starting (budget 30 min)" in result.stdout
        assert "not-sent-over-http" not in result.stdout + result.stderr  # the kubeconfig is never printed
        outputs_calls = [o for o in fake_up.ops() if o[:2] == ["stack", "output"]]
        assert any("--show-secrets" in o for o in outputs_calls)  # read only because `up` masks it

        result = cli("up", "dev", "--yes", "--json")
        assert result.exit_code == 0, result.stderr
        data = _documents(result.stdout)[-1]  # progress events (JSON lines) first, then the result
        assert data["models"] == [
            {
                "model": "llama-8b",
                "kind": "Deployment",
                "state": "starting",
                "ready": 0,
                "desired": 1,
                "startup_budget_minutes": 30,
                "detail": "",
            }
        ]
        assert data["outputs"]["kubeconfig"] == "[secret]"
