"""Broken stack files: each gives one clear line FILE:LINE:COL: path: problem; allowed, and exit code 2."""

from __future__ import annotations

import re

import pytest

GOOD = """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    max_nodes: 2
models:
  llama:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: l4
    max_model_len: 8192
"""

# (id, stack text, expected line, dotted path, message fragment, extra CLI args)
CASES = [
    (
        "unknown-top-key",
        """
extends: base.yaml
node_pool:
  l4: {accelerator: L4}
""",
        2,
        "node_pool",
        "unknown key 'node_pool' (did you mean node_pools?)",
        [],
    ),
    (
        "unknown-nested-key",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    max_node: 2
""",
        5,
        "node_pools.l4.max_node",
        "unknown key 'max_node' (did you mean max_nodes?)",
        [],
    ),
    (
        "wrong-type-int",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    max_nodes: two
""",
        5,
        "node_pools.l4.max_nodes",
        "expected a whole number, got text 'two'",
        [],
    ),
    (
        "wrong-type-bool",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    spot: sometimes
""",
        5,
        "node_pools.l4.spot",
        "expected true or false",
        [],
    ),
    (
        "bad-accelerator",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L5
""",
        4,
        "node_pools.l4.accelerator",
        "'L5' is not allowed (did you mean L4?)",
        [],
    ),
    (
        "accelerator-case",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: l4
""",
        4,
        "node_pools.l4.accelerator",
        "(did you mean L4?)",
        [],
    ),
    (
        "accelerator-not-on-cloud",
        """
extends: base.yaml
node_pools:
  inf:
    accelerator: Inferentia2
""",
        4,
        "node_pools.inf.accelerator",
        "Inferentia2 is not offered on gcp (Inferentia and Trainium exist only on AWS)",
        [],
    ),
    (
        "accelerator-not-in-region",
        """
extends: base.yaml
gcp: {project: llmcloud-demo, region: asia-southeast1}
node_pools:
  tpu:
    accelerator: TPU-v6e
    accelerators_per_node: 4
""",
        5,
        "node_pools.tpu.accelerator",
        "TPU-v6e is not offered in asia-southeast1",
        [],
    ),
    (
        "unknown-region",
        """
extends: base.yaml
gcp: {project: llmcloud-demo, region: us-central9}
""",
        2,
        "gcp.region",
        "'us-central9' is not a gcp region llmcloud knows (did you mean us-central1?)",
        [],
    ),
    (
        "missing-pool",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4, max_nodes: 2}
models:
  llama:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: l-4
""",
        7,
        "models.llama.node_pool",
        "no node pool named 'l-4' (did you mean l4?)",
        [],
    ),
    (
        "min-greater-than-max",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    min_nodes: 3
    max_nodes: 2
""",
        5,
        "node_pools.l4.min_nodes",
        "min_nodes (3) is greater than max_nodes (2)",
        [],
    ),
    (
        "replicas-min-greater-than-max",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4, max_nodes: 4}
models:
  llama:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: l4
    replicas: {min: 3, max: 2}
""",
        8,
        "models.llama.replicas.min",
        "replicas.min (3) is greater than replicas.max (2)",
        [],
    ),
    (
        "tensor-parallel-too-big",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4, accelerators_per_node: 2, max_nodes: 2}
models:
  llama:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: l4
    tensor_parallel: 4
""",
        8,
        "models.llama.tensor_parallel",
        "tensor_parallel 4 exceeds the 2 accelerators per node of pool l4",
        [],
    ),
    (
        "malformed-yaml",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4
models: {}
""",
        4,
        "(root)",
        "invalid YAML",
        [],
    ),
    ("empty-file", "", 1, "(root)", "the file is empty", []),
    (
        "list-instead-of-map",
        """
extends: base.yaml
node_pools:
  - accelerator: L4
""",
        3,
        "node_pools",
        "expected a map, got a list",
        [],
    ),
    (
        "scalar-root",
        """
just a string
""",
        1,
        "(root)",
        "the top level is text, not a map",
        [],
    ),
    (
        "duplicate-key",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4}
  l4: {accelerator: T4}
""",
        4,
        "node_pools.l4",
        "duplicate key",
        [],
    ),
    (
        "literal-token",
        """
extends: base.yaml
models:
  llama:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: l4
    hf_token_env: hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789
node_pools:
  l4: {accelerator: L4}
""",
        6,
        "models.llama.hf_token_env",
        "looks like a literal secret",
        [],
    ),
    (
        "bad-source-scheme",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4}
models:
  llama:
    source: ftp://example.com/model
    node_pool: l4
""",
        6,
        "models.llama.source",
        "'ftp://example.com/model' is not valid",
        [],
    ),
    (
        "bad-pool-name",
        """
extends: base.yaml
node_pools:
  L4_Pool: {accelerator: L4}
""",
        3,
        "node_pools.L4_Pool",
        "'L4_Pool' is not a valid name",
        [],
    ),
    (
        "unquoted-version",
        """
extends: base.yaml
cluster:
  kubernetes_version: 1.30
""",
        3,
        "cluster.kubernetes_version",
        'YAML read 1.30 as a number 1.3: quote it, "1.30"',
        [],
    ),
    (
        "count-not-offered",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    accelerators_per_node: 3
""",
        5,
        "node_pools.l4.accelerators_per_node",
        "no gcp machine carries 3 × L4",
        [],
    ),
    (
        "machine-type-mismatch",
        """
extends: base.yaml
node_pools:
  l4:
    accelerator: L4
    machine_type: {gcp: a2-highgpu-1g}
""",
        5,
        "node_pools.l4.machine_type.gcp",
        "a2-highgpu-1g does not carry L4",
        [],
    ),
    (
        "tpu-topology-not-multiple",
        """
extends: base.yaml
gcp: {project: llmcloud-demo, region: us-west4}
node_pools:
  tpu:
    accelerator: TPU-v5e
    accelerators_per_node: 4
    tpu_topology: "3x3"
    max_nodes: 4
""",
        7,
        "node_pools.tpu.tpu_topology",
        "3x3 has 9 chips, not a multiple of the 4 chips",
        [],
    ),
    (
        "multihost-wrong-size",
        """
extends: base.yaml
gcp: {project: llmcloud-demo, region: us-west4}
node_pools:
  tpu:
    accelerator: TPU-v5e
    accelerators_per_node: 4
    tpu_topology: "4x4"
    max_nodes: 2
""",
        8,
        "node_pools.tpu.max_nodes",
        "a 4x4 slice of ct5lp-hightpu-4t has 4 hosts",
        [],
    ),
    (
        "bucket-reference",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4}
models:
  llama:
    source: bucket://weigths/llama
    node_pool: l4
""",
        6,
        "models.llama.source",
        "no bucket named 'weigths' (did you mean weights?)",
        [],
    ),
    (
        "zone-not-in-region",
        """
extends: base.yaml
gcp: {project: llmcloud-demo, region: us-central1, zones: [us-east1-b]}
""",
        2,
        "gcp.zones[0]",
        "'us-east1-b' is not a zone of us-central1",
        [],
    ),
    (
        "no-gcp-block-for-gcp",
        """
cloud: gcp
node_pools:
  l4: {accelerator: L4}
""",
        1,
        "gcp",
        "the target cloud is gcp but the stack has no gcp: block",
        [],
    ),
    (
        "negative-min",
        """
extends: base.yaml
node_pools:
  l4: {accelerator: L4, min_nodes: -1}
""",
        3,
        "node_pools.l4.min_nodes",
        "-1 is out of range; allowed: ≥ 0",
        [],
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "path", "fragment", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_stack_file_reports_line_path_and_exit_2(cli, write_stack, text, line, path, fragment, extra):
    file = write_stack(text)
    result = cli("validate", file, *extra)
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert "Traceback" not in err
    pattern = rf"^{re.escape(str(file))}:{line}:\d+: {re.escape(path)}: .*"
    lines = [ln for ln in err.splitlines() if re.match(pattern, ln)]
    assert lines, f"no line for {file}:{line} {path} in:\n{err}"
    assert any(fragment in ln for ln in lines), f"{fragment!r} not in {lines}"
    assert "nothing was created" in err
    assert result.stdout == ""


def test_good_stack_validates(cli, write_stack):
    file = write_stack(GOOD)
    result = cli("validate", file)
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout


def test_every_error_reported_at_once(cli, write_stack):
    file = write_stack("""
extends: base.yaml
node_pools:
  l4:
    accelerator: L5
    max_node: 3
    spot: maybe
""")
    result = cli("validate", file)
    assert result.exit_code == 2
    assert "3 problems found" in result.stderr
    reported = [ln.split(": ")[1] for ln in result.stderr.splitlines() if ln.startswith(str(file))]
    assert reported == ["node_pools.l4.accelerator", "node_pools.l4.max_node", "node_pools.l4.spot"]


def test_error_in_base_file_points_into_base(cli, write_stack):
    base = write_stack(
        """
cloud: gcp
gcp: {project: llmcloud-demo}
node_pools:
  l4: {accelerator: L4, max_nodez: 2}
""",
        name="base",
    )
    child = write_stack("extends: base.yaml\n")
    result = cli("validate", child)
    assert result.exit_code == 2
    assert f"{base}:4:" in result.stderr
    assert "node_pools.l4.max_nodez" in result.stderr


def test_extends_cycle_is_an_error(cli, write_stack):
    write_stack("extends: dev.yaml\n", name="base")
    child = write_stack("extends: base.yaml\n")
    result = cli("validate", child)
    assert result.exit_code == 2
    assert "cycle" in result.stderr


def test_missing_stack_names_known_ones(cli, tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.yaml").write_text("cloud: gcp\n")
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "dve")
    assert result.exit_code == 2
    assert "stack file not found (did you mean dev?)" in result.stderr
    assert "known stacks in stacks: dev" in result.stderr


def test_literal_token_is_never_echoed(cli, write_stack):
    token = "hf_SentinelSentinelSentinelSentinel0042"
    file = write_stack(f"""
extends: base.yaml
labels: {{note: "{token}"}}
""")
    result = cli("validate", file)
    assert result.exit_code == 2
    assert token not in result.output and token not in result.stderr


def test_odd_keys_are_quoted_so_each_error_stays_one_line(cli, write_stack):
    file = write_stack('extends: base.yaml\n"a\\nb": 1\n"x.y": 2\n')
    result = cli("validate", file)
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(str(file))]
    assert len(lines) == 2
    assert any(': ["a\\nb"]: unknown key' in ln for ln in lines)
    assert any(': ["x.y"]: unknown key' in ln for ln in lines)
