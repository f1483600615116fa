"""SOURCE URIs, the fsspec filesystem for each store, and remote file listings."""

from __future__ import annotations

import base64
import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from llmcloud_loader.errors import NotFound, TransferError, UsageError, classify

STORE_SCHEMES = ("gs", "s3", "az")
SCHEMES = (*STORE_SCHEMES, "bucket", "hf")
_HF_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


@dataclass(frozen=True)
class StoreSource:
    """An object-store prefix (or single object): ``scheme://bucket/path``."""

    scheme: str
    bucket: str
    path: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.path}".rstrip("/")

    @property
    def fs_path(self) -> str:
        return f"{self.bucket}/{self.path}".rstrip("/")


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face Hub model: ``hf://org/model[@revision]``."""

    repo_id: str
    revision: str | None

    @property
    def url(self) -> str:
        return f"hf://{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # "md5", "crc32" or "crc32c"
    expected: str  # hex digest

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.expected}"


@dataclass(frozen=True)
class RemoteFile:
    path: str  # path as the filesystem names it (bucket/key)
    rel: str  # path relative to SOURCE, and so to DEST
    size: int
    checksum: Checksum | None


def _split(uri: str) -> tuple[str, str, str]:
    parts = urlsplit(uri)
    if not parts.scheme or "://" not in uri:
        raise UsageError(f"bad SOURCE {uri!r}: expected scheme://bucket/path")
    if parts.scheme not in SCHEMES:
        raise UsageError(f"unknown scheme {parts.scheme!r} in {uri!r}; use one of {', '.join(SCHEMES)}")
    if not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"bad SOURCE {uri!r}: expected {parts.scheme}://bucket/path")
    return parts.scheme, parts.netloc, parts.path.strip("/")


def parse_hf(uri: str) -> HubSource:
    """``hf://org/model[@revision]`` -> HubSource; no network access."""
    if not uri.startswith("hf://"):
        raise UsageError(f"bad Hugging Face SOURCE {uri!r}: expected hf://org/model[@revision]")
    repo_id, sep, revision = uri[len("hf://") :].partition("@")
    repo_id = repo_id.strip("/")
    if not _HF_REPO.match(repo_id) or ".." in repo_id or (sep and not revision):
        raise UsageError(f"bad Hugging Face SOURCE {uri!r}: expected hf://org/model[@revision]")
    return HubSource(repo_id, revision or None)


def parse_source(uri: str, bucket_url: str | None) -> StoreSource | HubSource:
    """Parse SOURCE; ``bucket://<name>/<path>`` resolves against the stack's weights bucket URL."""
    if uri.startswith("hf://"):
        return parse_hf(uri)
    scheme, bucket, path = _split(uri)
    if scheme == "bucket":
        if not bucket_url:
            raise UsageError(f"{uri} needs --bucket-url or LLMCLOUD_BUCKET_URL (e.g. gs://my-weights-bucket)")
        base = parse_source(bucket_url, None)
        if not isinstance(base, StoreSource):
            raise UsageError(f"bucket URL {bucket_url!r} must be gs://, s3:// or az://")
        return StoreSource(base.scheme, base.bucket, posixpath.join(base.path, path).strip("/"))
    return StoreSource(scheme, bucket, path)


def _loopback_connection_string(conn: str) -> bool:
    """True for an Azurite (emulator) connection string: its blob endpoint is on loopback."""
    fields = dict(part.split("=", 1) for part in conn.split(";") if "=" in part)
    if fields.get("UseDevelopmentStorage", "").lower() == "true":
        return True
    host = urlsplit(fields.get("BlobEndpoint", "")).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


def open_store(scheme: str) -> Any:
    """An fsspec filesystem using only ambient credentials (workload identity / default chains)."""
    import fsspec

    if scheme == "gs":
        # gcsfs' experimental zonal/HNS probing adds calls we never need for reads
        # (and stalls 60 s per call against the emulator); must be set before import.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        # STORAGE_EMULATOR_HOST makes gcsfs talk to a local emulator, which takes no credentials.
        token = "anon" if os.environ.get("STORAGE_EMULATOR_HOST") else None
        return fsspec.filesystem("gs", token=token)
    if scheme == "s3":
        # Region and endpoint come from the environment (AWS_REGION, AWS_ENDPOINT_URL).
        return fsspec.filesystem("s3")
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if conn:
        if not _loopback_connection_string(conn):
            raise UsageError(
                "AZURE_STORAGE_CONNECTION_STRING is only accepted for a local emulator; "
                "use workload identity with AZURE_STORAGE_ACCOUNT_NAME"
            )
        return fsspec.filesystem("az", connection_string=conn)
    account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise UsageError("az:// needs AZURE_STORAGE_ACCOUNT_NAME in the environment")
    # anon=False with no credential makes adlfs use DefaultAzureCredential (workload identity).
    return fsspec.filesystem("az", account_name=account, anon=False)


def _b64_to_hex(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex() or None
    if isinstance(value, str) and value:
        return base64.b64decode(value).hex()
    return None


def _s3_checksum(head: dict[str, Any]) -> Checksum | None:
    """A whole-object checksum from a HEAD response.

    A full-object CRC32C/CRC32 (what current SDKs add on upload) is preferred: it is
    cheap to compute and also covers multipart and KMS-encrypted objects. Otherwise
    the ETag, which is the MD5 only for single-part uploads ("-N" marks multipart)
    that are not encrypted with SSE-KMS or SSE-C.
    """
    if head.get("ChecksumType") != "COMPOSITE":
        for field, algorithm in (("ChecksumCRC32C", "crc32c"), ("ChecksumCRC32", "crc32")):
            value = head.get(field)
            if value and "-" not in value:
                return Checksum(algorithm, base64.b64decode(value).hex())
    etag = str(head.get("ETag", "")).strip('"')
    encrypted = str(head.get("ServerSideEncryption", "")).startswith("aws:kms") or head.get("SSECustomerAlgorithm")
    if re.fullmatch(r"[0-9a-f]{32}", etag) and not encrypted:
        return Checksum("md5", etag)
    return None


def _checksum(fs: Any, scheme: str, path: str, info: dict[str, Any]) -> tuple[int, Checksum | None]:
    """Size and the checksum the store keeps for one object, if it keeps a usable one."""
    if scheme == "s3":
        # HEAD, not the listing: only HEAD returns the object's additional checksum
        # and whether the ETag is an MD5 at all.
        bucket, _, key = path.partition("/")
        head = fs.call_s3("head_object", Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        return int(head["ContentLength"]), _s3_checksum(head)
    size = int(info["size"])
    if scheme == "gs":
        crc = _b64_to_hex(info.get("crc32c"))
        if crc:
            return size, Checksum("crc32c", crc)
        md5_hex = _b64_to_hex(info.get("md5Hash"))
        return size, Checksum("md5", md5_hex) if md5_hex else None
    # adlfs gives azure's ContentSettings from a listing, a plain dict from info().
    settings = info.get("content_settings")
    raw_md5 = settings.get("content_md5") if isinstance(settings, dict) else getattr(settings, "content_md5", None)
    md5_hex = _b64_to_hex(raw_md5)
    return size, Checksum("md5", md5_hex) if md5_hex else None


def list_files(fs: Any, source: StoreSource, includes: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(fs path, relative path, listing info) for every object under SOURCE that matches ``includes``."""
    root = source.fs_path
    try:
        found: dict[str, dict[str, Any]] = fs.find(root, detail=True)
        entries = {p: i for p, i in found.items() if i.get("type") != "directory"}
        if not entries and fs.isfile(root):
            entries = {root: fs.info(root)}
    except Exception as exc:  # client exceptions vary by store; classify maps them
        raise classify(exc, source.url) from None
    out = []
    for path, info in sorted(entries.items()):
        path = path.removeprefix(f"{source.scheme}://")
        rel = posixpath.relpath(path, root) if path != root else posixpath.basename(path)
        if rel == ".." or rel.startswith("../"):
            # A key such as "model/../../x" would escape DEST once joined to it.
            raise TransferError(f"refusing object {source.scheme}://{path}: its name leaves DEST")
        if rel.startswith(".llmcloud-"):
            continue  # our own control files, e.g. when SOURCE is a copy of a loaded DEST
        if includes and not any(fnmatch.fnmatchcase(rel, g) for g in includes):
            continue
        out.append((path, rel, info))
    if not out:
        what = f" matching {' '.join(includes)}" if includes else ""
        raise NotFound(f"not found: no objects under {source.url}{what}")
    return out


def describe(fs: Any, scheme: str, path: str, rel: str, info: dict[str, Any]) -> RemoteFile:
    try:
        size, checksum = _checksum(fs, scheme, path, info)
    except Exception as exc:  # client exceptions vary by store; classify maps them
        raise classify(exc, f"{scheme}://{path}") from None
    return RemoteFile(path, rel, size, checksum)
