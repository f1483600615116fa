"""llmcloud weights sync against a local stand-in for the Hub API (HF_ENDPOINT) and a real S3 stand-in
(moto_server), both on 127.0.0.1; and the weights check `up` runs before deploying."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "meta-llama/Llama-3.1-8B-Instruct"


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class Hub:
    """Files per repository; `corrupt` serves other bytes than the listing's checksum for one file."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.gated: set[str] = set()
        self.corrupt: set[str] = set()
        self.downloads: list[str] = []

    def listing(self, repo: str) -> dict:
        siblings = []
        for name, data in sorted(self.repos[repo].items()):
            entry = {"rfilename": name, "size": len(data), "blobId": _blob_id(data)}
            if name.endswith(".safetensors") or name.endswith(".pth"):
                entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(entry)
        return {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "siblings": siblings}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    state = Hub()
    state.repos[REPO] = {
        "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
        "tokenizer.json": b'{"version": "1.0"}',
        "model-00001-of-00002.safetensors": os.urandom(3 << 20),
        "model-00002-of-00002.safetensors": os.urandom(1 << 20),
        "model.safetensors.index.json": b'{"weight_map": {}}',
        "original/consolidated.00.pth": os.urandom(2 << 20),  # never copied
        "README.md": b"# card",
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path.startswith("/api/models/"):
                repo = "/".join(path.removeprefix("/api/models/").split("/")[:2])
                if repo in state.gated:
                    return self._send(403, b'{"error": "gated"}', {"X-Error-Code": "GatedRepo"})
                if repo not in state.repos:
                    return self._send(404, b'{"error": "not found"}', {"X-Error-Code": "RepoNotFound"})
                return self._send(200, json.dumps(state.listing(repo)).encode(), {"Content-Type": "application/json"})
            parts = path.strip("/").split("/")
            if len(parts) >= 5 and parts[2] == "resolve":
                repo, name = "/".join(parts[:2]), "/".join(parts[4:])
                data = state.repos.get(repo, {}).get(name)
                if data is None:
                    return self._send(404, b"")
                state.downloads.append(name)
                return self._send(200, b"x" * len(data) if name in state.corrupt else data)
            self._send(404, b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # huggingface_hub reads HF_ENDPOINT when it is imported: point its constants at the stand-in too
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "ENDPOINT", os.environ["HF_ENDPOINT"])
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", os.environ["HF_ENDPOINT"] + "/{repo_id}/resolve/{revision}/{filename}"
    )
    yield state
    server.shutdown()


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if not exe:
        pytest.fail("moto_server is not installed: pip install 'moto[server]'", pytrace=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"moto_server did not start: {log.read_text()[-500:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto-test")  # the stand-in's, not a credential
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    name = f"weights-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    return name


STACK = """
extends: base.yaml
cloud: aws
node_pools: {l4: {accelerator: L4, max_nodes: 2}}
models:
  llama-8b: {source: "bucket://weights/meta-llama/Llama-3.1-8B-Instruct", node_pool: l4, max_model_len: 8192}
"""


def _objects(bucket: str) -> dict[str, int]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    return {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_sync_copies_weights_only_checksummed_and_resumes(cli, write_stack, hub: Hub, bucket: str) -> None:
    path = write_stack(STACK)
    first = cli("weights", "sync", path, "--bucket-url", f"s3://{bucket}", "--json")
    assert first.exit_code == 0, first.stderr
    keys = _objects(bucket)
    prefix = "meta-llama/Llama-3.1-8B-Instruct/"
    expected = {
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
    }
    assert {k.removeprefix(prefix) for k in keys} == expected | {".llmcloud-sync.json"}
    assert keys[prefix + "model-00001-of-00002.safetensors"] == 3 << 20
    assert not any("original/" in k or k.endswith("README.md") for k in keys)
    assert json.loads(first.stdout)["synced"][0]["uploaded"] == 5
    # a second run finds everything in place, verified by size and checksum: nothing is downloaded
    hub.downloads.clear()
    again = cli("weights", "sync", path, "--bucket-url", f"s3://{bucket}", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["synced"][0]["skipped"] == 5 and hub.downloads == []
    # a file that changed in the bucket (size differs) is copied again, the rest skipped
    import boto3

    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).put_object(
        Bucket=bucket, Key=prefix + "model-00002-of-00002.safetensors", Body=b"truncated"
    )
    third = cli("weights", "sync", path, "--bucket-url", f"s3://{bucket}", "--json")
    assert json.loads(third.stdout)["synced"][0]["uploaded"] == 1
    assert hub.downloads == ["model-00002-of-00002.safetensors"]


def test_a_checksum_mismatch_stops_the_sync_before_upload(cli, write_stack, hub: Hub, bucket: str) -> None:
    hub.corrupt.add("model-00001-of-00002.safetensors")
    result = cli("weights", "sync", write_stack(STACK), "--bucket-url", f"s3://{bucket}")
    assert result.exit_code == 4
    assert "SHA-256 mismatch" in result.stderr and "model-00001-of-00002.safetensors" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(k.endswith("model-00001-of-00002.safetensors") for k in _objects(bucket))


def test_gated_and_missing_repositories_say_what_to_do(cli, write_stack, hub: Hub, bucket: str) -> None:
    hub.gated.add(REPO)
    result = cli("weights", "sync", write_stack(STACK), "--bucket-url", f"s3://{bucket}")
    assert result.exit_code == 4 and "gated" in result.stderr and "HF_TOKEN" in result.stderr
    result = cli("weights", "sync", write_stack(STACK), "--bucket-url", f"s3://{bucket}", "--from", "hf://no/such")
    assert result.exit_code == 4 and "does not exist" in result.stderr


def test_without_bucket_url_the_sync_writes_to_the_bucket_the_deploy_creates(
    cli, write_stack, hub: Hub, bucket
) -> None:
    """On AWS the deploy names the weights bucket <name>-<account id> (components/aws/bucket.py); `weights sync`
    and `up`'s check ask STS for the account (moto answers 123456789012) and use that same name, never the bare
    name, which another account could own."""
    import boto3
    from llmcloud.cli import weights
    from llmcloud.cli.common import load
    from llmcloud.components.aws import s3_bucket_name

    path = write_stack(STACK)
    _, r = load(str(path), None)
    deployed = s3_bucket_name(r.buckets["weights"].physical_name, "123456789012")
    assert deployed == "llmcloud-dev-aws-weights-123456789012"
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket=deployed)
    assert weights.bucket_url(r, "weights") == f"s3://{deployed}"
    result = cli("weights", "sync", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert "meta-llama/Llama-3.1-8B-Instruct/model-00001-of-00002.safetensors" in _objects(deployed)


def test_without_aws_credentials_the_bucket_name_is_unknown_not_guessed(write_stack, monkeypatch) -> None:
    from llmcloud.cli import weights
    from llmcloud.cli.common import load

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _, r = load(str(write_stack(STACK)), None)
    with pytest.raises(weights.Unreachable, match=r"cannot name bucket 'weights' on aws.*--bucket-url"):
        weights.bucket_url(r, "weights")


def test_up_gate_refuses_missing_weights_and_passes_once_synced(cli, write_stack, hub: Hub, bucket: str) -> None:
    from llmcloud.cli import weights
    from llmcloud.cli.common import load

    path = write_stack(STACK.replace('"bucket://weights/', f'"s3://{bucket}/'))
    _, r = load(str(path), None)
    with pytest.raises(typer.Exit) as exc:
        weights.weights_gate(r)
    assert exc.value.exit_code == 4
    assert cli("weights", "sync", path).exit_code == 0  # s3:// sources sync in place
    weights.weights_gate(r)  # readable now: no exit


def test_up_gate_checks_hub_models_and_skips_what_it_cannot_ask(write_stack, hub: Hub, capsys) -> None:
    from llmcloud.cli import weights
    from llmcloud.cli.common import load

    stack = STACK.replace(
        '"bucket://weights/meta-llama/Llama-3.1-8B-Instruct"', '"hf://meta-llama/Llama-3.1-8B-Instruct"'
    )
    _, r = load(str(write_stack(stack)), None)
    weights.weights_gate(r)  # the stand-in has it
    hub.gated.add(REPO)
    with pytest.raises(typer.Exit):
        weights.weights_gate(r)
    assert "gated" in capsys.readouterr().err


def test_only_weight_files_are_wanted() -> None:
    from llmcloud.cli.weights import wanted

    assert wanted("model-00001-of-00004.safetensors") and wanted("tokenizer.model") and wanted("config.json")
    assert not wanted("original/consolidated.00.pth") and not wanted("original/params.json")
    assert not wanted("pytorch_model.bin") and not wanted("README.md")
