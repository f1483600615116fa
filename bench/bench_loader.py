"""Benchmark: llmcloud-load (parallel) vs a sequential single-stream copy, 1 GiB in 8 files.

Starts a moto S3 server on 127.0.0.1, uploads 8 x 128 MiB of random bytes, then
times (a) one-file-after-another, one-stream copies with s3fs ``get_file`` -- the
same client stack the loader uses, without its parallelism -- and (b) the
``llmcloud-load`` command as a subprocess (process start-up included). Exits 1
when the speed-up is below 2.

    python bench/bench_loader.py [--json]

Needs: pip install 'moto[server]' 's3fs>=2026.9.0' boto3 ./model_images/loader
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FILES, FILE_SIZE = 8, 128 << 20
BUCKET, PREFIX = "llmcloud-bench", "model"
LOADER_SRC = Path(__file__).resolve().parents[1] / "model_images" / "loader" / "src"
MIN_RATIO = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_moto(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("moto_server", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not exe:
        sys.exit("moto_server not found: pip install 'moto[server]'")
    url = f"http://127.0.0.1:{_free_port()}"
    port = url.rsplit(":", 1)[1]
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", port], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto_server did not start")


def _upload() -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    # One random block, made distinct per file by a prefix: generating 1 GiB of
    # os.urandom would cost more than the benchmark itself.
    block = os.urandom(FILE_SIZE - 16)

    def put(i: int) -> None:
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/shard-{i:02d}.safetensors", Body=os.urandom(16) + block)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, range(FILES)))


def _sequential(dest: Path) -> float:
    import s3fs

    fs = s3fs.S3FileSystem()
    started = time.monotonic()
    for path in sorted(fs.find(f"{BUCKET}/{PREFIX}")):
        fs.get_file(path, str(dest / Path(path).name))
    return time.monotonic() - started


def _loader(dest: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llmcloud_loader", f"s3://{BUCKET}/{PREFIX}", str(dest), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"llmcloud-load failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(LOADER_SRC),
    }
    # Keep objects in moto's memory rather than spooled to temporary files, so the
    # stand-in's disk does not bound both copies alike.
    moto, url = _start_moto({**env, "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(2 * FILE_SIZE)})
    env["AWS_ENDPOINT_URL"] = url
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        _upload()
        with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp:
            seq_dir, par_dir = Path(tmp, "sequential"), Path(tmp, "loader")
            seq_dir.mkdir()
            sequential = _sequential(seq_dir)
            parallel = _loader(par_dir, env)
            for name in os.listdir(seq_dir):  # both copies must be whole and equal in size
                assert (par_dir / name).stat().st_size == (seq_dir / name).stat().st_size == FILE_SIZE
    finally:
        moto.terminate()
        moto.wait()

    total = FILES * FILE_SIZE
    result = {
        "files": FILES,
        "bytes": total,
        "sequential_seconds": round(sequential, 3),
        "loader_seconds": round(parallel, 3),
        "sequential_mb_per_s": round(total / 1e6 / sequential, 1),
        "loader_mb_per_s": round(total / 1e6 / parallel, 1),
        "ratio": round(sequential / parallel, 2),
        "min_ratio": MIN_RATIO,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'copy':<22}{'seconds':>10}{'MB/s':>10}")
        print(f"{'sequential (1 stream)':<22}{sequential:>10.2f}{result['sequential_mb_per_s']:>10.1f}")
        print(f"{'llmcloud-load':<22}{parallel:>10.2f}{result['loader_mb_per_s']:>10.1f}")
        print(f"ratio {result['ratio']:.2f}x (required >= {MIN_RATIO:.0f}x)")
    return 0 if result["ratio"] >= MIN_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
