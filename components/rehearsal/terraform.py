"""The plan's bridged resources (pulumi-gcp, pulumi-aws) as a Terraform plan JSON, for Terraform's scanners.

pulumi-gcp and pulumi-aws are generated from the Terraform providers, so each resource is a Terraform
resource under another name: the type token maps to the Terraform type, camelCase inputs to snake_case
attributes, single nested objects to one-element block lists, and the block names Pulumi pluralized back
to Terraform's. checkov's `terraform_plan` framework then applies its Terraform rules to what llmcloud would
deploy (tests/unit/rehearsal/test_checkov_plan.py). azure-native is not bridged: it is not converted.
Values unknown before deploy become null and are listed in `after_unknown`, as Terraform writes them.
"""

from __future__ import annotations

import re
from typing import Any

from ..engine.plan import COMPUTED

PROVIDERS = {
    "gcp": ("google", "registry.terraform.io/hashicorp/google"),
    "aws": ("aws", "registry.terraform.io/hashicorp/aws"),
}
# Pulumi module -> Terraform name segment, where they differ.
_MODULES = {
    "projects": "project",
    "serviceaccount": "service_account",
    "certificatemanager": "certificate_manager",
    "secretmanager": "secret_manager",
    "apigateway": "api_gateway",
    "ec2": "",
}
# Whole-type exceptions to the rule.
_TYPES = {
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:projects/service:Service": "google_project_service",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:autoscaling/tag:Tag": "aws_autoscaling_group_tag",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
}
# Block names Pulumi pluralized (Terraform's singular block name).
_SINGULAR = {
    "allows": "allow",
    "denies": "deny",
    "taints": "taint",
    "rules": "rule",
    "defaultActions": "default_action",
    "lifecycleRules": "lifecycle_rule",
    "guestAccelerators": "guest_accelerator",
    "statements": "statement",
    "ingresses": "ingress",
    "egresses": "egress",
    "conditions": "condition",
    "transitions": "transition",
    "expirations": "expiration",
    "filters": "filter",
    "noncurrentVersionExpirations": "noncurrent_version_expiration",
    "noncurrentVersionTransitions": "noncurrent_version_transition",
    "cidrBlocks": "cidr_blocks",
    "accelerators": "guest_accelerator",
}
# Attributes that are maps (string keys chosen by the user), not nested blocks.
_MAPS = {
    "labels",
    "resourceLabels",
    "tags",
    "tagsAll",
    "metadata",
    "annotations",
    "userLabels",
    "defaultLabels",
    "parameters",
    "variables",
    "environment",
    "nodeLabels",
    "effectiveLabels",
    "terraformLabels",
    "stageVariables",
    "requestParameters",
    "responseParameters",
    "requestTemplates",
    "attributes",
}


def snake(name: str) -> str:
    """ "enablePrivateNodes" -> "enable_private_nodes"; "IAMMember" -> "iam_member"; "sSLPolicy" -> "ssl_policy"."""
    name = name[:1].upper() + name[1:]
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z0-9]|$)|[A-Z]?[a-z0-9]+|[A-Z]+", name)
    return "_".join(p.lower() for p in parts)


def terraform_type(token: str) -> str | None:
    """ "gcp:container/cluster:Cluster" -> "google_container_cluster"; None for other providers."""
    if token in _TYPES:
        return _TYPES[token]
    provider, _, rest = token.partition(":")
    if provider not in PROVIDERS or "/" not in rest:
        return None
    module, _, name = rest.partition("/")
    name = name.split(":")[-1]
    segment = _MODULES.get(module, snake(module))
    return "_".join(p for p in (PROVIDERS[provider][0], segment, snake(name)) if p)


def _value(key: str, value: Any, unknown: dict[str, Any]) -> Any:
    if value == COMPUTED:
        unknown[key] = True
        return None
    if isinstance(value, dict):
        if key in _MAPS:
            return dict(value)
        inner: dict[str, Any] = {}
        return [_block(value, inner)]
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return [_block(v, {}) for v in value]
        return [None if v == COMPUTED else v for v in value]
    return value


def _block(inputs: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        name = _SINGULAR.get(key) or snake(key)
        out[name] = _value(key, value, unknown)
    return out


def plan_json(plan: Any) -> dict[str, Any]:
    """The Terraform plan JSON (format 1.2) of the plan's gcp and aws resources. The plan's
    propertyDependencies become the configuration's `references`, so scanners see which resource an input
    came from (a public-access block that names its bucket, a security group an ALB uses)."""
    resources, changes, configured = [], [], []
    seen: dict[str, int] = {}
    addresses: dict[str, str] = {}
    for step in plan.steps:
        if not step.custom:
            continue
        tf_type = terraform_type(step.type)
        if tf_type is None:
            continue
        base = re.sub(r"[^A-Za-z0-9_-]", "_", step.name)
        seen[f"{tf_type}.{base}"] = seen.get(f"{tf_type}.{base}", 0) + 1
        name = base if seen[f"{tf_type}.{base}"] == 1 else f"{base}_{seen[f'{tf_type}.{base}']}"
        unknown: dict[str, Any] = {}
        values = _block(step.inputs, unknown)
        provider = PROVIDERS[step.type.split(":", 1)[0]][1]
        address = f"{tf_type}.{name}"
        addresses[step.urn] = address
        resources.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": provider,
                "schema_version": 0,
                "values": values,
                "sensitive_values": {},
            }
        )
        changes.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": provider,
                "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": unknown},
            }
        )
    for step in plan.steps:
        found = addresses.get(step.urn)
        if found is None:
            continue
        expressions = {}
        for key, urns in (step.property_dependencies or {}).items():
            refs = [r for u in urns if (target := addresses.get(u)) for r in (f"{target}.id", target)]
            if refs:
                expressions[_SINGULAR.get(key) or snake(key)] = {"references": refs}
        tf_type, name = found.split(".", 1)
        configured.append(
            {
                "address": found,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_config_key": tf_type.split("_", 1)[0],
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": configured}},
    }
