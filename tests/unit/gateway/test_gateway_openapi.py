"""The generated OpenAPI documents are valid and require a key on every route."""

from __future__ import annotations

from llmcloud.components.gateway_checks import ResolvedGateway
from llmcloud.components.gateway_openapi import ROUTES, openapi3, swagger2
from openapi_spec_validator import validate

G = ResolvedGateway(
    cloud="aws",
    kind="managed",
    product="x",
    auth="api_key",
    keys={"default": 600},
    rate_limit_per_minute=600,
    request_timeout_seconds=900,
    streaming=True,
    domain="api.example.com",
    allowed_cidrs=(),
    models=("llama-8b",),
)


def test_openapi3_valid_with_bearer_on_every_route():
    doc = openapi3(G)
    validate(doc)
    assert set(doc["paths"]) == set(ROUTES)
    assert doc["security"] == [{"apiKey": []}]
    assert doc["components"]["securitySchemes"]["apiKey"] == {"type": "http", "scheme": "bearer"}
    assert all("security" not in op for ops in doc["paths"].values() for op in ops.values())  # none opts out


def test_swagger2_for_gcp_api_gateway_valid():
    doc = swagger2(G, "https://api.example.com")
    validate(doc)
    assert doc["x-google-backend"]["deadline"] == 900.0
