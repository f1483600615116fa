"""llmcloud-load against real local stand-ins of S3, GCS and Azure Blob."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LOADER_SRC = Path(__file__).resolve().parents[2] / "model_images" / "loader" / "src"
sys.path.insert(0, str(LOADER_SRC))

from llmcloud_loader.errors import UsageError  # noqa: E402
from llmcloud_loader.sources import (  # noqa: E402
    HubSource,
    StoreSource,
    describe,
    list_files,
    open_store,
    parse_hf,
    parse_source,
)

MIB = 1 << 20
# A small model: multi-chunk shards (with --chunk-mb 1), small files, a nested
# path and an empty file.
MODEL = {
    "config.json": b'{"architectures": ["TinyForCausalLM"]}',
    "model-00001-of-00002.safetensors": os.urandom(3 * MIB + 123),
    "model-00002-of-00002.safetensors": os.urandom(2 * MIB + 7),
    "tokenizer/tokenizer.json": os.urandom(40_000),
    "empty.txt": b"",
}
_names = (f"llmcloud-test-{n}" for n in itertools.count())


@dataclass
class Store:
    scheme: str
    bucket: str
    env: dict[str, str]
    put: Callable[[str, bytes], None]

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.bucket}/{path}"

    def upload(self, prefix: str, files: dict[str, bytes]) -> None:
        for rel, data in files.items():
            self.put(f"{prefix}/{rel}", data)


def _clean_env() -> dict[str, str]:
    """The test runner's environment without real cloud credentials, plus the loader's source."""
    prefixes = ("AWS_", "AZURE_", "GOOGLE_", "HF_", "STORAGE_EMULATOR", "LLMCLOUD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONPATH"] = str(LOADER_SRC)
    return env


def _s3_env(endpoint: str) -> dict[str, str]:
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return {**fake, "AWS_ENDPOINT_URL": endpoint}


def _gcs_request(endpoint: str, method: str, path: str, body: bytes, content_type: str) -> None:
    req = urllib.request.Request(f"{endpoint}{path}", data=body, method=method)
    req.add_header("Content-Type", content_type)
    urllib.request.urlopen(req, timeout=30).close()


def _gcs_object_path(bucket: str, key: str) -> str:
    return f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(key, safe='')}"


@pytest.fixture
def s3(s3_endpoint: str) -> Store:
    import boto3

    env = _s3_env(s3_endpoint)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = next(_names)
    client.create_bucket(Bucket=bucket)
    return Store("s3", bucket, env, lambda key, data: client.put_object(Bucket=bucket, Key=key, Body=data))


@pytest.fixture
def gcs(gcs_endpoint: str) -> Store:
    bucket = next(_names)
    _gcs_request(gcs_endpoint, "POST", "/storage/v1/b", json.dumps({"name": bucket}).encode(), "application/json")

    def put(key: str, data: bytes) -> None:
        # A multipart upload: the emulator rejects an empty body on a media upload.
        meta = json.dumps({"name": key}).encode()
        body = (
            b"--B\r\nContent-Type: application/json\r\n\r\n" + meta + b"\r\n"
            b"--B\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--B--\r\n"
        )
        path = f"/upload/storage/v1/b/{bucket}/o?uploadType=multipart"
        _gcs_request(gcs_endpoint, "POST", path, body, "multipart/related; boundary=B")

    env = {"STORAGE_EMULATOR_HOST": gcs_endpoint, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
    return Store("gs", bucket, env, put)


@pytest.fixture
def azure(azure_connection_string: str) -> Store:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azure_connection_string)
    bucket = next(_names)
    container = service.create_container(bucket)
    env = {"AZURE_STORAGE_CONNECTION_STRING": azure_connection_string}
    return Store("az", bucket, env, lambda key, data: container.upload_blob(key, data))


@pytest.fixture(params=["s3", "gcs", "azure"])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(request.param)


def load(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "llmcloud_loader", *args],
        env={**_clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def assert_error(proc: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert proc.returncode == code, proc.stderr
    # Progress lines may come first; the error is exactly one line, and the last.
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("llmcloud-load: error: ")]
    assert errors == lines[-1:], proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def assert_loaded(dest: Path, files: dict[str, bytes], source: str) -> None:
    for rel, data in files.items():
        assert (dest / rel).read_bytes() == data, rel
    marker = json.loads((dest / ".llmcloud-complete").read_text())
    assert marker["source"] == source
    assert marker["files"] == len(files)
    assert marker["bytes"] == sum(len(d) for d in files.values())
    assert marker["seconds"] >= 0
    assert not (dest / ".llmcloud-partial" / "files").exists()


def test_copies_model_from_each_store(store: Store, tmp_path: Path) -> None:
    store.upload("models/tiny", MODEL)
    store.put("models/tiny-other/config.json", b"must not be copied: a sibling prefix")
    proc = load(store.url("models/tiny"), str(tmp_path), "--chunk-mb", "1", "--parallel", "4", env=store.env)
    assert proc.returncode == 0, proc.stderr
    assert_loaded(tmp_path, MODEL, store.url("models/tiny"))
    assert "MB/s" in proc.stderr.splitlines()[-1]


def test_each_store_reports_checksums(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import google_crc32c

    store.upload("sums", MODEL)
    for key, value in store.env.items():
        monkeypatch.setenv(key, value)
    fs = open_store(store.scheme)
    source = parse_source(store.url("sums"), None)
    assert isinstance(source, StoreSource)
    for item in list_files(fs, source, []):
        remote = describe(fs, store.scheme, *item)
        data = MODEL[remote.rel]
        assert remote.size == len(data)
        assert remote.checksum is not None, remote
        expected = {
            "crc32c": google_crc32c.Checksum(data).digest().hex(),
            "crc32": f"{zlib.crc32(data):08x}",  # boto3 adds a CRC32 on upload
            "md5": hashlib.md5(data).hexdigest(),
        }
        assert remote.checksum.expected == expected[remote.checksum.algorithm], remote


def test_include_filters_and_json_progress(s3: Store, tmp_path: Path) -> None:
    s3.upload("m", MODEL)
    proc = load(s3.url("m"), str(tmp_path), "--include", "*.json", "--json", env=s3.env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(e["path"] for e in events if e["event"] == "file") == [
        "config.json",
        "tokenizer/tokenizer.json",
    ]
    assert events[-1]["event"] == "summary" and events[-1]["files"] == 2
    assert not (tmp_path / "empty.txt").exists()


def test_bucket_scheme_resolves_to_the_stack_bucket(s3: Store, gcs: Store, tmp_path: Path) -> None:
    s3.upload("models/tiny", MODEL)
    proc = load("bucket://weights/models/tiny", str(tmp_path / "a"), "--bucket-url", f"s3://{s3.bucket}", env=s3.env)
    assert proc.returncode == 0, proc.stderr
    assert_loaded(tmp_path / "a", MODEL, s3.url("models/tiny"))

    gcs.upload("base/models/tiny", {"config.json": MODEL["config.json"]})
    env = {**gcs.env, "LLMCLOUD_BUCKET_URL": f"gs://{gcs.bucket}/base"}
    proc = load("bucket://weights/models/tiny", str(tmp_path / "b"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b" / "config.json").read_bytes() == MODEL["config.json"]


def test_resume_after_kill_skips_finished_files(s3: Store, tmp_path: Path) -> None:
    shards = {f"shard-{i}.bin": os.urandom(4 * MIB) for i in range(8)}
    s3.upload("big", shards)
    args = [s3.url("big"), str(tmp_path), "--parallel", "1", "--chunk-mb", "1", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmcloud_loader", *args],
        env={**_clean_env(), **s3.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())  # blocks until the first file is placed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert first["status"] == "downloaded"
    assert not (tmp_path / ".llmcloud-complete").exists()
    placed = {p.name: p.stat().st_ino for p in tmp_path.glob("shard-*")}
    assert first["path"] in placed and len(placed) < len(shards), "the kill came after the copy finished"
    for name in placed:  # whatever is at a final path is whole
        assert (tmp_path / name).read_bytes() == shards[name]

    rerun = load(*args, env=s3.env)
    assert rerun.returncode == 0, rerun.stderr
    status = {e["path"]: e["status"] for e in map(json.loads, rerun.stdout.splitlines()) if e["event"] == "file"}
    assert {name for name, s in status.items() if s == "skipped"} == set(placed)
    assert all(status[name] == "downloaded" for name in shards if name not in placed)
    assert {n: (tmp_path / n).stat().st_ino for n in placed} == placed  # not rewritten
    assert_loaded(tmp_path, shards, s3.url("big"))


def test_checksum_mismatch_fails_and_removes_file(gcs: Store, gcs_endpoint: str, tmp_path: Path) -> None:
    gcs.upload("m", {"config.json": MODEL["config.json"], "weights.bin": b"x" * 1000})
    # The emulator keeps the hashes given in a metadata PATCH: the stored checksums
    # now disagree with the stored bytes, as after corruption.
    tamper = {"crc32c": "AAAAAA==", "md5Hash": "AAAAAAAAAAAAAAAAAAAAAA=="}
    _gcs_request(
        gcs_endpoint,
        "PATCH",
        _gcs_object_path(gcs.bucket, "m/weights.bin"),
        json.dumps(tamper).encode(),
        "application/json",
    )
    proc = load(gcs.url("m"), str(tmp_path), env=gcs.env)
    assert_error(proc, 1, "checksum mismatch for weights.bin", "expected crc32c:00000000", "got crc32c:")
    assert not (tmp_path / "weights.bin").exists()
    assert not list((tmp_path / ".llmcloud-partial").rglob("weights.bin"))
    assert not (tmp_path / ".llmcloud-complete").exists()


def test_missing_object_exits_3(store: Store, tmp_path: Path) -> None:
    store.upload("m", {"config.json": b"{}"})
    assert_error(load(store.url("nope"), str(tmp_path), env=store.env), 3, "not found", "nope")


def test_missing_bucket_exits_3(s3: Store, tmp_path: Path) -> None:
    assert_error(load("s3://no-such-bucket-llmcloud/m", str(tmp_path), env=s3.env), 3, "not found")


@pytest.fixture
def moto_auth(s3_endpoint: str) -> Iterator[None]:
    """Make moto check credentials (the fake ones are unknown to it), then stop again."""

    def reset(count: str) -> None:
        # Not form-encoded, or the server parses the body away as a form.
        headers = {"Content-Type": "text/plain"}
        req = urllib.request.Request(f"{s3_endpoint}/moto-api/reset-auth", count.encode(), headers, method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    reset("0")
    yield
    reset("inf")


def test_denied_s3_exits_4(s3: Store, moto_auth: None, tmp_path: Path) -> None:
    assert_error(load(s3.url("m"), str(tmp_path), env=s3.env), 4, "access denied")


def test_denied_azure_exits_4(azure_connection_string: str, tmp_path: Path) -> None:
    wrong_key = azure_connection_string.replace("AccountKey=Eby8", "AccountKey=AAAA")
    env = {"AZURE_STORAGE_CONNECTION_STRING": wrong_key}
    assert_error(load("az://anything/m", str(tmp_path), env=env), 4, "access denied")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ftp://host/model"], "unknown scheme 'ftp'"),
        (["not-a-uri"], "bad SOURCE"),
        (["bucket://weights/m"], "--bucket-url"),
        (["s3://b/m", "--parallel", "0"], "--parallel"),
        (["hf://bad repo"], "hf://org/model"),
    ],
)
def test_usage_errors_exit_2(args: list[str], fragment: str, tmp_path: Path) -> None:
    assert_error(load(args[0], str(tmp_path), *args[1:], env={}), 2, fragment)


def test_azure_production_refuses_keys(tmp_path: Path) -> None:
    remote_key = "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net"
    proc = load("az://c/m", str(tmp_path), env={"AZURE_STORAGE_CONNECTION_STRING": remote_key})
    assert_error(proc, 2, "only accepted for a local emulator")
    assert "c2VjcmV0" not in proc.stderr
    assert_error(load("az://c/m", str(tmp_path), env={}), 2, "AZURE_STORAGE_ACCOUNT_NAME")


def test_hf_token_never_printed(closed_port: int, tmp_path: Path) -> None:
    # A closed local port as the Hub endpoint: the download fails at once, offline.
    env = {"HF_TOKEN": "hf_SECRETSECRETSECRET", "HF_ENDPOINT": f"http://127.0.0.1:{closed_port}"}
    proc = load("hf://org/model", str(tmp_path), "--json", env=env)
    assert_error(proc, 1, "cannot reach the Hub")
    assert "hf_SECRET" not in proc.stderr + proc.stdout
    assert not (tmp_path / ".llmcloud-complete").exists()


def test_hf_token_from_the_mounted_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pod the token is a file from the Kubernetes Secret (HF_TOKEN_PATH), not an env value."""
    from llmcloud_loader import hf

    token = tmp_path / "token"
    token.write_text("hf_FROMFILEFROMFILE\n")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_TOKEN_PATH", str(token))
    assert hf._token_file() == "hf_FROMFILEFROMFILE"
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "missing"))
    assert hf._token_file() is None


@pytest.mark.parametrize(
    ("uri", "repo_id", "revision"),
    [
        ("hf://meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", None),
        ("hf://Qwen/Qwen2.5-0.5B@main", "Qwen/Qwen2.5-0.5B", "main"),
        (
            "hf://org/model@0123456789abcdef0123456789abcdef01234567",
            "org/model",
            "0123456789abcdef0123456789abcdef01234567",
        ),
        ("hf://gpt2", "gpt2", None),
        ("hf://org/model/@refs/pr/1", "org/model", "refs/pr/1"),
    ],
)
def test_parse_hf(uri: str, repo_id: str, revision: str | None) -> None:
    assert parse_hf(uri) == HubSource(repo_id, revision)
    assert parse_source(uri, None) == HubSource(repo_id, revision)


@pytest.mark.parametrize("uri", ["hf://", "hf://org/model@", "hf://a/b/c", "hf://org/../x", "hf://-org/m"])
def test_parse_hf_rejects(uri: str) -> None:
    with pytest.raises(UsageError):
        parse_hf(uri)


def test_parse_bucket_scheme() -> None:
    assert parse_source("bucket://weights/models/llama", "gs://real-bucket-name") == StoreSource(
        "gs", "real-bucket-name", "models/llama"
    )
    assert parse_source("bucket://weights/m", "az://container/pre/") == StoreSource("az", "container", "pre/m")
    with pytest.raises(UsageError):
        parse_source("bucket://weights/m", "hf://org/model")


def test_emulator_connection_string_only_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=k;BlobEndpoint=https://a.example.net/"
    )
    with pytest.raises(UsageError):
        open_store("az")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ({"ChecksumCRC32": "tWSfbw==", "ETag": '"' + "a" * 32 + '"'}, "crc32:b5649f6f"),
        ({"ChecksumCRC32C": "AAAAAQ==", "ChecksumType": "FULL_OBJECT"}, "crc32c:00000001"),
        ({"ChecksumCRC32": "tWSfbw==-3", "ETag": '"' + "a" * 32 + '"'}, "md5:" + "a" * 32),
        (
            {"ChecksumCRC32": "tWSfbw==", "ChecksumType": "COMPOSITE", "ETag": '"' + "b" * 32 + '"'},
            "md5:" + "b" * 32,
        ),
        ({"ETag": '"' + "a" * 32 + '-4"'}, None),  # multipart upload
        ({"ETag": '"' + "a" * 32 + '"', "ServerSideEncryption": "aws:kms"}, None),
        ({"ETag": '"' + "a" * 32 + '"', "SSECustomerAlgorithm": "AES256"}, None),
    ],
)
def test_s3_checksum_choice(head: dict[str, str], expected: str | None) -> None:
    from llmcloud_loader.sources import _s3_checksum

    checksum = _s3_checksum(head)
    assert (str(checksum) if checksum else None) == expected
