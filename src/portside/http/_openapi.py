"""The OpenAPI document describes portside's problem responses, so that a client (or a
schema-driven fuzzer) finds every status the service may answer with, and its shape.

FastAPI documents 422 with its own ``HTTPValidationError``; portside answers 422 (and every
other error) with ``application/problem+json``. :func:`problem_responses` is what a route
passes as ``responses=`` for its own statuses (404, 409 ...); :func:`add_problems`
rewrites the generated document: every operation gets 500, 503 and 504, operations with
parameters or a body get 422, operations with a body get 400 and 413.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ._problems import PROBLEM_JSON

__all__ = ["PROBLEM_SCHEMA", "add_problems", "problem_responses"]

_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
        "error_id": {"type": "string", "description": "quote it to find the error in the log"},
        "errors": {
            "type": "array",
            "description": "each invalid field (422)",
            "items": {
                "type": "object",
                "required": ["field", "problem"],
                "properties": {
                    "field": {"type": "string"},
                    "in": {"type": "string"},
                    "problem": {"type": "string"},
                },
            },
        },
    },
}


def _response(status: int) -> dict[str, Any]:
    return {"description": HTTPStatus(status).phrase, "content": {PROBLEM_JSON: {"schema": _REF}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's own error statuses: ``problem_responses(404, 409)``."""
    return {status: _response(status) for status in statuses}


def add_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Document portside's problem responses on every operation of ``document``."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            statuses = [500, 503, 504]
            if operation.get("parameters") or "requestBody" in operation:
                statuses.append(422)
            if "requestBody" in operation:
                statuses += [400, 413]
            for status in statuses:
                responses[str(status)] = _response(status)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with problem responses (built once)."""
    built: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal built
        if built is None:
            built = add_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
            app.openapi_schema = built
        return built

    replace: Callable[[], dict[str, Any]] = openapi
    app.openapi = replace  # type: ignore[method-assign]
