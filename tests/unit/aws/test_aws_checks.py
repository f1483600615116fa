"""AWS validation: a stack that asks for what AWS (or the region) does not have fails before anything
runs, with FILE:LINE:COL: path: problem; allowed, and exit code 2."""

from __future__ import annotations

import re

import pytest
from llmcloud.components import catalog, resolve
from llmcloud.components.aws.checks import check
from llmcloud.components.catalog import Price
from llmcloud.components.spec import StackErrors, load_stack

# (id, stack text, expected line, dotted path, message fragment): resolve's generic catalog checks
GENERIC = [
    (
        "tpu-on-aws",
        """
extends: base.yaml
cloud: aws
node_pools:
  p:
    accelerator: TPU-v5e
""",
        5,
        "node_pools.p.accelerator",
        "TPU-v5e is not offered on aws (AWS offers no TPUs",
    ),
    (
        "accelerator-not-in-region",
        """
extends: base.yaml
cloud: aws
aws: {region: eu-west-1}
node_pools:
  p:
    accelerator: L4
""",
        6,
        "node_pools.p.accelerator",
        "L4 is not offered in eu-west-1",
    ),
    (
        "instance-type-without-the-accelerator",
        """
extends: base.yaml
cloud: aws
node_pools:
  p:
    accelerator: L4
    machine_type: {aws: g5.xlarge}
""",
        6,
        "node_pools.p.machine_type.aws",
        "g5.xlarge does not carry L4",
    ),
    (
        "count-not-offered",
        """
extends: base.yaml
cloud: aws
node_pools:
  p:
    accelerator: L4
    accelerators_per_node: 2
""",
        6,
        "node_pools.p.accelerators_per_node",
        "no aws machine carries 2 × L4",
    ),
    (
        "spot-impossible",
        """
extends: base.yaml
cloud: aws
aws: {region: us-east-2}
node_pools:
  p:
    accelerator: Trainium2
    accelerators_per_node: 16
    spot: true
""",
        8,
        "node_pools.p.spot",
        "trn2.48xlarge cannot run as spot on aws",
    ),
    (
        "az-does-not-exist",
        """
extends: base.yaml
cloud: aws
aws:
  region: us-east-1
  zones: [use1-az1, us-east-1a]
node_pools:
  p: {accelerator: L4}
""",
        5,
        "aws.zones[1]",
        "'us-east-1a' is not a zone of us-east-1",
    ),
    (
        "unknown-region",
        """
extends: base.yaml
cloud: aws
aws: {region: us-east-9}
""",
        3,
        "aws.region",
        "'us-east-9' is not a aws region llmcloud knows",
    ),
    (
        "cpu-type-unknown",
        """
extends: base.yaml
cloud: aws
node_pools:
  cpu: {accelerator: none, machine_type: {aws: m5.xlarge}}
""",
        4,
        "node_pools.cpu.machine_type.aws",
        "'m5.xlarge' is not a CPU machine type in the aws catalog",
    ),
]


@pytest.mark.parametrize(("text", "line", "path", "fragment"), [c[1:] for c in GENERIC], ids=[c[0] for c in GENERIC])
def test_aws_stack_errors_exit_2_with_file_line_and_path(cli, write_stack, text, line, path, fragment):
    file = write_stack(text)
    result = cli("validate", file)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    pattern = rf"^{re.escape(str(file))}:{line}:\d+: {re.escape(path)}: .*"
    lines = [ln for ln in result.stderr.splitlines() if re.match(pattern, ln)]
    assert lines, f"no line for {file}:{line} {path} in:\n{result.stderr}"
    assert any(fragment in ln for ln in lines), f"{fragment!r} not in {lines}"
    assert result.stdout == ""


def test_cloud_flag_targets_aws_with_the_same_file(cli, write_stack):
    file = write_stack("""
extends: base.yaml
node_pools:
  p: {accelerator: TPU-v5e}
""")
    assert cli("validate", file).exit_code == 0  # gcp by default
    result = cli("validate", file, "--cloud", "aws")
    assert result.exit_code == 2
    assert "node_pools.p.accelerator: TPU-v5e is not offered on aws" in result.stderr
    assert "Inferentia2, L4, L40S, T4, Trainium1, Trainium2" in result.stderr  # what aws offers


def test_example_stack_is_valid(cli):
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "stacks" / "aws-example.yaml"
    result = cli("validate", example)
    assert result.exit_code == 0, result.output
    assert "g6.xlarge (1 × L4), 0..3 nodes spot" in result.stdout
    loaded = load_stack(str(example))
    assert check(loaded, resolve.resolve(loaded)) == []


# ---- components/aws/checks.py: AWS-only problems


def _errors(write_stack, text: str) -> list[str]:
    loaded = load_stack(str(write_stack(text)))
    try:
        r = resolve.resolve(loaded)
    except StackErrors as exc:  # resolve runs the cloud's checks (Cloud.check)
        return [e.render() for e in exc.errors]
    return [e.render() for e in check(loaded, r)]


def test_instance_type_not_sold_in_the_region_names_the_one_that_is(write_stack):
    [err, _capacity_block] = _errors(
        write_stack,
        """
extends: base.yaml
cloud: aws
node_pools:
  h200:
    accelerator: H200
    accelerators_per_node: 8
""",
    )
    assert re.match(r".*/dev\.yaml:5:\d+: node_pools\.h200\.accelerator: ", err)
    assert err.split("accelerator: ")[1] == (
        "p5e.48xlarge is not offered in us-east-1 (it is in us-east-2, "
        "us-west-2); instance types with 8 × H200 in us-east-1: "
        "p5en.48xlarge (set node_pools.h200.machine_type.aws)"
    )


def test_instance_type_override_not_sold_in_the_region(write_stack):
    [err] = _errors(
        write_stack,
        """
extends: base.yaml
cloud: aws
aws: {region: ap-northeast-1}
node_pools:
  h100:
    accelerator: H100
    machine_type: {aws: p5.4xlarge}
""",
    )
    assert ":7:" in err
    assert "node_pools.h100.machine_type.aws: p5.4xlarge is not offered in ap-northeast-1" in err


def test_spot_not_sold_in_the_region(write_stack, monkeypatch):
    prices = catalog.load("aws").prices["us-east-1"]["machines"]
    monkeypatch.setitem(prices, "g6.xlarge", Price(0.8048, None))
    [err] = _errors(
        write_stack,
        """
extends: base.yaml
cloud: aws
node_pools:
  l4: {accelerator: L4, spot: true}
""",
    )
    assert ":4:" in err and "node_pools.l4.spot: g6.xlarge has no spot capacity in us-east-1" in err


@pytest.mark.parametrize(
    ("env", "version", "fragment"),
    [
        ("dev", "1.29", "Kubernetes 1.29 is no longer offered by EKS"),
        ("dev", "1.32", "Kubernetes 1.32 is in EKS extended support"),
        ("prod", "1.29", "Kubernetes 1.29 is no longer offered by EKS"),
    ],
)
def test_kubernetes_version_against_eks_support(write_stack, env, version, fragment):
    [err] = _errors(
        write_stack,
        f"""
extends: base.yaml
cloud: aws
cluster: {{kubernetes_version: "{version}"}}
""".replace("extends", f"environment: {env}\nextends"),
    )
    assert "cluster.kubernetes_version" in err and fragment in err
    assert 'kubernetes_version: "1.34" or newer' in err


def test_prod_may_stay_on_a_version_in_extended_support(write_stack):
    assert (
        _errors(
            write_stack,
            """
environment: prod
extends: base.yaml
cloud: aws
cluster: {kubernetes_version: "1.32"}
""",
        )
        == []
    )


def test_endpoint_settings(write_stack):
    errors = _errors(
        write_stack,
        """
extends: base.yaml
cloud: aws
cluster:
  private_endpoint: true
  authorized_networks: [10.0.0.1/24, "2001:db8::/32"]
""",
    )
    assert any(
        "cluster.authorized_networks: EKS applies authorized_networks to the public endpoint only" in e for e in errors
    )
    assert any("cluster.authorized_networks[0]: '10.0.0.1/24' is not a CIDR block" in e for e in errors)
    assert any("cluster.authorized_networks[1]: 2001:db8::/32 is IPv6" in e for e in errors)


def test_existing_network_needs_two_subnets_and_real_ids(write_stack):
    errors = _errors(
        write_stack,
        """
extends: base.yaml
cloud: aws
aws:
  vpc_id: vpc-12
  subnet_ids: [subnet-0123456789abcdef0]
""",
    )
    assert any(":4:" in e and "aws.vpc_id: 'vpc-12' is not a VPC id" in e for e in errors)
    assert any(
        ":5:" in e and "aws.subnet_ids: EKS needs subnets in at least two availability zones" in e for e in errors
    )
    alone = _errors(
        write_stack,
        """
extends: base.yaml
cloud: aws
aws: {vpc_id: vpc-0123456789abcdef0}
""",
    )
    assert any("aws.vpc_id: a VPC id alone does not say where nodes go" in e for e in alone)


def test_aws_checks_run_in_validate(cli, write_stack):
    file = write_stack("""
extends: base.yaml
cloud: aws
node_pools:
  h200: {accelerator: H200, accelerators_per_node: 8}
""")
    result = cli("validate", file)
    assert result.exit_code == 2
    assert f"{file}:4:" in result.stderr and "p5e.48xlarge is not offered in us-east-1" in result.stderr
    with pytest.raises(StackErrors):
        resolve.resolve(load_stack(str(file)))
