"""llmcloud bench STACK: load-test an OpenAI-compatible endpoint with AIPerf and report what it measured.

The load generator is NVIDIA's AIPerf (`pip install 'llmcloud[bench]'`), not a loop of ours: it drives
streaming chat requests at each concurrency and reports TTFT, inter-token latency (TPOT) and throughput
percentiles. llmcloud writes AIPerf's configuration (the API key only as `${OPENAI_API_KEY}`, resolved by
AIPerf from the environment: never on a command line, in a file or in the output), runs it, reads its
JSON export, prices the measurement with the stack's cost and stores it next to the cost record
(~/.llmcloud/bench/<stack>.json), where `llmcloud cost` shows it beside the estimate.

Token counts use the model's tokenizer when --tokenizer names one (downloaded from the Hub, with
HF_TOKEN); by default a small tokenizer shipped with llmcloud, so the benchmark runs with no network but
counts tokens only approximately (said in the output).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import FAILED, INVALID, MISSING, emit_json, fail, notice, stdout

BENCH_DIR = Path("~/.llmcloud/bench")
TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "components" / "catalog" / "data" / "bench_tokenizer"
SHIPPED_TOKENIZER = "llmcloud/bench-tokenizer"  # the name it gets in a private, offline Hub cache
_REVISION = "0" * 40


def aiperf_executable() -> str | None:
    """LLMCLOUD_AIPERF, else `aiperf` next to this Python, else on PATH."""
    configured = os.environ.get("LLMCLOUD_AIPERF")
    if configured:
        return configured if Path(configured).is_file() else None
    beside = Path(sys.executable).parent / "aiperf"
    return str(beside) if beside.is_file() else shutil.which("aiperf")


def _offline_hub(root: Path) -> Path:
    """A Hugging Face cache holding the shipped tokenizer (the documented hub cache layout), so AIPerf
    loads it with HF_HUB_OFFLINE=1."""
    repo = root / "hub" / f"models--{SHIPPED_TOKENIZER.replace('/', '--')}"
    snapshot = repo / "snapshots" / _REVISION
    snapshot.mkdir(parents=True)
    for f in TOKENIZER_DIR.iterdir():
        shutil.copy(f, snapshot / f.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(_REVISION)
    return root


def aiperf_config(
    *,
    url: str,
    model: str,
    concurrency: int,
    requests: int,
    duration: float | None,
    input_tokens: int,
    output_tokens: int,
    tokenizer: str,
    auth: bool,
) -> dict[str, Any]:
    phase: dict[str, Any] = {"type": "concurrency", "concurrency": concurrency}
    if duration:
        phase["duration"] = duration
    else:
        phase["requests"] = requests
    endpoint: dict[str, Any] = {"url": url, "type": "chat", "streaming": True}
    if auth:
        endpoint["api_key"] = "${OPENAI_API_KEY}"  # AIPerf substitutes it from its environment
    return {
        "schemaVersion": "2.0",
        "benchmark": {
            "model": model,
            "endpoint": endpoint,
            "dataset": {
                "type": "synthetic",
                "entries": max(requests, concurrency),
                "prompts": {"isl": input_tokens, "osl": output_tokens},
            },
            "phases": phase,
            "tokenizer": {"name": tokenizer},
        },
    }


def _p(metric: dict[str, Any] | None) -> dict[str, float] | None:
    if not metric:
        return None
    return {k: round(float(metric[k]), 3) for k in ("p50", "p90", "p99", "avg") if k in metric}


def summarize(export: dict[str, Any]) -> dict[str, Any]:
    """The figures llmcloud reports, from AIPerf's profile_export_aiperf.json."""

    def avg(key: str) -> float | None:
        value = (export.get(key) or {}).get("avg")
        return None if value is None else round(float(value), 3)

    errors = export.get("error_summary") or []
    return {
        "ttft_ms": _p(export.get("time_to_first_token")),
        "tpot_ms": _p(export.get("inter_token_latency")),
        "request_latency_ms": _p(export.get("request_latency")),
        "output_tokens_per_second": avg("output_token_throughput"),
        "requests_per_second": avg("request_throughput"),
        "requests": avg("request_count"),
        "errors": sum(int(e.get("count", 0)) for e in errors if isinstance(e, dict)),
        "input_tokens": avg("input_sequence_length"),
        "output_tokens": avg("output_sequence_length"),
    }


# AIPerf's longest socket path is TMPDIR + /tmpXXXXXXXX/aiperf/dataset_manager_proxy_frontend.ipc (54 more
# characters); a Unix socket address holds 103 on macOS and 107 on Linux.
_SHORT_TMP = 103 - 54 - 4


def run_aiperf(
    exe: str, config: dict[str, Any], *, api_key: str | None, hf_home: Path | None, timeout: float
) -> dict[str, Any]:
    import yaml

    with tempfile.TemporaryDirectory(prefix="llmcloud-bench-") as tmp:
        cfg = Path(tmp) / "aiperf.yaml"
        cfg.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        if api_key:
            env["OPENAI_API_KEY"] = api_key
        if hf_home is not None:
            env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1")
        # AIPerf leaves directories in the system temp directory on every run (its dataset's aiperf_mmap_<id>/,
        # its sockets' tmp<random>/aiperf/): they go into this run's directory instead, removed with it. Its
        # sockets' paths must fit a Unix socket address, so TMPDIR moves only while this directory's path is short.
        env["AIPERF_DATASET_MMAP_BASE_PATH"] = tmp
        if len(tmp) <= _SHORT_TMP:
            env["TMPDIR"] = tmp
        out = Path(tmp) / "artifacts"
        try:
            proc = subprocess.run(
                [exe, "profile", "--config", str(cfg), "--ui", "none", "--output-artifact-dir", str(out)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            fail(FAILED, f"aiperf did not finish within {timeout:.0f} s")
        export = out / "profile_export_aiperf.json"
        if proc.returncode != 0 or not export.is_file():
            text = (proc.stdout + proc.stderr).replace(api_key or "\0", "[secret]")
            reason = next((ln.strip(" │") for ln in text.splitlines() if "Reason:" in ln), "")
            fail(
                FAILED,
                f"aiperf failed (exit {proc.returncode}){': ' + reason if reason else ''}; "
                f"is the endpoint up and the key right?",
            )
        return json.loads(export.read_text())


def replica_hourly(cost: dict[str, Any], resolved: Any, model: str) -> float | None:
    m = resolved.models[model]
    for line in cost["lines"]:
        if line["resource"] == f"node_pools.{m.node_pool}":
            return float(line["unit_price"]) * m.nodes_per_replica / m.replicas_per_node
    return None


def record_path(stack_name: str) -> Path:
    return BENCH_DIR.expanduser() / f"{stack_name}.json"


def load_record(stack_name: str) -> dict[str, Any] | None:
    try:
        return json.loads(record_path(stack_name).read_text())
    except (OSError, ValueError):
        return None


def run(
    stack: str,
    cloud: str | None,
    *,
    model: str | None,
    url: str | None,
    api_key_env: str,
    concurrency: list[int],
    requests: int,
    duration: float | None,
    input_tokens: int | None,
    output_tokens: int | None,
    tokenizer: str | None,
    replicas: int,
    timeout: float,
    json_mode: bool,
) -> None:
    from .common import load

    loaded, r = load(stack, cloud)
    if model is None:
        if len(r.models) != 1:
            fail(
                INVALID,
                f"the stack serves {len(r.models)} models; choose one with --model ({', '.join(sorted(r.models))})",
            )
        model = next(iter(r.models))
    if model not in r.models:
        fail(INVALID, f"no model {model!r} in {loaded.file}; its models: {', '.join(sorted(r.models))}")
    counts = [("--requests", requests), ("--replicas", replicas), *(("--concurrency", c) for c in concurrency)]
    for flag, value in counts:
        if not 1 <= value <= 100_000:
            fail(INVALID, f"{flag} must be a whole number from 1 to 100000, got {value}")
    if duration is not None and not 0 < duration <= 86_400:
        fail(INVALID, f"--duration must be between 0 and 86400 seconds, got {duration}")
    exe = aiperf_executable()
    if exe is None:
        fail(
            MISSING,
            "the load generator AIPerf is not installed: pip install 'llmcloud[bench]' "
            "(or set LLMCLOUD_AIPERF to its executable)",
        )
    if url is None:
        from .pipeline import engine_call as _engine_call
        from .pipeline import prerequisites

        _, make_engine = prerequisites(stack, cloud, action="read the endpoint (or pass --url)")
        values = _engine_call(lambda: make_engine(None).outputs(show_secrets=False))
        url = values.get("endpoint") if isinstance(values.get("endpoint"), str) else None
        if not url:
            fail(MISSING, f"{r.stack_name} has no endpoint output yet (deploy it first, or pass --url)")
    auth = r.gateway is None or getattr(r.gateway, "auth", "api_key") != "none"
    api_key = os.environ.get(api_key_env) if auth else None
    if auth and not api_key:
        fail(
            MISSING,
            f"set {api_key_env} to one of the stack's API keys "
            f"(`llmcloud outputs {stack} --show-secrets` prints them), or name another variable "
            "with --api-key-env",
        )
    w = r.models[model].workload
    isl = input_tokens or (w.input_tokens if w else 1000)
    osl = output_tokens or (w.output_tokens if w else 200)

    from llmcloud.components.cost import cost_for
    from llmcloud.components.engine import offline

    cost = cost_for(offline.run(r), r)
    hourly = replica_hourly(cost, r, model)
    estimate = next((m for m in cost.get("models", []) if m["model"] == model), None)
    with tempfile.TemporaryDirectory(prefix="llmcloud-hub-") as hub:
        hf_home = _offline_hub(Path(hub)) if tokenizer is None else None
        levels = []
        for c in concurrency:
            if not json_mode:
                notice(f"benchmarking {model} at {url}: concurrency {c}, {isl} in / {osl} out (AIPerf)")
            config = aiperf_config(
                url=url,
                model=model,
                concurrency=c,
                requests=requests,
                duration=duration,
                input_tokens=isl,
                output_tokens=osl,
                tokenizer=tokenizer or SHIPPED_TOKENIZER,
                auth=auth,
            )
            level = {
                "concurrency": c,
                **summarize(run_aiperf(exe, config, api_key=api_key, hf_home=hf_home, timeout=timeout)),
            }
            tps = level["output_tokens_per_second"]
            if hourly and tps:
                level["usd_per_million_output_tokens"] = round(hourly * replicas / (tps * 3600) * 1e6, 4)
            levels.append(level)
    result = {
        "stack": r.stack_name,
        "model": model,
        "url": url,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": "aiperf",
        "replicas": replicas,
        "tokenizer": tokenizer or "shipped (approximate token counts)",
        "input_tokens": isl,
        "output_tokens": osl,
        "levels": levels,
        "estimate": estimate,
    }
    path = record_path(r.stack_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    if json_mode:
        emit_json(result)
        return
    out = stdout()
    out.print(f"{model} at {url} (measured by AIPerf; {result['tokenizer']} tokenizer)", markup=False)
    for lv in levels:
        ttft, tpot = lv["ttft_ms"] or {}, lv["tpot_ms"] or {}
        price = f", ${lv['usd_per_million_output_tokens']:,.2f}/M out" if "usd_per_million_output_tokens" in lv else ""
        out.print(
            f"  concurrency {lv['concurrency']}: {lv['output_tokens_per_second'] or 0:,.0f} out tok/s, "
            f"TTFT p50 {ttft.get('p50', 0):,.0f} / p99 {ttft.get('p99', 0):,.0f} ms, TPOT p50 "
            f"{tpot.get('p50', 0):,.1f} / p99 {tpot.get('p99', 0):,.1f} ms, errors {lv['errors']}{price}",
            markup=False,
        )
    if estimate:
        out.print(
            f"  estimate for comparison: {estimate['tokens_per_second']:,.0f} out tok/s per replica, "
            f"${estimate['usd_per_million_output_tokens']:,.2f}/M out",
            markup=False,
        )
    out.print(f"  stored in {path}; `llmcloud cost {stack}` shows it next to the estimate", markup=False)
