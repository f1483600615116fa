"""Parallel ranged download into DEST/.llmcloud-partial/, verification, and atomic placement."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmcloud_loader.errors import TransferError, classify
from llmcloud_loader.sources import RemoteFile

PARTIAL_DIR = ".llmcloud-partial"
MARKER = ".llmcloud-complete"
_READ_BLOCK = 8 << 20

Report = Callable[[dict[str, Any]], None]


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


class Manifest:
    """Files already verified and placed, so that a re-run after an interruption skips them."""

    def __init__(self, path: Path, source_url: str) -> None:
        self._path, self._source = path, source_url
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text())
            if data.get("source") == source_url:  # entries for another source prove nothing
                self._files = dict(data.get("files", {}))
        except (OSError, ValueError, AttributeError):
            pass  # no usable manifest: every file is fetched again

    @staticmethod
    def _entry(f: RemoteFile) -> dict[str, Any]:
        return {"size": f.size, "checksum": str(f.checksum) if f.checksum else None}

    def is_done(self, f: RemoteFile, final: Path) -> bool:
        try:
            on_disk = final.stat().st_size == f.size
        except OSError:
            return False
        return on_disk and self._files.get(f.rel) == self._entry(f)

    def record(self, f: RemoteFile) -> None:
        with self._lock:
            self._files[f.rel] = self._entry(f)
            write_json_atomic(self._path, {"source": self._source, "files": self._files})


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, big-endian for the CRCs as the stores publish them."""
    crc = 0
    if algorithm == "crc32c":
        import google_crc32c

        hasher: Any = google_crc32c.Checksum()
    elif algorithm == "md5":
        hasher = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while block := fh.read(_READ_BLOCK):
            if algorithm == "crc32":
                crc = zlib.crc32(block, crc)
            else:
                hasher.update(block)
    return f"{crc:08x}" if algorithm == "crc32" else hasher.digest().hex()


@dataclass
class _Job:
    file: RemoteFile
    partial: Path
    final: Path
    remaining: int
    started: float | None = None  # when the first chunk was taken, not when queued


@dataclass(frozen=True)
class Summary:
    files: int
    bytes: int
    downloaded_bytes: int
    skipped: int


class Copier:
    """Copies RemoteFiles from one fsspec filesystem to DEST with ``parallel`` range requests."""

    def __init__(self, fs: Any, source_url: str, dest: Path, parallel: int, chunk_size: int, report: Report) -> None:
        self._fs, self._dest, self._report = fs, dest, report
        self._parallel, self._chunk = parallel, chunk_size
        self._data = dest / PARTIAL_DIR / "files"
        self._manifest = Manifest(dest / PARTIAL_DIR / "manifest.json", source_url)
        self._lock = threading.Lock()

    def run(self, files: list[RemoteFile]) -> Summary:
        pending = []
        for f in files:
            if self._manifest.is_done(f, self._dest / f.rel):
                self._report({"event": "file", "path": f.rel, "bytes": f.size, "status": "skipped"})
            else:
                pending.append(f)
        # Chunks of the partial files of an earlier, interrupted run are not trusted:
        # start each pending file afresh.
        shutil.rmtree(self._data, ignore_errors=True)
        tasks = [task for f in pending for task in self._plan(f)]
        try:
            self._execute(tasks)
        except BaseException:
            shutil.rmtree(self._data, ignore_errors=True)
            raise
        shutil.rmtree(self._data, ignore_errors=True)
        return Summary(
            files=len(files),
            bytes=sum(f.size for f in files),
            downloaded_bytes=sum(f.size for f in pending),
            skipped=len(files) - len(pending),
        )

    def _plan(self, f: RemoteFile) -> list[tuple[_Job, int, int]]:
        partial = self._data / f.rel
        partial.parent.mkdir(parents=True, exist_ok=True)
        # Preallocate so that chunks can be pwritten in any order, and a full disk
        # fails now rather than after most of the download.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if f.size:
                os.posix_fallocate(fd, 0, f.size)
        finally:
            os.close(fd)
        ranges = [(start, min(start + self._chunk, f.size)) for start in range(0, f.size, self._chunk)]
        job = _Job(f, partial, self._dest / f.rel, remaining=max(len(ranges), 1))
        return [(job, start, end) for start, end in ranges or [(0, 0)]]

    def _execute(self, tasks: list[tuple[_Job, int, int]]) -> None:
        # Tasks are queued file by file, so files finish (and are recorded as done)
        # roughly in order: an interrupted run keeps as many finished files as possible.
        with ThreadPoolExecutor(max_workers=self._parallel, thread_name_prefix="fetch") as pool:
            futures = [pool.submit(self._fetch, *task) for task in tasks]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for fut in futures:
                fut.cancel()
            for fut in done:
                if fut.exception() is not None:
                    raise fut.exception()  # type: ignore[misc]

    def _fetch(self, job: _Job, start: int, end: int) -> None:
        f = job.file
        with self._lock:
            job.started = job.started or time.monotonic()
        if end > start:
            try:
                data = self._fs.cat_file(f.path, start=start, end=end)
            except Exception as exc:  # client exceptions vary by store; classify maps them
                raise classify(exc, f.path) from None
            if len(data) != end - start:
                raise TransferError(f"short read for {f.rel}: bytes {start}-{end} returned {len(data)} bytes")
            fd = os.open(job.partial, os.O_WRONLY)
            try:
                view = memoryview(data)
                offset = start
                while view:
                    written = os.pwrite(fd, view, offset)
                    view, offset = view[written:], offset + written
            finally:
                os.close(fd)
        with self._lock:
            job.remaining -= 1
            last = job.remaining == 0
        if last:
            self._finish(job)

    def _finish(self, job: _Job) -> None:
        f = job.file
        got_size = job.partial.stat().st_size
        if got_size != f.size:
            job.partial.unlink(missing_ok=True)
            raise TransferError(f"size mismatch for {f.rel}: expected {f.size} bytes, got {got_size}")
        if f.checksum:
            got = file_digest(job.partial, f.checksum.algorithm)
            if got != f.checksum.expected:
                job.partial.unlink(missing_ok=True)
                raise TransferError(
                    f"checksum mismatch for {f.rel}: expected {f.checksum}, got {f.checksum.algorithm}:{got}"
                )
        job.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(job.partial, job.final)
        self._manifest.record(f)
        seconds = time.monotonic() - (job.started or time.monotonic())
        self._report(
            {
                "event": "file",
                "path": f.rel,
                "bytes": f.size,
                "seconds": round(seconds, 3),
                "status": "downloaded",
            }
        )
