"""The one HTTP client of llmcloud (price refresh, preflight, leftovers): standard library only, so the
CLI stays light.

A timeout on every request, a User-Agent, and retries with exponential backoff on 429 and 5xx (and on
connection errors), honouring Retry-After. Tests inject an `Http` with `backoff=0`, pointed at a local
server that serves recorded responses.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import IO, Any

USER_AGENT = "llmcloud-prices-refresh/0.1 (+https://github.com/llmcloud)"  # the default: the price refresh
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_SECRET_QUERY = re.compile(r"(?i)\b(key|api[-_]?key|token)=[^&\s]+")


class FetchError(Exception):
    """An API could not be read; the message is one line and safe to print. `status` is the HTTP status
    (None when nothing answered) and `body` what the server said."""

    def __init__(self, message: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def safe_url(url: str) -> str:
    """The URL with API keys masked, for messages."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", url)


@dataclass(frozen=True)
class Http:
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    user_agent: str = USER_AGENT

    def open(
        self, url: str, method: str = "GET", headers: dict[str, str] | None = None, data: bytes | None = None
    ) -> IO[bytes]:
        """A streaming response body (the caller closes it)."""
        all_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", **(headers or {})}
        request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        for attempt in range(self.retries + 1):
            try:
                return urllib.request.urlopen(request, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUS or attempt == self.retries:
                    raise FetchError(
                        f"{safe_url(url)}: HTTP {exc.code} {exc.reason}", exc.code, exc.read() or b""
                    ) from None
                self._wait(attempt, exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.retries:
                    reason = getattr(exc, "reason", exc)
                    raise FetchError(f"{safe_url(url)}: {reason}") from None
                self._wait(attempt, None)
        raise AssertionError("unreachable")

    def json(self, url: str) -> Any:
        with self.open(url) as body:
            data = body.read()
        try:
            return json.loads(data)
        except ValueError:
            raise FetchError(f"{safe_url(url)}: the response is not JSON") from None

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 60.0)) if self.backoff else 0.0
        time.sleep(delay)
