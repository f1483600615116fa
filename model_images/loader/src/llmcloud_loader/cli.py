"""``llmcloud-load SOURCE DEST``: the model-server init container's entry point."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from llmcloud_loader.errors import LoaderError, UsageError, classify
from llmcloud_loader.sources import HubSource, describe, list_files, open_store, parse_source
from llmcloud_loader.transfer import MARKER, Copier, write_json_atomic

PROG = "llmcloud-load"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line and exit 2, not usage + message
        raise UsageError(f"{message} (see {PROG} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Copy model weights to a local directory: parallel, resumable, verified. "
        "Credentials come only from the environment (workload identity / default chains).",
        epilog="Exit codes: 0 ok, 1 transfer/verification failure, 2 usage, 3 not found, 4 access denied.",
    )
    p.add_argument("source", help="gs://b/p, s3://b/p, az://container/p, bucket://NAME/p or hf://org/model[@rev]")
    p.add_argument("dest", help="local directory the model server reads")
    p.add_argument("--parallel", type=int, default=8, help="concurrent range requests (default 8)")
    p.add_argument(
        "--chunk-mb",
        type=int,
        default=64,
        help="byte-range size in MiB (default 64; memory ~ parallel x chunk)",
    )
    p.add_argument(
        "--bucket-url",
        default=os.environ.get("LLMCLOUD_BUCKET_URL"),
        help="the stack's weights bucket for bucket:// sources (default $LLMCLOUD_BUCKET_URL)",
    )
    p.add_argument(
        "--include", action="append", default=[], metavar="GLOB", help="only paths matching GLOB (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="JSON lines on stdout instead of progress on stderr")
    return p


class Reporter:
    """Progress events, called from the fetch threads: one whole line per event."""

    def __init__(self, as_json: bool) -> None:
        self._json = as_json
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        stream = sys.stdout if self._json else sys.stderr
        if self._json:
            line = json.dumps(event)
        elif event["event"] == "file":
            took = f" {event['seconds']:.2f}s" if "seconds" in event else ""
            line = f"{event['status']:>10} {event['path']} {event['bytes'] / 2**20:.1f} MiB{took}"
        else:
            line = (
                f"{event['files']} files, {event['bytes']} bytes ({event['skipped']} already present) "
                f"in {event['seconds']:.2f}s, {event['mb_per_s']:.1f} MB/s"
            )
        with self._lock:  # print() writes text and newline separately: lines from threads would interleave
            stream.write(line + "\n")
            stream.flush()


def run(args: argparse.Namespace) -> None:
    if args.parallel < 1 or args.chunk_mb < 1:
        raise UsageError("--parallel and --chunk-mb must be at least 1")
    source = parse_source(args.source, args.bucket_url)
    dest = Path(args.dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create DEST {dest}: {exc.strerror}") from None
    # The marker vouches for the run that wrote it; drop it before anything changes.
    (dest / MARKER).unlink(missing_ok=True)
    report = Reporter(args.json)
    started = time.monotonic()
    if isinstance(source, HubSource):
        from llmcloud_loader.hf import load_hub

        hub_files = load_hub(source, dest, args.include, args.parallel)
        for rel, size in hub_files:
            report({"event": "file", "path": rel, "bytes": size, "status": "downloaded"})
        files, total, moved, skipped = (
            len(hub_files),
            sum(s for _, s in hub_files),
            sum(s for _, s in hub_files),
            0,
        )
    else:
        fs = open_store(source.scheme)
        listing = list_files(fs, source, args.include)
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            remote = list(pool.map(lambda item: describe(fs, source.scheme, *item), listing))
        summary = Copier(fs, source.url, dest, args.parallel, args.chunk_mb << 20, report).run(remote)
        files, total, moved, skipped = summary.files, summary.bytes, summary.downloaded_bytes, summary.skipped
    seconds = time.monotonic() - started
    write_json_atomic(
        dest / MARKER, {"source": source.url, "files": files, "bytes": total, "seconds": round(seconds, 3)}
    )
    report(
        {
            "event": "summary",
            "source": source.url,
            "files": files,
            "bytes": total,
            "downloaded_bytes": moved,
            "skipped": skipped,
            "seconds": round(seconds, 3),
            "mb_per_s": round(moved / 1e6 / max(seconds, 1e-9), 1),
        }
    )


def main(argv: list[str] | None = None) -> int:
    # Client libraries log retries and credential probing; the CLI reports errors itself.
    logging.basicConfig(level=logging.CRITICAL)
    try:
        run(build_parser().parse_args(argv))
    except LoaderError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unforeseen still ends as one line, never a traceback
        err = classify(exc, "unexpected error")
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return err.exit_code
    return 0
