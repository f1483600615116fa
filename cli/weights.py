"""llmcloud weights: mirror a Hub model into the stack's bucket, and check before `up` that weights exist.

`llmcloud weights sync STACK [--model M]` copies the weights of every bucket:// model (or of M) from the
Hugging Face Hub into the stack's bucket, so production serves from the bucket (streamed into accelerator
memory by vLLM, components/k8s/serving.py) and scales up without depending on the Hub:
- weights only: safetensors, configs, tokenizer files; never `original/**` (Llama's duplicate .pth copy);
- parallel: --parallel files at once;
- resumable: an object already in the bucket with the size and SHA-256 recorded in the prefix's
  `.llmcloud-sync.json` is skipped, so an interrupted sync picks up where it stopped;
- checksummed: every file is hashed while it is downloaded and compared with the Hub's SHA-256 (LFS
  files) or git blob id (small files) before it is uploaded; a mismatch stops the sync.
The Hub repository is `--from hf://org/model[@rev]`, by default the last two parts of the bucket path
(bucket://weights/meta-llama/Llama-3.1-8B-Instruct -> meta-llama/Llama-3.1-8B-Instruct). HF_ENDPOINT points
huggingface_hub at another Hub (a mirror; tests use a local stand-in). Store credentials are the ambient
ones (gcloud ADC, the AWS default chain, DefaultAzureCredential), never keys in the stack.

`weights_gate` runs in `up` before anything is deployed: each model that must start (replicas.min >= 1)
has readable weights (objects under its prefix, or a Hub repository the token can read), else `up` stops
with exit 4 and says how to fix it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import INVALID, MISSING, emit_json, fail, load, notice

if TYPE_CHECKING:
    from llmcloud.components.resolve import ResolvedModel, ResolvedStack

MANIFEST = ".llmcloud-sync.json"
WEIGHT_PATTERNS = (
    "*.safetensors",
    "*.safetensors.index.json",
    "*.json",
    "tokenizer.model",
    "*.tiktoken",
    "*.txt",
    "*.jinja",
)
SKIP_PATTERNS = (
    "original/*",
    ".gitattributes",
    "*.md",
    "*.pth",
    "*.bin",
    "*.pt",
    "*.gguf",
    "*.onnx",
    "*.h5",
    "*.msgpack",
)
CHUNK = 8 << 20


class WeightsError(Exception):
    """A sync or check that cannot go on; the message names the file and what to do."""


class Unreachable(WeightsError):
    """The Hub or the store could not be asked (network, no credentials here): nothing is known."""


@dataclass(frozen=True)
class HubFile:
    name: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git blob id (sha1 of "blob <size>\0<content>")


def wanted(name: str) -> bool:
    if any(fnmatch.fnmatchcase(name, p) for p in SKIP_PATTERNS):
        return False
    return any(fnmatch.fnmatchcase(name.rsplit("/", 1)[-1], p) for p in WEIGHT_PATTERNS)


def hub_token() -> str | bool:
    """HF_TOKEN, or the file HF_TOKEN_PATH names; False for anonymous access. Never printed."""
    token = os.environ.get("HF_TOKEN")
    if token:
        return token
    path = os.environ.get("HF_TOKEN_PATH")
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8").strip() or False
    return False


def parse_hf(uri: str) -> tuple[str, str | None]:
    ref = uri.removeprefix("hf://").strip("/")
    repo, _, revision = ref.partition("@")
    if not uri.startswith("hf://") or repo.count("/") != 1 or ".." in repo:
        raise WeightsError(f"bad Hub source {uri!r}: expected hf://org/model[@revision]")
    return repo, revision or None


def hub_files(repo: str, revision: str | None) -> tuple[str, list[HubFile]]:
    """(commit sha, the repository's weight files) from the Hub API."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = HfApi().model_info(repo, revision=revision, files_metadata=True, token=hub_token())
    except GatedRepoError:
        raise WeightsError(f"hf://{repo} is gated: accept its license on the Hub and set HF_TOKEN") from None
    except RevisionNotFoundError:
        raise WeightsError(f"hf://{repo} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise WeightsError(f"hf://{repo} does not exist or the token cannot read it (set HF_TOKEN)") from None
    except Exception as exc:  # network errors: one line, no traceback
        raise Unreachable(f"cannot reach the Hub for hf://{repo}: {type(exc).__name__}: {str(exc)[:200]}") from None
    files = []
    for s in info.siblings or []:
        if not wanted(s.rfilename):
            continue
        lfs = getattr(s, "lfs", None)
        sha = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)) if lfs else None
        files.append(HubFile(s.rfilename, int(s.size or 0), sha, getattr(s, "blob_id", None)))
    if not any(f.name.endswith(".safetensors") for f in files):
        raise WeightsError(f"hf://{repo} has no safetensors weights (vLLM streams safetensors only)")
    return info.sha or (revision or "main"), files


def download(repo: str, commit: str, f: HubFile, dest: Path) -> None:
    """Stream one file from the Hub into DEST, hashing as it arrives; raise on a checksum mismatch."""
    import urllib.error

    from huggingface_hub import hf_hub_url

    token = hub_token()
    url = hf_hub_url(repo, f.name, revision=commit)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    sha256, blob = hashlib.sha256(), hashlib.sha1(f"blob {f.size}\0".encode(), usedforsecurity=False)
    try:
        with urllib.request.build_opener(_SameHostAuth()).open(request, timeout=60) as resp, dest.open("wb") as out:
            while chunk := resp.read(CHUNK):
                sha256.update(chunk)
                blob.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise WeightsError(f"hf://{repo}/{f.name}: the Hub answered {exc.code}") from None
    except OSError as exc:
        raise WeightsError(f"hf://{repo}/{f.name}: {type(exc).__name__}: {str(exc)[:200]}") from None
    size = dest.stat().st_size
    if size != f.size:
        raise WeightsError(f"hf://{repo}/{f.name}: {size} bytes arrived, the Hub lists {f.size}")
    if f.sha256 and sha256.hexdigest() != f.sha256:
        raise WeightsError(f"hf://{repo}/{f.name}: SHA-256 mismatch (got {sha256.hexdigest()}, Hub {f.sha256})")
    if not f.sha256 and f.blob_id and blob.hexdigest() != f.blob_id:
        raise WeightsError(f"hf://{repo}/{f.name}: git blob id mismatch (got {blob.hexdigest()}, Hub {f.blob_id})")


class _SameHostAuth(urllib.request.HTTPRedirectHandler):
    """Follow the Hub's redirects (LFS files live on a CDN) but never send the token to another host."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        from urllib.parse import urlsplit

        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


def open_store(url: str) -> Any:
    """An fsspec filesystem for gs://, s3:// or az:// with ambient credentials only (local stand-ins through
    STORAGE_EMULATOR_HOST, AWS_ENDPOINT_URL, or an Azurite connection string)."""
    import fsspec

    scheme = url.split("://", 1)[0]
    if scheme == "gs":
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # else 60 s stalls per call
        return fsspec.filesystem("gs", token="anon" if os.environ.get("STORAGE_EMULATOR_HOST") else None)
    if scheme == "s3":
        return fsspec.filesystem("s3")
    if scheme == "az":
        conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
        if conn and ("127.0.0.1" in conn or "UseDevelopmentStorage=true" in conn):
            return fsspec.filesystem("az", connection_string=conn)
        account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
        if not account:
            raise WeightsError("az:// needs AZURE_STORAGE_ACCOUNT_NAME (the stack output storage_accounts)")
        return fsspec.filesystem("az", account_name=account, anon=False)
    raise WeightsError(f"{url!r}: the bucket URL must be gs://, s3:// or az://")


def bucket_url(r: ResolvedStack, bucket: str) -> str:
    b = r.buckets.get(bucket)
    if b is None:
        raise WeightsError(f"bucket {bucket!r} is not in the stack's buckets: {', '.join(sorted(r.buckets))}")
    from llmcloud.components import registry

    try:
        return registry.cloud(r.cloud).weights_url(b)
    except Exception as exc:  # the cloud could not be asked what the bucket is named (AWS: its account id)
        raise Unreachable(
            f"cannot name bucket {bucket!r} on {r.cloud}: {type(exc).__name__}: {str(exc)[:200]}; "
            "pass --bucket-url (the stack output buckets)"
        ) from None


def target_of(r: ResolvedStack, model: ResolvedModel, override: str | None) -> str:
    """The object-store prefix a model's weights live under."""
    from llmcloud.components.k8s.weights import bucket_of

    src = model.source
    bucket = bucket_of(src)
    if bucket is not None:
        path = src.removeprefix(f"bucket://{bucket}").strip("/")
        return f"{(override or bucket_url(r, bucket)).rstrip('/')}/{path}"
    if src.startswith(("gs://", "s3://", "az://")):
        return override or src
    raise WeightsError(f"models.{model.name}: {src} is served from the Hub directly; sync is for bucket sources")


@dataclass
class SyncResult:
    model: str
    source: str
    target: str
    files: int
    uploaded: int
    skipped: int
    bytes: int


def sync_one(hub: str, target: str, parallel: int, report: Any = None) -> SyncResult:
    repo, revision = parse_hf(hub)
    commit, files = hub_files(repo, revision)
    fs = open_store(target)
    root = target.split("://", 1)[1].rstrip("/")
    manifest_path = f"{root}/{MANIFEST}"
    try:
        done = json.loads(fs.cat_file(manifest_path)).get("files", {}) if fs.exists(manifest_path) else {}
    except Exception:  # an unreadable manifest proves nothing: every file is copied again
        done = {}

    def already(f: HubFile) -> bool:
        entry = done.get(f.name) or {}
        if entry.get("size") != f.size or entry.get("sha256") != (f.sha256 or f.blob_id):
            return False
        try:
            return int(fs.info(f"{root}/{f.name}")["size"]) == f.size
        except Exception:
            return False

    pending = [f for f in files if not already(f)]
    with tempfile.TemporaryDirectory(prefix="llmcloud-sync-") as tmp:

        def copy(f: HubFile) -> HubFile:
            local = Path(tmp) / hashlib.sha1(f.name.encode(), usedforsecurity=False).hexdigest()
            download(repo, commit, f, local)
            fs.put_file(str(local), f"{root}/{f.name}")
            local.unlink()
            if report:
                report(f"uploaded {f.name} ({f.size / 2**20:.1f} MiB)")
            return f

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            for f in pool.map(copy, pending):
                done[f.name] = {"size": f.size, "sha256": f.sha256 or f.blob_id}
                # Recorded after each file: an interrupted sync keeps what it finished.
                fs.pipe_file(
                    manifest_path,
                    json.dumps({"source": f"hf://{repo}@{commit}", "files": done}, indent=1, sort_keys=True).encode(),
                )
    return SyncResult(
        model="",
        source=f"hf://{repo}@{commit}",
        target=target,
        files=len(files),
        uploaded=len(pending),
        skipped=len(files) - len(pending),
        bytes=sum(f.size for f in files),
    )


def default_hub(model: ResolvedModel) -> str:
    parts = [p for p in model.source.split("://", 1)[1].split("/") if p]
    if len(parts) < 3:
        raise WeightsError(
            f"models.{model.name}: cannot tell the Hub repository from {model.source}; pass --from hf://org/model"
        )
    return f"hf://{parts[-2]}/{parts[-1]}"


def sync(
    stack: str,
    cloud: str | None,
    *,
    model: str | None,
    hub: str | None,
    bucket: str | None,
    parallel: int,
    json_mode: bool,
) -> None:
    _, r = load(stack, cloud)
    from llmcloud.components.k8s.weights import is_object_store

    names = [model] if model else [n for n, m in r.models.items() if is_object_store(m.source)]
    if model and model not in r.models:
        fail(INVALID, f"no model {model!r} in the stack; models: {', '.join(sorted(r.models))}")
    if not names:
        fail(INVALID, "no model of the stack is served from a bucket (bucket://, gs://, s3://, az://)")
    results = []
    for name in names:
        m = r.models[name]
        try:
            result = sync_one(hub or default_hub(m), target_of(r, m, bucket), parallel, None if json_mode else notice)
        except WeightsError as exc:
            fail(MISSING, f"models.{name}: {exc}")
        result.model = name
        results.append(result)
        if not json_mode:
            notice(
                f"models.{name}: {result.files} files ({result.bytes / 2**30:.2f} GiB) from {result.source} "
                f"in {result.target}: {result.uploaded} uploaded, {result.skipped} already there"
            )
    if json_mode:
        emit_json({"synced": [r.__dict__ for r in results]})


# ---------------------------------------------------------------- the check `up` runs


def check_model(r: ResolvedStack, model: ResolvedModel) -> str | None:
    """None when the model's weights are readable, else what is wrong and how to fix it. Raises Unreachable
    when the Hub or the store cannot be asked from here."""
    from llmcloud.components.k8s.weights import bucket_of, hub_repo

    if model.source.startswith("hf://"):
        repo, revision = hub_repo(model.source)
        try:
            hub_files(repo, revision)
        except Unreachable:
            raise
        except WeightsError as exc:
            return str(exc)
        return None
    target = target_of(r, model, None)
    fix = (
        f"deploy it with replicas.min 0 first (the deploy creates the bucket), then `llmcloud weights sync "
        f"{r.environment} --model {model.name}`"
        if bucket_of(model.source)
        else "upload the safetensors there"
    )
    try:
        fs = open_store(target)
        root = target.split("://", 1)[1].rstrip("/")
        found = [p for p in fs.find(root) if p.endswith(".safetensors")]
    except WeightsError as exc:
        return str(exc)
    except FileNotFoundError:
        found = []
    except PermissionError as exc:
        return f"the credentials here cannot read {target} ({str(exc)[:120]})"
    except Exception as exc:  # no credentials, network: nothing is known
        raise Unreachable(f"cannot list {target}: {type(exc).__name__}: {str(exc)[:200]}") from None
    return None if found else f"no safetensors under {target}: {fix}"


def weights_gate(r: ResolvedStack) -> None:
    """Exit 4 before deploying when a model that must start (replicas.min >= 1) has no readable weights; a
    source that cannot be asked from here is reported and not held against the deploy."""
    problems = []
    for name, model in r.models.items():
        if model.replicas_min < 1:
            continue
        try:
            message = check_model(r, model)
        except Unreachable as exc:
            notice(f"models.{name}: weights not checked: {exc}")
            continue
        if message:
            problems.append(f"models.{name}: {message}")
    if problems:
        fail(MISSING, "weights missing or unreadable; nothing deployed:\n  " + "\n  ".join(problems))
