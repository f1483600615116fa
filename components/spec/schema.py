"""The JSON Schema of a stack *file*, as an editor sees it (`llmcloud schema`; the YAML language server).

A file is not yet a stack: `extends:` merges it over another file, and `environment` defaults to the file's
name. So the schema is the stack model's (types, enums, patterns, descriptions; unknown keys are errors)
with `extends` allowed at the top and no property required anywhere: a base file or the loader's defaults may
supply any of them. What only the merged stack can show (a missing `accelerator`, a pool no model uses) is
`llmcloud validate`'s to report."""

from __future__ import annotations

from typing import Any

EXTENDS = {
    "type": "string",
    "description": "A stack file this one builds on (e.g. base.yaml): its keys are merged under this file's.",
}


# Keywords whose value maps names to schemas: there a key is a name (a property may be called "required")
_NAME_MAPS = ("properties", "patternProperties", "$defs", "definitions")


def _without_required(node: Any, names: bool = False) -> Any:
    """`node` without the `required` keyword anywhere; `names`: node maps names to schemas."""
    if isinstance(node, dict):
        return {
            k: _without_required(v, names=not names and k in _NAME_MAPS)
            for k, v in node.items()
            if names or k != "required"
        }
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


def file_schema() -> dict[str, Any]:
    from .model import StackSpec

    schema = _without_required(StackSpec.model_json_schema())
    schema["properties"] = {"extends": EXTENDS, **schema["properties"]}
    # No "$schema": the YAML language server reads draft 7 by default, the jsonschema package 2020-12; the
    # schema means the same under both (tests/unit/spec/test_file_schema.py validates the stacks with each).
    return schema
