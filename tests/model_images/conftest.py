"""Real local stand-ins for S3 (moto), GCS (gcp-storage-emulator) and Azure Blob (Azurite).

Each is started once per session on a free 127.0.0.1 port and stopped at the end.
A stand-in that is not installed fails the tests that need it with the install
command; only Azurite is skipped, and only when Node.js itself is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# gcsfs probes zonal/HNS buckets unless told not to, stalling 60 s per call against
# the emulator; the variable is read when gcsfs is imported, so set it first.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AZURITE_DIR = Path(os.environ.get("LLMCLOUD_AZURITE_DIR", REPO / ".cache" / "azurite"))
# The well-known Azurite development account (public, emulator-only).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
INSTALL_PY = "pip install 'moto[server]' 's3fs>=2026.9.0' boto3 gcp-storage-emulator gcsfs adlfs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (freed right after binding)."""
    return free_port()


def _tool(name: str, install: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"{name} is not installed; install it with: {install}", pytrace=False)
    return found


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} stand-in exited with {proc.returncode}: {log.read_text()[-2000:]}", pytrace=False)
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"stand-in at {url} did not start within {timeout:.0f}s: {log.read_text()[-2000:]}", pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Each stand-in runs in its own process group so that wrappers (npx/node) die too.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _start(cmd: list[str], probe: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _wait_until_up(proc, probe, log)
    return proc


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = _tool("moto_server", INSTALL_PY)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = _start([exe, "-H", "127.0.0.1", "-p", str(port)], f"{url}/moto-api/", log)
    yield url
    _stop(proc)


@pytest.fixture(scope="session")
def gcs_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = _tool("gcp-storage-emulator", INSTALL_PY)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("gcs") / "gcs.log"
    cmd = [exe, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory", "--quiet"]
    proc = _start(cmd, f"{url}/storage/v1/b", log)
    yield url
    _stop(proc)


@pytest.fixture(scope="session")
def azure_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not shutil.which("node") or not shutil.which("npx"):
        pytest.skip("Node.js (node, npx) is not installed; Azurite needs it")
    exe = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not exe.exists():
        pytest.fail(
            f"Azurite is not installed at {AZURITE_DIR}; install it with: "
            f"npm install --prefix {AZURITE_DIR} azurite@3.35.0 (or set LLMCLOUD_AZURITE_DIR)",
            pytrace=False,
        )
    port = free_port()
    work = tmp_path_factory.mktemp("azurite")
    cmd = [
        str(exe),
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(work),
    ]
    proc = _start(cmd, f"http://127.0.0.1:{port}/devstoreaccount1?comp=list", work / "azurite.log")
    yield (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    _stop(proc)
