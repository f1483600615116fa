"""Literal credentials in a stack file: found wherever they are (keys, values, comments, decoded
`!!binary`), refused, and never echoed.

The shapes are the vendors' published token formats, as the maintained scanners recognise them
(detect-secrets' plugins, bc-detect-secrets 1.5.52: AWS, Azure storage, GitHub, JWT, npm, private
keys, Slack, Stripe, SendGrid, basic auth; gitleaks' rules for the formats detect-secrets lacks:
`github_pat_`, GitLab, Hugging Face, OpenAI, Google API keys and OAuth tokens, bare Azure account
keys). They are compiled here, not imported from those libraries, because the scan runs on every
`validate` and the CLI must start fast; tests/unit/spec/test_secret_scanner.py runs detect-secrets'
own plugins over the same corpus and fails if it flags anything this module does not.
Checked 2026-12-01 against bc-detect-secrets 1.5.52 (detect_secrets/plugins/*.py) and the formats
documented by GitHub (github_pat_, gh*_), Slack (xox*), Stripe (sk_/rk_live_), AWS (AKIA/ASIA ids,
40-character secret keys), Azure (64-byte account keys, base64 with ==).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

# (name, pattern). The name goes into the message; the match itself never does.
SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("a Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    ("an OpenAI-style API key", re.compile(r"sk-[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id", re.compile(r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}")),
    ("a Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
    ("a Google OAuth access token", re.compile(r"ya29\.[0-9A-Za-z_-]{20,}")),
    ("a GitHub token", re.compile(r"(?:gh[pousr]_[A-Za-z0-9_]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a GitLab token", re.compile(r"gl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"xox[abposre]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook", re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}")),
    ("a Stripe secret key", re.compile(r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}")),
    ("a SendGrid API key", re.compile(r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("an npm token", re.compile(r"npm_[A-Za-z0-9]{36}")),
    ("a JSON web token", re.compile(r"eyJ[A-Za-z0-9_=-]{8,}\.[A-Za-z0-9_=-]{8,}\.?[A-Za-z0-9_.+/=-]*")),
    ("a private key", re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")),
    ("an Azure storage key", re.compile(r"(?i)AccountKey=[A-Za-z0-9+/=]{20,}")),
    ("an Azure shared access signature", re.compile(r"(?i)\bsig=[A-Za-z0-9%+/=]{30,}")),
    ("an Azure account key", re.compile(r"(?<![A-Za-z0-9+])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")),
    ("a password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s/:@\"']{1,64}:[^\s/@\"']{3,}@")),
    ("a Databricks token", re.compile(r"dapi[0-9a-f]{32}")),
]

# An AWS secret access key is 40 characters of base64 with no prefix: only a random-looking run of
# exactly 40 (mixed case and digits, high entropy) counts, so names and paths do not. It may contain
# "/", so inside a longer run (s3://bucket/<key>) any 40 between slashes (or the run's ends) count.
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}")


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _aws_secret(candidate: str) -> bool:
    return (
        any(c.islower() for c in candidate)
        and any(c.isupper() for c in candidate)
        and any(c.isdigit() for c in candidate)
        and _entropy(candidate) >= 4.0
    )


MIN_LENGTH = 15  # the shortest shape above (a Slack token) is longer: shorter text is never scanned


def find(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, what) of every credential-shaped run in `text`."""
    if len(text) < MIN_LENGTH:
        return
    for what, pattern in SHAPES:
        for m in pattern.finditer(text):
            yield m.start(), m.end(), what
    for m in _B64_RUN.finditer(text):
        run, base = m.group(), m.start()
        if base > 0 and text[base - 1] == "=":
            continue  # the tail of a longer base64 value (key=...)
        for i in range(len(run) - 39):
            j = i + 40
            if (i == 0 or run[i - 1] == "/") and (j == len(run) or run[j] == "/") and _aws_secret(run[i:j]):
                if j < len(text) - base and text[base + j : base + j + 1] == "=":
                    continue
                yield base + i, base + j, "an AWS secret access key"


def first(text: str) -> str | None:
    """What the first credential in `text` looks like (e.g. "a GitHub token"), or None."""
    return next((what for _, _, what in find(text)), None)


def looks_secret(text: str) -> bool:
    return first(text) is not None


def redact(text: str) -> str:
    """`text` with every credential-shaped run replaced by [redacted]."""
    spans = sorted((s, e) for s, e, _ in find(text))
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        if start < last:  # overlapping matches: extend the current redaction
            if end > last:
                last = end
            continue
        out.append(text[last:start] + "[redacted]")
        last = end
    return "".join(out) + text[last:]


__all__ = ["SHAPES", "find", "first", "looks_secret", "redact"]
