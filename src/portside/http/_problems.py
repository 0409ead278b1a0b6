"""Errors as ``application/problem+json`` (RFC 9457).

One table turns :func:`portside._failures.classify`'s kinds into statuses, so HTTP and
gRPC never disagree. Malformed JSON is 400; a well-formed request with invalid fields is
422 with an ``errors`` list naming each field; an unexpected exception is 500 with an
opaque ``error_id`` that the log shows next to the traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portside._failures import Failure, classify
from portside.errors import FieldViolation
from portside.observability import get_correlation_id

__all__ = [
    "PROBLEM_JSON",
    "STATUS_OF",
    "PayloadTooLarge",
    "failure_response",
    "handle_exception",
    "problem",
]

PROBLEM_JSON = "application/problem+json"

STATUS_OF: Mapping[str, int] = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "concurrency": 409,
    "unavailable": 503,
    "shutting_down": 503,
    "internal": 500,
}


class PayloadTooLarge(Exception):  # noqa: N818 - named after the HTTP status it becomes
    """The request body passed the size limit while it was being read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the request body is larger than {limit} bytes")


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: Iterable[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response; ``title`` is the status's reason phrase."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    correlation_id = get_correlation_id()
    if correlation_id is not None:
        body["correlation_id"] = correlation_id
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extra)
    return Response(
        json.dumps(body, separators=(",", ":"), default=str).encode(),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


def _violations(violations: Iterable[FieldViolation]) -> list[dict[str, str]]:
    return [{"field": v.field, "problem": v.description} for v in violations]


def failure_response(failure: Failure, *, instance: str | None = None) -> Response:
    status = STATUS_OF[failure.kind]
    headers: dict[str, str] = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(failure.retry_after)
    if failure.kind == "shutting_down":
        headers["Connection"] = "close"
    extra: dict[str, Any] = {}
    if failure.error_id is not None:
        extra["error_id"] = failure.error_id
    errors = _violations(failure.violations) if failure.kind == "invalid" else None
    return problem(
        status, failure.message, instance=instance, errors=errors, headers=headers, **extra
    )


def _request_validation(exc: RequestValidationError, instance: str) -> Response:
    items = list(exc.errors())
    if any(item.get("type") == "json_invalid" for item in items):
        detail = next(str(i.get("msg")) for i in items if i.get("type") == "json_invalid")
        return problem(400, f"malformed JSON body: {detail}", instance=instance)
    errors = []
    for item in items:
        loc = [str(part) for part in item.get("loc", ())]
        where, path = (loc[0], loc[1:]) if loc else ("body", [])
        errors.append(
            {"field": ".".join(path) or f"({where})", "in": where, "problem": str(item["msg"])}
        )
    fields = ", ".join(e["field"] for e in errors)
    return problem(422, f"invalid request: {fields}", instance=instance, errors=errors)


async def handle_exception(request: Request, exc: Exception) -> Response:
    """The one exception handler the app registers, for every exception type."""
    instance = request.url.path
    if isinstance(exc, RequestValidationError):
        return _request_validation(exc, instance)
    # FastAPI reports any failure while reading the body as a 400 caused by it.
    cause = exc if isinstance(exc, PayloadTooLarge) else exc.__cause__
    if isinstance(cause, PayloadTooLarge):
        return problem(413, str(cause), instance=instance)
    if isinstance(exc, HTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code < 200 or exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=headers)
        return problem(exc.status_code, str(exc.detail), instance=instance, headers=headers)
    return failure_response(classify(exc, where=f"{request.method} {instance}"), instance=instance)
