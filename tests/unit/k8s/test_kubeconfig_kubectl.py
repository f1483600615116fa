"""The kubeconfig each cloud hands the Kubernetes provider, used by kubectl (client-go, the library the provider
is built on) against a local HTTPS API server. The exec plugin is a stand-in with the command's name: it
records its arguments and the cluster information client-go passes it, and prints an ExecCredential. Checked:
client-go accepts the kubeconfig, its exec stanza (API version, interactiveMode, provideClusterInfo) and the CA
data, runs the plugin with the arguments llmcloud wrote, and sends the plugin's token to the server.

GKE and EKS kubeconfigs are llmcloud's (`kubeconfig()` in components/gcp|aws/cluster.py); AKS's is the offline
engine's stand-in for what AKS returns, rewritten by `decode_kubeconfig` as on a deploy. The real plugins
(gke-gcloud-auth-plugin, aws, kubelogin) and a real API server do not run here."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import ipaddress
import json
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
TOKEN = "test-token-from-the-plugin"


def _certificates(tmp: Path) -> tuple[str, Path, Path]:
    """A CA (base64 PEM, as kubeconfigs carry it) and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "server.crt", tmp / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return base64.b64encode(ca.public_bytes(serialization.Encoding.PEM)).decode(), cert_file, key_file


class _ApiServer(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _ApiServer.seen.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"major": "1", "minor": "35", "gitVersion": "v1.35.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api_server(tmp_path: Path):
    ca, cert, key = _certificates(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ApiServer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _ApiServer.seen = []
    yield f"127.0.0.1:{server.server_address[1]}", ca
    server.shutdown()


def _stand_in(bin_dir: Path, command: str, record: Path) -> None:
    """An exec plugin named `command`: records argv and KUBERNETES_EXEC_INFO, prints an ExecCredential."""
    bin_dir.mkdir(exist_ok=True)
    plugin = bin_dir / command
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:], "
        "'info': json.loads(os.environ.get('KUBERNETES_EXEC_INFO') or 'null')}))\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', "
        f"'status': {{'token': {TOKEN!r}}}}}))\n"
    )
    plugin.chmod(0o755)


def _kubectl(kubeconfig: str, tmp: Path, command: str) -> dict[str, Any]:
    path = tmp / "kubeconfig"
    path.write_text(kubeconfig)
    record = tmp / "plugin-call.json"
    _stand_in(tmp / "bin", command, record)
    env = {"PATH": f"{tmp / 'bin'}:/usr/bin:/bin", "HOME": str(tmp), "KUBECONFIG": str(path)}
    proc = subprocess.run(
        [str(KUBECTL), "get", "--raw", "/version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["gitVersion"] == "v1.35.0"
    assert f"Bearer {TOKEN}" in _ApiServer.seen
    return json.loads(record.read_text())


def test_gke_kubeconfig_runs_the_gke_plugin_with_the_cluster(api_server, tmp_path: Path) -> None:
    from llmcloud.components.gcp.cluster import kubeconfig

    endpoint, ca = api_server
    call = _kubectl(kubeconfig("llm-dev", endpoint, ca), tmp_path, "gke-gcloud-auth-plugin")
    assert call["argv"] == []
    # provideClusterInfo: the plugin learns which cluster it signs in to
    assert call["info"]["spec"]["cluster"]["server"] == f"https://{endpoint}"


def test_eks_kubeconfig_runs_aws_eks_get_token_non_interactively(api_server, tmp_path: Path) -> None:
    from llmcloud.components.aws.cluster import kubeconfig

    endpoint, ca = api_server
    call = _kubectl(kubeconfig("llm-dev", f"https://{endpoint}", ca, "us-east-1"), tmp_path, "aws")
    assert call["argv"] == [
        *("eks", "get-token", "--cluster-name", "llm-dev", "--region", "us-east-1", "--output", "json")
    ]
    assert call["info"]["spec"]["interactive"] is False


def test_aks_kubeconfig_runs_kubelogin_in_azurecli_mode(api_server, tmp_path: Path) -> None:
    from llmcloud.components.azure.cluster import decode_kubeconfig
    from llmcloud.components.engine.offline import _Answers
    from pulumi.runtime.mocks import MockCallArgs

    endpoint, ca = api_server
    answer, _ = _Answers().call(
        MockCallArgs(token="azure-native:containerservice:listManagedClusterUserCredentials", args={}, provider="")
    )
    aks = yaml.safe_load(base64.b64decode(answer["kubeconfigs"][0]["value"]))
    for cluster in aks["clusters"]:  # the stand-in's server and CA -> the local server's
        cluster["cluster"].update({"server": f"https://{endpoint}", "certificate-authority-data": ca})
    value = base64.b64encode(yaml.safe_dump(aks).encode()).decode()
    call = _kubectl(decode_kubeconfig(value), tmp_path, "kubelogin")
    assert call["argv"][0] == "get-token"
    assert call["argv"][call["argv"].index("--login") + 1] == "azurecli"


def test_a_plugin_that_fails_fails_kubectl(api_server, tmp_path: Path) -> None:
    """The harness can fail: a kubeconfig whose plugin is missing does not reach the server."""
    from llmcloud.components.gcp.cluster import kubeconfig

    endpoint, ca = api_server
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig("llm-dev", endpoint, ca))
    empty = tmp_path / "empty"  # PATH without any plugin (kubectl itself runs by its full path)
    empty.mkdir()
    env = {"PATH": str(empty), "HOME": str(tmp_path), "KUBECONFIG": str(path)}
    proc = subprocess.run([str(KUBECTL), "get", "--raw", "/version"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "Install gke-gcloud-auth-plugin" in proc.stderr  # the kubeconfig's installHint reaches the user
    assert f"Bearer {TOKEN}" not in _ApiServer.seen
