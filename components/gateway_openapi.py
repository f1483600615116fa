"""The OpenAPI documents of the front door, generated from the stack (README, "The front door").

`openapi3(g)`: OpenAPI 3.0 for API Management (import) and API Gateway REST APIs (body);
`swagger2(g, backend)`: Swagger 2.0 with x-google-backend for GCP API Gateway. Both describe the
four OpenAI-compatible routes and require a bearer API key on every one. Pure Python.
"""

from __future__ import annotations

from typing import Any

from .gateway_checks import ResolvedGateway

ROUTES: dict[str, tuple[str, str, str]] = {  # path -> (method, operationId, summary)
    "/v1/chat/completions": ("post", "createChatCompletion", "Chat completion (streams with stream: true)"),
    "/v1/completions": ("post", "createCompletion", "Text completion (streams with stream: true)"),
    "/v1/embeddings": ("post", "createEmbedding", "Embeddings"),
    "/v1/models": ("get", "listModels", "The models served by this endpoint"),
}


def _responses(streams: bool) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    return {
        "200": ok,
        "401": {"description": "missing or invalid API key"},
        "404": {"description": "unknown model"},
        "429": {"description": "rate limit of the key reached"},
        **({"504": {"description": "request_timeout_seconds reached"}} if streams else {}),
    }


def openapi3(g: ResolvedGateway, server: str | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, (method, op, summary) in ROUTES.items():
        operation: dict[str, Any] = {"operationId": op, "summary": summary, "responses": _responses(method == "post")}
        if method == "post":
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["model"],
                            "additionalProperties": True,
                            "properties": {
                                "model": {"type": "string", "enum": sorted(g.models)},
                                "stream": {"type": "boolean"},
                            },
                        }
                    }
                },
            }
        paths[path] = {method: operation}
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "llmcloud OpenAI-compatible API", "version": "1.0.0"},
        "servers": [{"url": server or (f"https://{g.domain}" if g.domain else "https://localhost")}],
        "paths": paths,
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
    }
    if g.auth == "api_key":
        doc["security"] = [{"apiKey": []}]
    return doc


def swagger2(g: ResolvedGateway, backend: str) -> dict[str, Any]:
    """GCP API Gateway's dialect: Swagger 2.0, x-google-backend with the deadline in seconds. The
    Authorization header passes through to the in-cluster gateway (disable_auth), which checks the key."""
    paths: dict[str, Any] = {}
    for path, (method, op, summary) in ROUTES.items():
        operation: dict[str, Any] = {
            "operationId": op,
            "summary": summary,
            "responses": {k: v for k, v in _responses(False).items()},
        }
        if method == "post":
            operation["parameters"] = [
                {"in": "body", "name": "body", "required": True, "schema": {"type": "object", "required": ["model"]}}
            ]
        paths[path] = {method: operation}
    return {
        "swagger": "2.0",
        "info": {"title": "llmcloud OpenAI-compatible API", "version": "1.0.0"},
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "x-google-backend": {
            "address": backend,
            "path_translation": "APPEND_PATH_TO_ADDRESS",
            "deadline": float(g.request_timeout_seconds),
            "disable_auth": True,
        },
        "paths": paths,
    }
