"""Mock-runtime tests of the serving layer, asserted like policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import one, plan, repo_plan, resolved
from llmcloud.components.k8s import images, serving
from llmcloud.components.k8s.autoscaling import METRIC
from llmcloud.components.k8s.device_plugins import plugins_for

SENTINEL = "hf_SENTINEL_do_not_leak_7f3a9c"
STACKS = Path(__file__).resolve().parents[3] / "stacks"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def _pod(step_inputs: dict[str, Any], role: str = "leaderTemplate") -> dict[str, Any]:
    spec = step_inputs["spec"]
    tmpl = spec["template"] if "template" in spec else spec["leaderWorkerTemplate"][role]
    return tmpl["spec"]


def _container(pod: dict[str, Any], name: str = "vllm") -> dict[str, Any]:
    return next(c for c in pod["containers"] + pod.get("initContainers", []) if c["name"] == name)


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


@pytest.fixture
def with_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    return SENTINEL


# ------------------------------------------------------------------ GPU (dev: 1 x L4)


def test_gpu_requests_limits_selector_tolerations() -> None:
    pod = _pod(one(repo_plan("dev"), DEPLOYMENT, "llama-8b-deployment").inputs)
    vllm = _container(pod)
    assert vllm["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"cpu", "memory"} <= set(vllm["resources"]["requests"]) and {"cpu", "memory"} <= set(
        vllm["resources"]["limits"]
    )
    assert pod["nodeSelector"] == {"llmcloud.dev/pool": "l4"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone" and spread["whenUnsatisfiable"] == "ScheduleAnyway"


def test_vllm_args_from_the_spec() -> None:
    pod = _pod(one(repo_plan("prod"), DEPLOYMENT, "llama-70b-deployment").inputs)
    args = _container(pod)["args"]
    assert _arg(args, "--served-model-name") == "llama-70b"
    assert _arg(args, "--tensor-parallel-size") == "2"
    assert _arg(args, "--pipeline-parallel-size") == "1"
    assert _arg(args, "--max-model-len") == "16384"
    assert _arg(args, "--quantization") == "fp8_per_tensor"
    assert _arg(args, "--gpu-memory-utilization") == "0.90"
    assert _arg(args, "--port") == "8000"
    assert args[0] == "$(LLMCLOUD_MODEL)"  # `vllm serve MODEL`, expanded by Kubernetes from the env
    assert _container(pod)["command"] == ["vllm", "serve"]
    assert _container(pod)["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_shm_is_memory_backed_with_a_limit_and_weights_are_node_local() -> None:
    pod = _pod(one(repo_plan("dev"), DEPLOYMENT, "llama-8b-deployment").inputs)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert volumes["dshm"]["emptyDir"]["sizeLimit"].endswith("Gi")
    assert "medium" not in volumes["weights"]["emptyDir"] and volumes["weights"]["emptyDir"]["sizeLimit"]
    mounts = {m["mountPath"]: m["name"] for m in _container(pod)["volumeMounts"]}
    assert mounts["/dev/shm"] == "dshm" and mounts["/models"] == "weights"


def test_probes_generous_startup_and_health() -> None:
    vllm = _container(_pod(one(repo_plan("dev"), DEPLOYMENT, "llama-8b-deployment").inputs))
    startup = vllm["startupProbe"]
    assert startup["httpGet"]["path"] == "/health"
    assert startup["failureThreshold"] * startup["periodSeconds"] >= 20 * 60
    assert vllm["readinessProbe"]["httpGet"]["path"] == "/health"
    assert vllm["livenessProbe"]["httpGet"]["path"] == "/health"
    # larger models get longer
    big = _container(_pod(one(repo_plan("prod"), DEPLOYMENT, "llama-70b-deployment").inputs))["startupProbe"]
    assert big["failureThreshold"] * big["periodSeconds"] >= 30 * 60
    assert big["failureThreshold"] > startup["failureThreshold"]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_bucket_weights_stream_into_vllm_without_init_container_or_disk() -> None:
    pod = _pod(one(repo_plan("prod"), DEPLOYMENT, "llama-70b-deployment").inputs)
    assert "initContainers" not in pod
    vllm = _container(pod)
    assert _arg(vllm["args"], "--load-format") == "runai_streamer"
    env = _env(vllm)
    assert env["LLMCLOUD_MODEL"]  # the bucket's URL + path (computed in a preview)
    assert env["RUNAI_STREAMER_DIST"] == "1"  # TP 2: the node's ranks split the reads
    # vLLM v0.33.0 streams distributed only when the loader's extra config asks for it
    assert json.loads(_arg(vllm["args"], "--model-loader-extra-config")) == {"distributed": True}
    assert 0 < int(env["RUNAI_STREAMER_MEMORY_LIMIT"]) <= 16 * 2**30
    assert not any("KEY" in name or "SECRET" in name or "CREDENTIALS" in name for name in env)
    assert "weights" not in {v["name"] for v in pod["volumes"]}  # nothing on disk
    assert pod["serviceAccountName"] == "model-server-prod"  # workload identity, per environment on GKE


def test_bucket_source_becomes_the_bucket_url_and_azure_gets_its_account() -> None:
    from dataclasses import replace

    r = resolved(STACKS / "prod.yaml")
    model, pool = r.models["llama-8b"], r.node_pools[r.models["llama-8b"].node_pool]
    assert serving.is_object_store(model.source)
    args = serving.ModelServerArgs(
        model=model,
        pool=pool,
        cloud="azure",
        namespace="llm",
        service_account="sa",
        bucket_urls={"weights": "az://weights"},
        storage_accounts={"weights": "acct1"},
    )
    env = {e["name"]: e["value"] for e in serving.weights_env(args, None)}
    assert env["LLMCLOUD_MODEL"] == "az://weights/" + model.source.removeprefix("bucket://weights/")
    assert env["AZURE_STORAGE_ACCOUNT_NAME"] == "acct1"
    aws = replace(args, cloud="aws", bucket_urls={"weights": "s3://b"}, region="us-east-1", storage_accounts={})
    env = {e["name"]: e["value"] for e in serving.weights_env(aws, None)}
    assert env["LLMCLOUD_MODEL"].startswith("s3://b/") and env["AWS_REGION"] == "us-east-1"
    with pytest.raises(ValueError, match="does not define"):
        serving.model_uri("bucket://nope/x", {"weights": "gs://w"})


def test_hub_weights_downloaded_by_vllm_into_a_sized_volume_that_is_requested() -> None:
    pod = _pod(one(repo_plan("dev"), DEPLOYMENT, "llama-8b-deployment").inputs)
    vllm = _container(pod)
    env = _env(vllm)
    assert env["LLMCLOUD_MODEL"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert env["HF_HUB_CACHE"] == "/models" and "HF_HUB_OFFLINE" not in env
    assert "--load-format" not in vllm["args"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    weights = int(volumes["weights"]["emptyDir"]["sizeLimit"].removesuffix("Gi"))
    assert 15 <= weights <= 20  # 8.03 B params in bf16 = 15 GiB + 5 % + 2 GiB; never the 2x with original/
    disk = sum(
        int(v["emptyDir"]["sizeLimit"].removesuffix("Gi"))
        for v in pod["volumes"]
        if "emptyDir" in v and v["emptyDir"].get("medium") != "Memory"
    )
    request = int(vllm["resources"]["requests"]["ephemeral-storage"].removesuffix("Gi"))
    assert request == int(vllm["resources"]["limits"]["ephemeral-storage"].removesuffix("Gi"))
    assert request >= disk  # every on-disk volume is requested


def test_any_uid_gets_home_user_and_writable_caches() -> None:
    for stack in ("dev", "prod", "gcp-tpu"):
        for step in repo_plan(stack).by_type(DEPLOYMENT) + repo_plan(stack).by_type(LWS):
            if "envoy" in step.name:
                continue  # the front door's Envoy (issue 14)
            vllm = _container(_pod(step.inputs))
            env = _env(vllm)
            assert env["HOME"] == serving.HOME_DIR and env["USER"] and env["LOGNAME"]
            writable = [m["mountPath"] for m in vllm["volumeMounts"] if not m.get("readOnly")]
            for var in (
                "HF_HOME",
                "VLLM_CACHE_ROOT",
                "TRITON_CACHE_DIR",
                "TORCHINDUCTOR_CACHE_DIR",
                "XDG_CACHE_HOME",
                "TMPDIR",
            ):
                assert any(env[var].startswith(path) for path in writable), (stack, var, env[var])


def test_non_root_security_context() -> None:
    for stack in ("dev", "gcp-tpu"):
        for step in repo_plan(stack).by_type(DEPLOYMENT) + repo_plan(stack).by_type(LWS):
            pod = _pod(step.inputs)
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            for c in pod["containers"] + pod.get("initContainers", []):  # the gateway's Envoy has none
                sc = c["securityContext"]
                assert sc["allowPrivilegeEscalation"] is False
                assert sc["capabilities"]["drop"] == ["ALL"]
                assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 10000  # no clash with host UIDs
                assert sc["readOnlyRootFilesystem"] is True


def test_images_pinned_never_latest() -> None:
    for stack in ("dev", "prod", "gcp-tpu"):
        text = json.dumps(repo_plan(stack).to_json())
        assert ":latest" not in text
        for step in repo_plan(stack).by_type(DEPLOYMENT) + repo_plan(stack).by_type(LWS):
            pod = _pod(step.inputs)
            for c in pod["containers"] + pod.get("initContainers", []):  # the gateway's Envoy has none
                tag = c["image"].rsplit(":", 1)[-1]
                assert "/" not in tag and tag not in ("latest", ""), c["image"]
    for image in images.SERVING_IMAGES.values():
        assert not image.endswith(":latest")
    with pytest.raises(ValueError, match="not pinned"):
        images.serving_image("gpu", "vllm/vllm-openai:latest")
    with pytest.raises(ValueError, match="not pinned"):
        images.serving_image("gpu", "vllm/vllm-openai")
    assert images.serving_image("gpu", "registry.example/vllm@sha256:abc") == "registry.example/vllm@sha256:abc"


def test_service_pdb_and_no_annotation_scraping() -> None:
    p = repo_plan("dev")
    svc = one(p, "kubernetes:core/v1:Service", "llama-8b-service").inputs["spec"]
    assert svc["type"] == "ClusterIP" and svc["ports"][0]["port"] == 8000
    pdb = one(p, "kubernetes:policy/v1:PodDisruptionBudget", "llama-8b-pdb").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"] == svc["selector"]
    template = one(p, DEPLOYMENT, "llama-8b-deployment").inputs["spec"]["template"]
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "false"


# ------------------------------------------------------------------ TPU (gcp-tpu)


def test_tpu_single_host_is_a_deployment_with_tpu_selectors() -> None:
    pod = _pod(one(repo_plan("gcp-tpu"), DEPLOYMENT, "gemma-27b-deployment").inputs)
    vllm = _container(pod)
    assert vllm["resources"]["requests"]["google.com/tpu"] == "8"
    assert vllm["resources"]["limits"]["google.com/tpu"] == "8"
    assert pod["nodeSelector"] == {
        "llmcloud.dev/pool": "v5e",
        "cloud.google.com/gke-tpu-accelerator": "tpu-v5-lite-podslice",
        "cloud.google.com/gke-tpu-topology": "2x4",
    }
    assert {"key": "google.com/tpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert vllm["image"] == images.SERVING_IMAGES["tpu"]


def test_multi_host_model_is_a_leader_worker_set() -> None:
    p = repo_plan("gcp-tpu")
    assert not [s for s in p.by_type(DEPLOYMENT) if s.name.startswith("llama-70b")]
    lws = one(p, LWS, "llama-70b-lws").inputs
    tmpl = lws["spec"]["leaderWorkerTemplate"]
    assert tmpl["size"] == 4 and tmpl["restartPolicy"] == "RecreateGroupOnPodRestart"
    for role in ("leaderTemplate", "workerTemplate"):
        pod = _pod(lws, role)
        assert _container(pod)["resources"]["limits"]["google.com/tpu"] == "4"
        assert pod["nodeSelector"]["cloud.google.com/gke-tpu-topology"] == "4x4"
    leader = " ".join(_container(_pod(lws, "leaderTemplate"))["command"])
    assert "--tensor-parallel-size 16" in leader and "ray start --head" in leader
    # the controller is installed from its pinned chart
    release = [s for s in p.by_type("kubernetes:helm.sh/v3:Release") if "lws" in s.inputs["chart"]]
    assert release and release[0].inputs["version"] == images.LWS_CHART.version
    # no LWS controller where no model needs it
    assert not [s for s in repo_plan("dev").by_type("kubernetes:helm.sh/v3:Release") if "lws" in s.inputs["chart"]]


# ------------------------------------------------------------------ autoscaling


def test_autoscaler_on_queue_depth_with_min_max_from_replicas() -> None:
    so = one(repo_plan("dev"), SCALED_OBJECT).inputs["spec"]
    assert so["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-8b"}
    assert (so["minReplicaCount"], so["maxReplicaCount"]) == (1, 2)
    trigger = so["triggers"][0]
    assert trigger["type"] == "prometheus" and METRIC in trigger["metadata"]["query"]
    assert "cpu" not in json.dumps(so).lower()
    assert trigger["metadata"]["serverAddress"].startswith(
        "https://monitoring.googleapis.com/v1/projects/llmcloud-demo"
    )


def test_scale_to_zero_for_min_zero_on_an_lws() -> None:
    so = one(repo_plan("gcp-tpu"), SCALED_OBJECT, "llama-70b-autoscaler-scaledobject").inputs["spec"]
    assert so["minReplicaCount"] == 0 and so["maxReplicaCount"] == 1
    assert so["scaleTargetRef"]["kind"] == "LeaderWorkerSet"
    keda = [s for s in repo_plan("gcp-tpu").by_type("kubernetes:helm.sh/v3:Release") if s.inputs["chart"] == "keda"]
    assert keda and keda[0].inputs["version"] == images.KEDA_CHART.version


def test_workload_replicas_are_owned_by_the_autoscaler() -> None:
    dep = one(repo_plan("dev"), DEPLOYMENT, "llama-8b-deployment").inputs
    assert dep["spec"]["replicas"] == 1  # the initial count; ignore_changes keeps Pulumi off it afterwards


# ------------------------------------------------------------------ the HF token


def test_hf_token_only_by_reference_and_never_in_the_plan(with_token: str) -> None:
    p = plan(STACKS / "dev.yaml")
    text = json.dumps(p.to_json())
    assert SENTINEL not in text
    secret = one(p, "kubernetes:core/v1:Secret", "llama-8b-hf-token")
    assert secret.inputs["stringData"] == "[secret]"
    pod = _pod(one(p, DEPLOYMENT, "llama-8b-deployment").inputs)
    # the token reaches vLLM as a read-only file from the Secret (never an env value)
    assert {"name": "hf-token", "secret": {"secretName": "llama-8b-hf-token", "defaultMode": 0o400}} in pod["volumes"]
    vllm = _container(pod)
    assert {"name": "HF_TOKEN_PATH", "value": "/var/run/secrets/huggingface/token"} in vllm["env"]
    assert {"name": "hf-token", "mountPath": "/var/run/secrets/huggingface", "readOnly": True} in vllm["volumeMounts"]
    assert not [e for e in vllm["env"] if e["name"] == "HF_TOKEN"]


def test_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    r = resolved(STACKS / "dev.yaml")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert serving.missing_secrets(r) == ["HF_TOKEN"]
    monkeypatch.setenv("HF_TOKEN", "x")
    assert serving.missing_secrets(r) == []
    assert serving.missing_secrets(resolved(STACKS / "prod.yaml")) == []  # no model names a token


def test_plan_without_the_token_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    p = plan(STACKS / "dev.yaml")
    assert one(p, "kubernetes:core/v1:Secret", "llama-8b-hf-token").inputs["stringData"] == "[secret]"


# ------------------------------------------------------------------ monitoring and device plugins


def test_gke_monitoring_objects() -> None:
    p = repo_plan("dev")
    pm = one(p, "kubernetes:monitoring.googleapis.com/v1:PodMonitoring", "monitoring-podmonitoring").inputs["spec"]
    assert pm["endpoints"][0]["path"] == "/metrics"
    rules = json.dumps(one(p, "kubernetes:monitoring.googleapis.com/v1:Rules").inputs)
    for metric in (
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "http_requests_total",
        "kube_pod_container_status_restarts_total",
    ):
        assert metric in rules
    cm = one(p, "kubernetes:core/v1:ConfigMap", "monitoring-dashboard").inputs
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(next(iter(cm["data"].values())))
    exprs = json.dumps(board["panels"])
    for metric in (
        "num_requests_waiting",
        "num_requests_running",
        "kv_cache_usage_perc",
        "time_to_first_token_seconds_bucket",
        "request_time_per_output_token_seconds_bucket",
        "inter_token_latency_seconds_bucket",
        "generation_tokens_total",
    ):
        assert metric in exprs
    assert not p.by_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")


def test_no_device_plugins_on_gke_and_the_right_ones_elsewhere() -> None:
    r = resolved(STACKS / "gcp-tpu.yaml")
    assert plugins_for("gcp", r.node_pools.values()) == {}
    assert not [s for s in repo_plan("dev").steps if s.type == "kubernetes:apps/v1:DaemonSet"]
    pools = list(resolved(STACKS / "prod.yaml").node_pools.values())
    assert plugins_for("aws", pools) == {"gpu": ("a100", "l4")}
    assert plugins_for("azure", pools) == {"gpu": ("a100", "l4")}
    from dataclasses import replace

    neuron = replace(pools[0], name="inf2", kind="neuron", k8s_resource="aws.amazon.com/neuron")
    assert plugins_for("aws", [neuron]) == {"neuron": ("inf2",)}


def test_autoscaler_scales_on_kv_cache_and_running_requests_as_well_as_the_queue() -> None:
    from llmcloud.components.k8s import autoscaling

    so = one(repo_plan("prod"), SCALED_OBJECT, "llama-70b-autoscaler-scaledobject").inputs["spec"]
    by_name = {t["name"]: t for t in so["triggers"]}
    assert {"queue-depth", "kv-cache", "running"} <= set(by_name)
    assert autoscaling.KV_CACHE_METRIC in by_name["kv-cache"]["metadata"]["query"]
    assert float(by_name["kv-cache"]["metadata"]["threshold"]) == autoscaling.TARGET_KV_CACHE_USAGE
    assert autoscaling.RUNNING_METRIC in by_name["running"]["metadata"]["query"]
    assert 'model_name="llama-70b"' in by_name["running"]["metadata"]["query"]
    for t in by_name.values():
        assert t["metricType"] == "AverageValue"  # per replica: KEDA divides the sum by the replica count
        assert t["authenticationRef"] == {"name": autoscaling.MANAGED_PROMETHEUS_AUTH}  # GKE: KEDA's own identity
    # a wake trigger (the front door's request count) is added next to them, not instead
    args = autoscaling.QueueDepthAutoscalerArgs(
        model="m",
        namespace="llm",
        target_api_version="apps/v1",
        target_kind="Deployment",
        target_name="m",
        min_replicas=0,
        max_replicas=2,
        cloud="aws",
        wake_query="sum(rate(x[1m]))",
    )
    names = [t["name"] for t in autoscaling.scaled_object(args, "llm")["triggers"]]
    assert names == ["queue-depth", "kv-cache", "running", "gateway-wake"]


def test_one_trigger_authentication_per_stack_names_keda_identity_for_every_model() -> None:
    """GKE: every model's triggers name one TriggerAuthentication (KEDA's workload identity to Managed
    Prometheus), created once per stack in the serving namespace after KEDA's CRDs and the namespace, and
    waited for by every ScaledObject. EKS/AKS read an in-cluster Prometheus: no TriggerAuthentication, no ref."""
    from llmcloud.components.k8s import autoscaling

    auth_type = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
    p = repo_plan("prod")
    (auth,) = p.by_type(auth_type)
    assert auth.inputs["metadata"]["name"] == autoscaling.MANAGED_PROMETHEUS_AUTH
    assert auth.inputs["metadata"]["namespace"] == resolved(STACKS / "prod.yaml").namespace
    assert auth.inputs["spec"] == {"podIdentity": {"provider": "gcp"}}
    assert any(d.endswith("::keda-release") for d in auth.dependencies)
    assert any(d.endswith("::serving-ns") for d in auth.dependencies)
    scaled = p.by_type(SCALED_OBJECT)
    assert len(scaled) == len(resolved(STACKS / "prod.yaml").models) > 1
    for so in scaled:
        assert so.inputs["metadata"]["namespace"] == auth.inputs["metadata"]["namespace"]
        assert auth.urn in so.dependencies
        refs = {json.dumps(t.get("authenticationRef"), sort_keys=True) for t in so.inputs["spec"]["triggers"]}
        assert refs == {json.dumps({"name": autoscaling.MANAGED_PROMETHEUS_AUTH})}
    aws = repo_plan("dev", "aws")
    assert not aws.by_type(auth_type)
    for so in aws.by_type(SCALED_OBJECT):
        assert all("authenticationRef" not in t for t in so.inputs["spec"]["triggers"])


def test_only_metric_names_of_the_pinned_vllm_are_queried() -> None:
    import re

    from llmcloud.components.k8s.monitoring import VLLM_METRICS

    known = {m.removesuffix("_total") for m in VLLM_METRICS} | set(VLLM_METRICS)
    for stack in ("dev", "prod", "aws-example"):
        text = json.dumps(repo_plan(stack).to_json())
        used = set(re.findall(r"vllm:[a-z_]+", text))
        assert used, stack
        for name in used:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert base in known, f"{stack}: {name} is not a metric of vLLM {images.VLLM_VERSION}"
    assert "vllm:time_per_output_token_seconds" not in json.dumps(repo_plan("dev").to_json())
