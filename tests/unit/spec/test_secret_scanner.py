"""Literal credentials: every vendor shape, in every place a stack file can hold text, is refused with
exit 2 and never echoed (stdout, stderr, --json), and the scanner flags at least what detect-secrets'
own plugins (bc-detect-secrets, the maintained fork checkov uses) flag in the same text."""

from __future__ import annotations

import base64
import json

import pytest
from llmcloud.components.spec import secrets

# Built from pieces so that this file itself does not trip secret scanners on the repository.
# Each is the documented shape of the vendor's token, with made-up characters.
R40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3kL9vT2m"  # 40 characters: an AWS secret access key's shape
TOKENS = {
    "huggingface": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "openai": "sk-" + "proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123",
    "aws-key-id": "AKIA" + "Z7QH3KX2M9LPR4TV",
    "aws-secret": R40,
    "google-api": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
    "github-classic": "ghp_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "github-fine-grained": "github_pat_"
    + "11ABCDEFG0"
    + "a1B2c3D4e5F6g7H8i9J0k1_"
    + "L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6a7B8c9D0e1F2g3H4i5J6k7L8m9N0o1P",
    "gitlab": "glpat-" + "AbCdEfGhIjKlMnOpQrSt",
    "slack-bot": "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9"
    + "."
    + "eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + "."
    + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private-key": "-----BEGIN RSA " + "PRIVATE KEY-----",
    "azure-conn": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "A" * 20 + "b1c2d3e4f5g6h7i8j9k0==",
    "azure-bare-key": "Zm9vYmFy" * 10 + "QUJDREVGR0hJSktMTU4=="[:6] + "==",
    "sendgrid": "SG." + "AbCdEfGhIjKlMnOpQrStUv" + "." + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg",
}
assert len(TOKENS["azure-bare-key"]) == 88
# What must never be shown: the token, except for a connection string whose secret is its AccountKey
SECRET_PART = {**TOKENS, "azure-conn": TOKENS["azure-conn"].split("AccountKey=")[1]}


def test_every_shape_is_recognised_and_redacted():
    for name, token in TOKENS.items():
        assert secrets.looks_secret(token), name
        redacted = secrets.redact(f"before {token} after")
        assert token not in redacted and "[redacted]" in redacted, name
        assert redacted.startswith("before ") and redacted.endswith(" after"), name


def test_ordinary_values_are_not_secrets():
    for text in [
        "meta-llama/Llama-3.1-8B-Instruct",
        "hf://Qwen/Qwen2.5-7B-Instruct",
        "us-central1",
        "203.0.113.0/24",
        "g2-standard-4",
        "0123456789abcdef0123456789abcdef01234567",  # a git SHA (hex only)
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/x",
        "vllm/vllm-openai@sha256:" + "0" * 64,
        "api.example.com",
        "HF_TOKEN",
        "llmcloud-demo",
    ]:
        assert not secrets.looks_secret(text), text


# Where a token can hide in a stack file: (place, template). {t} is the token.
PLACES = {
    "label-value": 'labels: {{note: "{t}"}}\n',
    "label-key": 'labels: {{"{t}": x}}\n',
    "top-key": '"{t}": 1\n',
    "model-name": 'models:\n  "{t}": {{source: "hf://a/b", node_pool: l4}}\n',
    "model-source": 'models:\n  m: {{source: "hf://org/{t}", node_pool: l4}}\n',
    "hf-token-env": 'models:\n  m: {{source: "hf://a/b", node_pool: l4, hf_token_env: "{t}"}}\n',
    "comment": "# deploy with {t}\n",
    "trailing-comment": "cloud: gcp  # {t}\n",
    "block-scalar": "owner: |\n  {t}\n",
    "extends": 'extends: "{t}.yaml"\n',
    "escaped": 'owner: "{escaped}"\n',
    "binary": "owner: !!binary {b64}\n",
    "backend": 'backend: "s3://{t}"\n',
    "list-item": 'cluster: {{authorized_networks: ["{t}"]}}\n',
}


def _document(place: str, token: str) -> str:
    escaped = "".join(f"\\x{ord(c):02x}" for c in token)
    b64 = base64.b64encode(token.encode()).decode()
    body = PLACES[place].format(t=token, escaped=escaped, b64=b64)
    head = "" if place == "extends" else "extends: base.yaml\n"
    pools = "node_pools:\n  l4: {accelerator: L4}\n" if place.startswith("model") or place == "hf-token-env" else ""
    return head + pools + body


def _assert_hidden(name: str, place: str, *texts: str) -> None:
    secret = SECRET_PART[name]
    for text in texts:
        assert secret not in text, (name, place, text)
        # no long piece of it either (a prefix next to its own redaction)
        assert secret[-16:] not in text and secret[4:20] not in text, (name, place, text)


@pytest.mark.parametrize("place", sorted(PLACES))
def test_every_token_in_every_place_is_refused_in_process(write_stack, place):
    """15 shapes × 14 places through the loader and the resolver, as the CLI renders them."""
    from llmcloud.components.resolve import resolve
    from llmcloud.components.spec import StackErrors, load_stack

    for name, token in TOKENS.items():
        file = write_stack(_document(place, token))
        with pytest.raises(StackErrors) as info:
            resolve(load_stack(str(file)))
        rendered = info.value.render()
        _assert_hidden(name, place, rendered, json.dumps(info.value.to_json()))
        assert "looks like a literal secret" in rendered or place == "extends", (name, place, rendered)


CLI_CASES = sorted(
    {("github-fine-grained", p) for p in PLACES} | {(t, "label-key") for t in TOKENS} | {(t, "comment") for t in TOKENS}
)


@pytest.mark.parametrize(("name", "place"), CLI_CASES)
def test_token_is_never_echoed_by_the_cli(cli, write_stack, name, place):
    file = write_stack(_document(place, TOKENS[name]))
    result = cli("validate", file, "--json")
    assert result.exit_code == 2, (name, place, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    _assert_hidden(name, place, result.stdout, result.stderr)
    payload = json.loads(result.stdout)
    assert payload["errors"] and all(set(e) == {"file", "line", "column", "path", "message"} for e in payload["errors"])


def test_token_in_labels_never_becomes_a_tag(write_stack):
    from llmcloud.components.spec import StackErrors, load_stack

    file = write_stack(f'extends: base.yaml\nlabels: {{"{TOKENS["github-classic"]}": x}}\n')
    with pytest.raises(StackErrors) as info:
        load_stack(str(file))
    assert any("looks like a literal secret" in e.message for e in info.value.errors)


def test_detect_secrets_finds_nothing_we_miss():
    """Cross-check with the maintained detector library, where it is installed (the test extra)."""
    pytest.importorskip("detect_secrets")
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.stripe import StripeDetector

    plugins = [
        AWSKeyDetector(),
        AzureStorageKeyDetector(),
        GitHubTokenDetector(),
        JwtTokenDetector(),
        PrivateKeyDetector(),
        SendGridDetector(),
        SlackDetector(),
        StripeDetector(),
    ]
    lines = [f"value: {t}" for t in TOKENS.values()] + [f"aws_secret_access_key = {R40}"]
    flagged_by_them = 0
    for line in lines:
        theirs = [s for p in plugins for s in p.analyze_line(filename="stack.yaml", line=line, line_number=1)]
        if theirs:
            flagged_by_them += 1
            assert secrets.looks_secret(line), f"detect-secrets flags {line[:12]}..., llmcloud does not"
    assert flagged_by_them >= 7  # the library recognises most of the corpus: the comparison means something
