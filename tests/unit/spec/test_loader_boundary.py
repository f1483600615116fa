"""Issue 21's reproducers, kept as regression tests: each hostile stack file gives located one-line
errors and exit 2 (never a traceback), every problem of a file is reported in one run, and the
messages say what the user typed and what is allowed, in words."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

BASE = "extends: base.yaml\n"
POOL = "node_pools:\n  l4: {accelerator: L4}\n"

# (id, text after `extends: base.yaml`, fragment expected on a located line)
REPRODUCERS = [
    (
        "int-tag-bad",
        "node_pools:\n  l4: {accelerator: L4, max_nodes: !!int abc}\n",
        'node_pools.l4.max_nodes: !!int "abc" cannot be read as a whole number',
    ),
    ("bool-tag-bad", "protect_data: !!bool maybe\n", 'protect_data: !!bool "maybe" cannot be read as true or false'),
    ("timestamp-tag-bad", "expires_at: !!timestamp next-friday\n", "cannot be read as a date or time"),
    ("tag-on-key", "!!int abc: 1\n", "a key may not carry a YAML tag"),
    ("unknown-tag", "owner: !secret x\n", "unsupported YAML tag !secret"),
    ("set-tag", "labels: !!set {a, b}\n", "unsupported YAML tag tag:yaml.org,2002:set"),
    (
        "int-4301-digits",
        "node_pools:\n  l4: {accelerator: L4, max_nodes: " + "9" * 4301 + "}\n",
        "is out of range (a number of 4301 digits)",
    ),
    ("float-overflow", "budget: {monthly_usd: 1.0e+400}\n", "is not a finite number"),
    ("inf-in-usage", "usage: {stored_gb: .inf}\n", '".inf" is not a finite number'),
    ("nan-budget", "budget: {monthly_usd: .nan}\n", '".nan" is not a finite number'),
    ("merge-null", "node_pools:\n  l4: {<<: ~, accelerator: L4}\n", "cannot merge here"),
    ("merge-list-of-ints", "node_pools:\n  l4: {<<: [1, 2], accelerator: L4}\n", "cannot merge here"),
    ("year-9999-negative-offset", "expires_at: 9999-12-31T23:00:00-05:00\n", "is out of range"),
    (
        "bool-for-int",
        "node_pools:\n  l4: {accelerator: L4, max_nodes: true}\n",
        "node_pools.l4.max_nodes: expected a whole number, got true/false true",
    ),
    ("text-for-int", 'node_pools:\n  l4: {accelerator: L4, max_nodes: "2"}\n', "expected a whole number, got text '2'"),
    ("binary-value", "owner: !!binary aGVsbG8=\n", "binary data (!!binary) is not allowed"),
    ("duplicate-key", "owner: a\nowner: b\n", "duplicate key"),
    ("a100-by-meaning", "node_pools:\n  l4: {accelerator: A100}\n", "(did you mean A100-40GB or A100-80GB?)"),
    ("h100-80gb-by-meaning", "node_pools:\n  l4: {accelerator: H100-80GB}\n", "(did you mean H100?)"),
    ("auth-null-no-guess", "gateway: {auth: null}\n", "null is not allowed (an empty value or null means nothing"),
    ("domain-in-words", "gateway: {domain: Not_A_Domain}\n", "allowed: a lowercase host name such as api.example.com"),
    ("ttl-in-words", "ttl: 8 hours\n", "a number from 1 to 9999 followed by m (minutes), h (hours)"),
    (
        "tensor-parallel-fraction",
        POOL + "models:\n  m: {source: hf://a/b, node_pool: l4, tensor_parallel: 1.5}\n",
        "models.m.tensor_parallel: expected a whole number or auto, got a number 1.5",
    ),
    ("version-as-written", "cluster: {kubernetes_version: 1.30}\n", 'YAML read 1.30 as a number 1.3: quote it, "1.30"'),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in REPRODUCERS], ids=[c[0] for c in REPRODUCERS])
def test_reproducer_is_a_located_one_line_error(cli, write_stack, text, fragment):
    file = write_stack(BASE + text)
    result = cli("validate", file)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    here = re.escape(str(file.parent))
    located = [ln for ln in result.stderr.splitlines() if re.match(rf"^{here}/\S+:\d+:\d+: ", ln)]
    assert any(fragment in ln for ln in located), (fragment, result.stderr)
    assert not any(re.search(r"\^\(|\[a-z|\\d|pattern ", ln) for ln in located), "a raw regex in a message"
    assert "did you mean none" not in result.stderr


def test_regex_never_shown_for_any_pattern_field(cli, write_stack):
    file = write_stack(
        BASE + "ttl: x\ngateway: {domain: X}\ngcp: {project: P}\nenvironment: Dev\n"
        "node_pools:\n  l4: {accelerator: L4, tpu_topology: q}\n"
    )
    result = cli("validate", file)
    assert result.exit_code == 2
    assert "^" not in result.stderr and "pattern" not in result.stderr, result.stderr


def test_every_problem_at_once_including_cross_field(cli, write_stack):
    """A field error no longer hides the cross-field ones: one run shows both."""
    file = write_stack(
        BASE + "node_pools:\n  l4: {accelerator: L4, spot: maybe}\n  t4: {accelerator: T4}\n"
        "models:\n  m: {source: hf://a/b, node_pool: nope}\n"
        "  n: {source: hf://a/b, node_pool: l4, replicas: {min: 3, max: 2}}\n"
        "usage: {stored_gb: .inf}\n"
    )
    result = cli("validate", file)
    assert result.exit_code == 2
    err = result.stderr
    assert "node_pools.l4.spot: expected true or false" in err
    assert "models.m.node_pool: no node pool named 'nope'" in err
    assert "replicas.min (3) is greater than replicas.max (2)" in err
    assert "usage.stored_gb" in err
    assert "required key is missing" not in err  # left-out values are not reported twice


def test_no_cross_field_error_invented_by_a_left_out_value(cli, write_stack):
    """The pool's bad value is reported; the model on that pool is not blamed for it."""
    file = write_stack(BASE + "node_pools:\n  l4: {accelerator: L5}\nmodels:\n  m: {source: hf://a/b, node_pool: l4}\n")
    result = cli("validate", file)
    assert result.exit_code == 2
    assert "'L5' is not allowed" in result.stderr
    assert "no node pool named" not in result.stderr
    assert "1 problem found" in result.stderr


def test_cloud_checks_run_on_the_partial_stack(cli, write_stack):
    """A field error and a cloud error (an accelerator gcp does not offer) in one run."""
    file = write_stack(BASE + "owner: !!int x\nnode_pools:\n  inf: {accelerator: Inferentia2}\n")
    result = cli("validate", file)
    assert result.exit_code == 2
    assert "owner:" in result.stderr and "Inferentia2 is not offered on gcp" in result.stderr


def test_json_failure_is_json_on_stdout_with_the_same_exit_code(cli, write_stack):
    file = write_stack(BASE + "node_pools:\n  l4: {accelerator: L5, max_node: 2}\n")
    text = cli("validate", file)
    result = cli("validate", file, "--json")
    assert result.exit_code == text.exit_code == 2
    payload = json.loads(result.stdout)
    assert [e["path"] for e in payload["errors"]] == ["node_pools.l4.accelerator", "node_pools.l4.max_node"]
    first = payload["errors"][0]
    assert set(first) == {"file", "line", "column", "path", "message"}
    assert first["file"] == str(file) and first["line"] == 3 and first["column"] > 1
    assert "did you mean L4" in first["message"]
    assert result.stderr  # people still see the lines


@pytest.mark.parametrize(
    "args",
    [
        ["preview", "nope", "--offline", "--json"],
        ["cost", "nope", "--json"],
        ["validate", "dev", "--cloud", "AWS", "--json"],
        ["preview", "dev", "--offline", "--json", "--budget", "nan"],
    ],
)
def test_json_failures_of_other_commands(cli, monkeypatch, args):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    result = cli(*args)
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["errors"] and payload["errors"][0]["message"]


def test_cloud_option_typo_blames_the_option_not_the_file(cli, write_stack):
    file = write_stack(BASE)
    result = cli("validate", file, "--cloud", "AWS")
    assert result.exit_code == 2
    assert "--cloud: unknown cloud 'AWS' (did you mean aws?)" in result.stderr
    assert "base.yaml" not in result.stderr


def test_extends_stays_inside_the_repository_and_never_prints_another_file(cli, write_stack, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("root:x:0:0:secret-line-content:/root:/bin/bash\nother_key: 1\n")
    for ref in (str(outside), "../outside.yaml", "/etc/passwd", "/etc/shadow"):
        file = write_stack(f"extends: {ref}\n")
        result = cli("validate", file)
        assert result.exit_code == 2, (ref, result.stderr)
        assert "secret-line-content" not in result.stderr and "other_key" not in result.stderr
        assert "root:x" not in result.stderr
        assert "outside the repository" in result.stderr or "is not a stack file" in result.stderr


def test_extends_root_can_be_allowed(cli, write_stack, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "team.yaml").write_text((file_base := write_stack(BASE)).parent.joinpath("base.yaml").read_text())
    file = file_base
    file.write_text(f"extends: {shared / 'team.yaml'}\nowner: team-a\n")
    assert "outside the repository" in cli("validate", file).stderr
    monkeypatch.setenv("LLMCLOUD_EXTENDS_ROOTS", str(shared))
    result = cli("validate", file)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ('"base\\0.yaml"', "contains a control character"),
        ("a" * 300 + ".yaml", "305 bytes long"),
        ("base.txt", "is not a stack file"),
        ("[base.yaml]", "must be a file name"),
    ],
)
def test_extends_names_are_checked_before_the_file_system(cli, write_stack, ref, fragment):
    file = write_stack(f"extends: {ref}\n")
    result = cli("validate", file)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


def test_two_file_extends_loop_names_both_files(cli, write_stack):
    write_stack("extends: dev.yaml\n", name="base")
    child = write_stack("extends: base.yaml\n")
    result = cli("validate", child)
    assert result.exit_code == 2
    assert "extends cycle: dev.yaml → base.yaml → dev.yaml" in result.stderr


def test_fifo_is_refused_without_blocking(cli, tmp_path):
    fifo = tmp_path / "dev.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    result = cli("validate", fifo)
    assert result.exit_code == 2
    assert "is a FIFO (named pipe), not a stack file" in result.stderr
    assert "not found" not in result.stderr
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_devices_are_refused(cli, device):
    result = cli("validate", device)
    assert result.exit_code == 2 and "is a device, not a stack file" in result.stderr


def test_large_file_is_refused_before_it_is_read(cli, tmp_path):
    """A sparse 2 GiB file: refused from its size, never read whole."""
    big = tmp_path / "dev.yaml"
    with big.open("wb") as f:
        f.truncate(2 * 1024**3)
    start = time.process_time()  # CPU seconds: reading 2 GiB would show; a busy machine would not
    result = cli("validate", big)
    assert result.exit_code == 2
    assert "larger than the 1048576 bytes" in result.stderr
    assert time.process_time() - start < 2


@pytest.mark.parametrize("name", ["dev\0", "x" * 2000, "dev\n"])
def test_stack_names_are_checked_before_the_file_system(cli, name):
    result = cli("validate", name)
    assert result.exit_code == 2
    assert "the stack name" in result.stderr


def test_stack_names_resolve_from_any_directory_in_the_repository(cli, monkeypatch):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(repo / "components" / "spec")
    result = cli("validate", "dev")
    assert result.exit_code == 0, result.stderr
    assert "stacks/dev.yaml is valid" in result.stdout


@pytest.mark.parametrize(
    "body, expected",
    [
        # an unquoted date is a YAML date: shown as written, never as Python's datetime.date(2026, 12, 1)
        (
            "gcp: {maintenance_exclusions: [{name: a, start: 2026-12-01, end: end_of_support}]}",
            "gcp.maintenance_exclusions[0].start: expected a date and time (ISO 8601, e.g. 2026-12-01T18:00:00Z) "
            "or text, got a date 2026-12-01",
        ),
        # patterns in words, not a regular expression or "see the schema"
        (
            "node_pools: {l4: {accelerator: L4, max_nodes: 1, reservation: 'projects/x/reservations/'}}",
            "allowed: a Compute Engine reservation name",
        ),
        (
            "node_pools: {l4: {accelerator: L4, max_nodes: 1, capacity_reservation: cr-1}}",
            "allowed: an EC2 capacity reservation id (cr- and 17 hexadecimal digits)",
        ),
    ],
)
def test_new_fields_explain_themselves(cli, write_stack, body, expected):
    path = write_stack(f"extends: base.yaml\n{body}\n")
    result = cli("validate", path)
    assert result.exit_code == 2 and expected in result.stderr, result.stderr
    assert "datetime." not in result.stderr and "format the field's description gives" not in result.stderr
