"""JSON over HTTPS with a bearer token for the operations checks (preflight, leftovers) on GCP and Azure,
on top of the one HTTP client (components/http.py). One line per failure. Tests point `base` at a local
server that serves recorded responses; the real clouds are reached at their documented endpoints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from typing import Any

from .http import FetchError, Http

GCP_COMPUTE = "https://compute.googleapis.com"
GCP_ASSET = "https://cloudasset.googleapis.com"
AZURE_ARM = "https://management.azure.com"


class Unreachable(Exception):
    """The cloud API could not be asked (offline, no credentials): the check is skipped with this note."""


class ApiError(Exception):
    """The cloud API answered with an error (permission denied, unknown project): one line."""


@dataclass(frozen=True)
class JsonApi:
    base: str
    token: str
    timeout: float = 30.0

    def request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None) -> Any:
        url = self.base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        # No retries: a check that cannot reach its API is skipped at once (offline runs must not wait).
        http = Http(timeout=self.timeout, retries=0, user_agent="llmcloud-ops/0.1")
        try:
            with http.open(url, method, headers, data) as response:
                return json.loads(response.read() or b"{}")
        except FetchError as exc:
            if exc.status is None:
                raise Unreachable(f"{self.base} is not reachable ({str(exc).split(': ', 1)[-1]})") from None
            raise ApiError(f"{method} {self.base}{path}: HTTP {exc.status} {_message(exc)}") from None

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, params)

    def post(self, path: str, body: Any, params: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, params, body)


def _message(exc: FetchError) -> str:
    try:
        error = json.loads(exc.body or b"{}").get("error", {})
        return str(error.get("message") or exc).splitlines()[0][:300]
    except (ValueError, AttributeError):
        return str(exc)


def _cli(args: list[str]) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def gcp_token(env: dict[str, str] | None = None) -> str:
    """An OAuth access token: GOOGLE_OAUTH_ACCESS_TOKEN / CLOUDSDK_AUTH_ACCESS_TOKEN, else gcloud."""
    env = dict(os.environ) if env is None else env
    token = env.get("GOOGLE_OAUTH_ACCESS_TOKEN") or env.get("CLOUDSDK_AUTH_ACCESS_TOKEN")
    token = token or _cli(["gcloud", "auth", "application-default", "print-access-token"])
    if not token:
        raise Unreachable(
            "no Google access token (set GOOGLE_OAUTH_ACCESS_TOKEN or run `gcloud auth application-default login`)"
        )
    return token


def azure_token(env: dict[str, str] | None = None) -> tuple[str, str]:
    """(access token for management.azure.com, subscription id): AZURE_ACCESS_TOKEN and
    ARM_SUBSCRIPTION_ID / AZURE_SUBSCRIPTION_ID, else the az CLI's login."""
    env = dict(os.environ) if env is None else env
    token = env.get("AZURE_ACCESS_TOKEN") or _cli(
        [
            "az",
            "account",
            "get-access-token",
            "--resource",
            "https://management.azure.com/",
            "--query",
            "accessToken",
            "-o",
            "tsv",
        ]
    )
    subscription = (
        env.get("ARM_SUBSCRIPTION_ID")
        or env.get("AZURE_SUBSCRIPTION_ID")
        or _cli(["az", "account", "show", "--query", "id", "-o", "tsv"])
    )
    if not token or not subscription:
        raise Unreachable(
            "no Azure access token or subscription (run `az login`, or set AZURE_ACCESS_TOKEN and ARM_SUBSCRIPTION_ID)"
        )
    return token, subscription
