"""The calls of the users API, described once: both HTTP clients (sync and async) send
these and decode the answers the same way."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import TypeAdapter

from portside.observability import get_correlation_id

from .dtos import Course, NewUser, User, UserChanges, UserPage
from .errors import (
    FieldProblem,
    InvalidUser,
    ServiceUnavailable,
    UnexpectedResponse,
    UserAlreadyExists,
    UserNotFound,
    UsersError,
)

T = TypeVar("T")

#: Statuses worth retrying for an idempotent call: the service or a proxy was unavailable.
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its success; ``idempotent`` calls may be retried after
    a timeout or a 502/503/504, others only when the connection was never made."""

    method: str
    path: str
    decode: Callable[[httpx.Response], T]
    idempotent: bool
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """Retries after the first attempt, with exponential backoff and full jitter."""

    attempts: int = 2
    backoff: float = 0.1
    max_backoff: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))  # noqa: S311 - jitter, not a secret


def correlation_id(fixed: str | None) -> str:
    return fixed or get_correlation_id() or uuid.uuid4().hex


def retryable(call: Call[Any], error: Exception | None, status: int | None) -> bool:
    if isinstance(error, httpx.ConnectError):
        return True  # nothing was sent: safe for every call
    if not call.idempotent:
        return False
    return isinstance(error, httpx.TransportError) or status in RETRY_STATUSES


def _model(model: type[T]) -> Callable[[httpx.Response], T]:
    adapter = TypeAdapter(model)

    def decode(response: httpx.Response) -> T:
        return adapter.validate_json(response.content)

    return decode


def _nothing(response: httpx.Response) -> None:
    return None


_COURSES = TypeAdapter(list[Course])


def _courses(response: httpx.Response) -> list[Course]:
    return _COURSES.validate_python(response.json()["items"])


def register_user(name: str, department: str | None) -> Call[User]:
    body = NewUser.model_construct(name=name, department=department).model_dump()
    return Call("POST", "/users", _model(User), idempotent=False, json=body)


def get_user(user_id: str) -> Call[User]:
    return Call("GET", f"/users/{_segment(user_id)}", _model(User), idempotent=True)


def list_users(limit: int, cursor: str | None) -> Call[UserPage]:
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    return Call("GET", "/users", _model(UserPage), idempotent=True, params=params)


def modify_user(user_id: str, name: str, department: str | None) -> Call[User]:
    body = UserChanges.model_construct(name=name, department=department).model_dump()
    return Call("PUT", f"/users/{_segment(user_id)}", _model(User), idempotent=True, json=body)


def unregister_user(user_id: str) -> Call[None]:
    return Call("DELETE", f"/users/{_segment(user_id)}", _nothing, idempotent=True)


def list_courses() -> Call[list[Course]]:
    return Call("GET", "/courses", _courses, idempotent=True)


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def outcome(call: Call[T], response: httpx.Response, cid: str) -> T:
    """The call's result, or the typed error its problem response stands for."""
    if response.is_success:
        return call.decode(response)
    raise error_for(response, cid)


def error_for(response: httpx.Response, cid: str) -> UsersError:
    status = response.status_code
    detail = f"{response.request.method} {response.request.url.path}: {status}"
    body: dict[str, Any] = {}
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        body = response.json()
        detail = f"{detail} {body.get('detail', '')}".rstrip()
    if status == 404:
        return UserNotFound(detail, correlation_id=cid)
    if status == 409:
        return UserAlreadyExists(detail, correlation_id=cid)
    if status in (400, 422):
        problems = [
            FieldProblem(str(e.get("field", "")), str(e.get("problem", "")))
            for e in body.get("errors", ())
        ]
        return InvalidUser(detail, problems, correlation_id=cid)
    if status in RETRY_STATUSES:
        return ServiceUnavailable(detail, correlation_id=cid)
    return UnexpectedResponse(detail, status, correlation_id=cid)


def unreachable(call: Call[Any], error: Exception, cid: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"{call.method} {call.path}: {type(error).__name__}: {error}", correlation_id=cid
    )
