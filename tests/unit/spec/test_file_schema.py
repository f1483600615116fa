"""`llmcloud schema` is the schema of stack files as an editor sees them (components/spec/schema.py): every
bundled stack file, as written (before `extends:` is merged and defaults filled), validates against it under
draft 7 (the YAML language server's default) and draft 2020-12, while unknown keys, wrong enums and wrong
types are still errors where the editor shows them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
STACKS = sorted((REPO / "stacks").glob("*.yaml"))
DRAFTS = [jsonschema.Draft7Validator, jsonschema.Draft202012Validator]


@pytest.fixture(scope="module")
def schema() -> dict:
    from llmcloud.components.spec.schema import file_schema

    return file_schema()


def test_the_cli_prints_it(cli, schema) -> None:
    result = cli("schema")
    assert result.exit_code == 0 and json.loads(result.stdout) == schema


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("path", STACKS, ids=lambda p: p.name)
def test_every_bundled_stack_file_validates_as_written(schema, draft, path) -> None:
    draft.check_schema(schema)
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in draft(schema).iter_errors(yaml.safe_load(path.read_text()))
    ]
    assert errors == [], path.name


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: d.__name__)
@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"extends": "base.yaml", "node_pools": {"l4": {"acclerator": "L4"}}}, "'acclerator' was unexpected"),
        ({"node_pools": {"l4": {"accelerator": "L5"}}}, "'L5' is not one of"),
        ({"node_pools": {"l4": {"accelerator": "L4", "max_nodes": "two"}}}, "'two' is not of type"),
        ({"extends": 3}, "3 is not of type 'string'"),
        ({"gateway": {"auth": "open"}}, "'open' is not one of"),
    ],
)
def test_mistakes_are_still_shown(schema, draft, doc, message) -> None:
    assert any(message in e.message for e in draft(schema).iter_errors(doc)), doc


def test_only_the_required_keyword_goes_not_a_property_of_that_name() -> None:
    from llmcloud.components.spec.schema import _without_required

    node = {
        "required": ["a"],
        "properties": {"required": {"type": "boolean"}, "a": {"type": "object", "required": ["b"]}},
        "$defs": {"required": {"type": "string", "required": ["c"]}},
    }
    assert _without_required(node) == {
        "properties": {"required": {"type": "boolean"}, "a": {"type": "object"}},
        "$defs": {"required": {"type": "string"}},
    }
