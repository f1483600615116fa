"""The names and identifiers of every rendered Kubernetes object follow the API server's rules, for every
bundled stack and for the longest names a stack may use on each cloud: 30 characters for the environment, a
pool and a model, but 20 for a pool on AWS (EKS node group names) and, on GCP (GKE's 40-character names), 21 for
the environment and 6 for a pool.
kubernetes-validate checks types, not these: the rules are Kubernetes' own
(k8s.io/apimachinery/pkg/util/validation: IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label,
IsQualifiedName, IsValidLabelValue, IsValidPortName; the Service name is a DNS-1035 label, a Namespace name a
DNS-1123 label, other objects' names DNS-1123 subdomains)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import GOLDEN_COMBOS, plan, repo_plan
from llmcloud.cli.manifests import objects

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")  # at most 253
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")  # at most 63
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # at most 63
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")  # at most 63, after an optional prefix/
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")  # at most 63
PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")  # at most 15, a letter, no "--"

LONGEST = "abcdefghij-abcdefghij-abcdefgh"  # 30: the longest name the stack model allows
# GKE names must fit 40 characters and EKS node group names 63, with Pulumi's 8-character suffix
# (components/gcp/checks.py, components/aws/checks.py).
LONGEST_ON = {
    "gcp": (LONGEST[:21], "pabcde"),
    "aws": (LONGEST, "p" + LONGEST[1:20]),  # EKS node group names: 63 with the suffix
    "azure": (LONGEST, "p" + LONGEST[1:]),
}
LONG_STACK = """
extends: base.yaml
environment: {environment}
cloud: {cloud}
node_pools:
  {pool}:
    accelerator: {accelerator}
    max_nodes: 2
models:
  m{model}:
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    node_pool: {pool}
    max_model_len: 8192
    replicas: {{min: 0, max: 2}}
"""


def _labels(labels: Any, where: str) -> list[str]:
    bad = []
    for key, value in (labels or {}).items():
        prefix, _, name = str(key).rpartition("/")
        if len(name) > 63 or not QUALIFIED_NAME.match(name) or (prefix and not SUBDOMAIN.match(prefix)):
            bad.append(f"{where}: label key {key!r}")
        if len(str(value)) > 63 or not LABEL_VALUE.match(str(value)):
            bad.append(f"{where}: label value {key}={value!r} ({len(str(value))} characters)")
    return bad


def _port_name(name: str) -> bool:
    return len(name) <= 15 and bool(PORT_NAME.match(name)) and "--" not in name and bool(re.search("[a-z]", name))


def _pod(spec: dict[str, Any], where: str) -> list[str]:
    bad = []
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if len(container["name"]) > 63 or not DNS1123_LABEL.match(container["name"]):
            bad.append(f"{where}: container name {container['name']!r}")
        bad += [
            f"{where}: port name {p['name']!r}"
            for p in container.get("ports") or []
            if "name" in p and not _port_name(p["name"])
        ]
    for volume in spec.get("volumes") or []:
        if len(volume["name"]) > 63 or not DNS1123_LABEL.match(volume["name"]):
            bad.append(f"{where}: volume name {volume['name']!r}")
    return bad


def problems(obj: dict[str, Any]) -> list[str]:
    """Where `obj` breaks the API server's name rules."""
    kind, meta, spec = obj["kind"], obj["metadata"], obj.get("spec") or {}
    name, where = meta["name"], f"{obj['kind']}/{meta['name']}"
    bad = []
    if kind in ("Service", "Namespace"):
        rule = DNS1035_LABEL if kind == "Service" else DNS1123_LABEL
        if len(name) > 63 or not rule.match(name):
            bad.append(f"{where}: a {kind} name must be a DNS label of at most 63 characters ({len(name)})")
    elif len(name) > 253 or not SUBDOMAIN.match(name):
        bad.append(f"{where}: name")
    bad += _labels(meta.get("labels"), where)
    if isinstance(spec.get("template"), dict):
        template = spec["template"]
        bad += _labels((template.get("metadata") or {}).get("labels"), f"{where} pod template")
        bad += _pod(template.get("spec") or {}, where)
    if kind == "Service":
        bad += [f"{where}: port name {p['name']!r}" for p in spec.get("ports") or [] if not _port_name(p["name"])]
    return bad


@pytest.mark.parametrize(("stack", "cloud"), GOLDEN_COMBOS)
def test_the_bundled_stacks_objects_have_valid_names(stack: str, cloud: str) -> None:
    found = [p for obj in objects(repo_plan(stack, cloud)) for p in problems(obj)]
    assert found == []


@pytest.mark.parametrize(("cloud", "accelerator"), [("gcp", "L4"), ("aws", "L4"), ("azure", "A10")])
def test_the_longest_names_a_stack_may_use_stay_valid(write_stack, cloud: str, accelerator: str) -> None:
    environment, pool = LONGEST_ON[cloud]
    text = LONG_STACK.format(
        environment=environment, cloud=cloud, pool=pool, accelerator=accelerator, model=LONGEST[1:]
    )
    path = write_stack(text, name=environment)
    rendered = objects(plan(path))
    assert len(rendered) >= 10
    found = [p for obj in rendered for p in problems(obj)]
    assert found == []


LONG_MULTIHOST = f"""
extends: base.yaml
environment: {LONGEST_ON["gcp"][0]}
cloud: gcp
gcp: {{project: llmcloud-demo, region: us-west4}}
node_pools:
  {LONGEST_ON["gcp"][1]}:
    accelerator: TPU-v5e
    accelerators_per_node: 4
    tpu_topology: "4x4"
    max_nodes: 4
    disk_gb: 250
models:
  m{LONGEST[1:]}:
    source: hf://meta-llama/Llama-3.3-70B-Instruct
    node_pool: {LONGEST_ON["gcp"][1]}
    max_model_len: 8192
    replicas: {{min: 0, max: 1}}
"""


def test_the_longest_names_stay_valid_on_a_multi_host_model(write_stack) -> None:
    """A model across four TPU hosts is a LeaderWorkerSet: its pods are named after it."""
    path = write_stack(LONG_MULTIHOST, name=LONGEST_ON["gcp"][0])
    rendered = objects(plan(path))
    assert any(obj["kind"] == "LeaderWorkerSet" for obj in rendered)
    found = [p for obj in rendered for p in problems(obj)]
    for obj in rendered:
        if obj["kind"] == "LeaderWorkerSet":  # pod hostnames: <name>-<group>-<worker>, a DNS label
            name = obj["metadata"]["name"]
            hostname = f"{name}-{obj['spec'].get('replicas', 1) - 1}-{obj['spec']['leaderWorkerTemplate']['size'] - 1}"
            if len(hostname) > 63:
                found.append(f"LeaderWorkerSet/{name}: pod hostname {hostname!r} is over 63 characters")
            for role in ("leaderTemplate", "workerTemplate"):
                template = obj["spec"]["leaderWorkerTemplate"].get(role) or {}
                found += _pod(template.get("spec") or {}, f"LeaderWorkerSet/{name} {role}")
    assert found == []


def test_the_rules_refuse_what_the_api_server_refuses() -> None:
    service = {
        "kind": "Service",
        "metadata": {"name": "9" + "a" * 63},
        "spec": {"ports": [{"name": "metrics-http-port"}]},
    }
    assert len(problems(service)) == 2  # a digit first and 64 characters; a port name of 17
    labelled = {"kind": "ConfigMap", "metadata": {"name": "ok", "labels": {"llmcloud.dev/stack": "x" * 64}}}
    assert problems(labelled) == ["ConfigMap/ok: label value llmcloud.dev/stack=" + repr("x" * 64) + " (64 characters)"]
