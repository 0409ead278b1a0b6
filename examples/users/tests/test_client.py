"""The typed HTTP clients' own behaviour: which calls are retried, error mapping and the
correlation id. The service's side is answered by an httpx transport the test scripts
(the end-to-end tests run the clients against the real service)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from users.contract._calls import Retry
from users.contract.client import AsyncUsersClient, UsersClient
from users.contract.errors import (
    InvalidUser,
    ServiceUnavailable,
    UnexpectedResponse,
    UserAlreadyExists,
    UserNotFound,
)

USER = {"id": "u1", "name": "Ada", "department": None, "created": "2026-01-02T03:04:05+00:00"}
NO_WAIT = Retry(attempts=2, backoff=0.0)


def problem(status: int, detail: str, **extra: object) -> httpx.Response:
    body = {"type": "about:blank", "title": "x", "status": status, "detail": detail, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


class Script:
    """Answers requests from a list of responses (or exceptions), recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, **options: object) -> UsersClient:
    return UsersClient(transport=httpx.MockTransport(script), retry=NO_WAIT, **options)  # type: ignore[arg-type]


def test_an_idempotent_call_is_retried_after_503_and_timeouts() -> None:
    script = Script(problem(503, "down"), httpx.ReadTimeout("slow"), httpx.Response(200, json=USER))
    with client(script) as users:
        assert users.get_user("u1").id == "u1"
    assert len(script.requests) == 3
    ids = {r.headers["x-correlation-id"] for r in script.requests}
    assert len(ids) == 1  # one call, one correlation id across its attempts


def test_retries_are_bounded() -> None:
    script = Script(problem(503, "down"), problem(503, "down"), problem(503, "still down"))
    with client(script) as users, pytest.raises(ServiceUnavailable, match="still down"):
        users.list_courses()
    assert len(script.requests) == 3  # the first attempt and two retries


def test_a_registration_is_not_retried_once_the_request_may_have_arrived() -> None:
    for answer in (problem(503, "down"), httpx.ReadTimeout("slow")):
        script = Script(answer, httpx.Response(201, json=USER))
        with client(script) as users, pytest.raises(ServiceUnavailable):
            users.register_user("Ada")
        assert len(script.requests) == 1


def test_a_registration_is_retried_when_the_connection_was_never_made() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(201, json=USER))
    with client(script) as users:
        assert users.register_user("Ada").name == "Ada"
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (problem(404, "no user u1"), UserNotFound),
        (problem(409, "duplicate user for Ada"), UserAlreadyExists),
        (problem(400, "malformed JSON body"), InvalidUser),
        (problem(500, "internal error", error_id="abc"), UnexpectedResponse),
    ],
)
def test_problems_become_typed_errors(answer: httpx.Response, error: type[Exception]) -> None:
    with client(Script(answer)) as users, pytest.raises(error) as raised:
        users.get_user("u1")
    assert str(answer.json()["detail"]) in str(raised.value)


def test_invalid_fields_are_listed() -> None:
    errors = [{"field": "name", "in": "body", "problem": "too long"}]
    users = client(Script(problem(422, "invalid", errors=errors)))
    with users, pytest.raises(InvalidUser) as raised:
        users.register_user("x" * 100)
    assert raised.value.fields == {"name"}
    assert raised.value.problems[0].problem == "too long"


def test_the_clients_own_correlation_id_is_sent_and_reported() -> None:
    script = Script(problem(404, "gone"))
    with client(script, correlation_id="req-1") as users, pytest.raises(UserNotFound) as raised:
        users.get_user("u 1/2")
    assert script.requests[0].headers["x-correlation-id"] == "req-1"
    assert script.requests[0].url.raw_path == b"/users/u%201%2F2"  # the id is one segment
    assert raised.value.correlation_id == "req-1"


async def test_the_async_client_follows_the_same_rules() -> None:
    script = Script(problem(502, "proxy"), httpx.Response(200, json=USER))
    transport: Callable[[httpx.Request], httpx.Response] = script
    async with AsyncUsersClient(transport=httpx.MockTransport(transport), retry=NO_WAIT) as users:
        assert (await users.get_user("u1")).name == "Ada"
        script.answers.append(problem(503, "down"))
        with pytest.raises(ServiceUnavailable):
            await users.register_user("Ada")
    assert [r.method for r in script.requests] == ["GET", "GET", "POST"]
