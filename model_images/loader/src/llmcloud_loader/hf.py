"""hf:// sources through huggingface_hub.snapshot_download."""

from __future__ import annotations

import os
from pathlib import Path

from llmcloud_loader.errors import AccessDenied, NotFound, TransferError, classify, one_line
from llmcloud_loader.sources import HubSource


def _token_file() -> str | None:
    path = os.environ.get("HF_TOKEN_PATH")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def load_hub(source: HubSource, dest: Path, includes: list[str], parallel: int) -> list[tuple[str, int]]:
    """Download into DEST; returns (relative path, size) of the snapshot's files.

    With ``local_dir`` the Hub client writes each file under DEST/.cache/huggingface/
    and renames it into place when complete and hash-checked, and resumes from there,
    which gives the same guarantees as the object-store path.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    # The token comes from the environment (HF_TOKEN) or the file a Kubernetes Secret mounts
    # (HF_TOKEN_PATH) and is handed to the client; it is never echoed (error messages below carry
    # the client's text, not the token).
    token: str | bool = os.environ.get("HF_TOKEN") or _token_file() or False
    try:
        root = snapshot_download(
            source.repo_id,
            revision=source.revision,
            local_dir=dest,
            allow_patterns=includes or None,
            token=token,
            max_workers=parallel,
        )
    except LocalEntryNotFoundError as exc:  # the Hub was unreachable and nothing is cached
        raise TransferError(f"transfer failed: {source.url}: cannot reach the Hub ({one_line(exc)})") from None
    except GatedRepoError as exc:  # a subclass of RepositoryNotFoundError: test it first
        raise AccessDenied(f"access denied: {source.url}: gated model; set HF_TOKEN ({type(exc).__name__})") from None
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        raise NotFound(f"not found: {source.url}: {one_line(exc)}") from None
    except Exception as exc:  # network and HTTP errors: classify maps them
        raise classify(exc, source.url) from None
    files = []
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith((".cache/", ".llmcloud-")):
            files.append((rel, path.stat().st_size))
    return files
