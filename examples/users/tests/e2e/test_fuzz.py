"""Property-based fuzzing of the users service's HTTP API, driven by the OpenAPI document
the running service serves (``/openapi.json``), on SQLite and on PostgreSQL.

Schemathesis generates requests from the document, ones that fit it (positive) and ones
that break it (negative), sends them to the service in its own process and checks every
response with :data:`CHECKS`: no 5xx, a documented status code, the documented content
type, a body that matches the documented schema, documented headers that match theirs.
A stateful run chains the operations the way a client does (register a user, then read,
change and unregister it by the id the service answered with), so the success paths of
the operations on one user are fuzzed too, not only their 404s.

Generation is derandomized: a run sends the same requests every time, so a failure found
once is found again, locally and in CI. The service's ``/docs`` page is HTML; FastAPI
leaves it out of the document itself, so nothing is excluded here.

The operations are fuzzed with :meth:`APIOperation.as_strategy` under plain Hypothesis
rather than ``schemathesis.pytest.from_fixture(...).parametrize()``: the lazy schema's
pytest integration (schemathesis 4.32) reads ``Function._nodeid``, which pytest 9.2 no
longer has.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation.stateful import APIStateMachine
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portside.testing.process import ServiceProcess

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

#: The operations of the users service: each must be in the document, and is fuzzed.
OPERATIONS = {
    "POST /users",
    "GET /users",
    "GET /users/{user_id}",
    "PUT /users/{user_id}",
    "DELETE /users/{user_id}",
    "GET /courses",
    "GET /health/live",
    "GET /health/ready",
}

FUZZ = hypothesis.settings(
    max_examples=30,
    deadline=None,  # each example is a request to another process and its database
    derandomize=True,  # the same requests on every run
    database=None,  # nothing replayed from earlier runs
)


@pytest.fixture(scope="module")
def users_api(users_process: ServiceProcess) -> schemathesis.BaseSchema:
    """The document the service serves. Its configuration enables exactly :data:`CHECKS`,
    which is what the stateful run validates each response with."""
    checks: dict[str, Any] = {"enabled": False}
    checks.update({check.__name__: {"enabled": True} for check in CHECKS})
    config = schemathesis.Config.from_dict({"checks": checks})
    return schemathesis.openapi.from_url(
        f"{users_process.address('http')}/openapi.json", config=config
    )


def operations(api: schemathesis.BaseSchema) -> list[Operation]:
    """Every operation of the document; one the document defines badly fails the test."""
    found: list[Operation] = []
    for result in api.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found


def test_every_users_operation_is_in_the_document(users_api: schemathesis.BaseSchema) -> None:
    assert {operation.label for operation in operations(users_api)} >= OPERATIONS


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_each_operation_answers_as_documented(
    users_api: schemathesis.BaseSchema, mode: GenerationMode, subtests: pytest.Subtests
) -> None:
    """Requests that fit the document, then requests that break it, operation by operation;
    each operation is a subtest, so one failing still shows how the others did. An
    operation that takes no input has nothing to break and gets only valid requests."""
    statuses: dict[str, Counter[int]] = {}
    for operation in operations(users_api):
        inputs = (
            operation.path_parameters,
            operation.query,
            operation.headers,
            operation.cookies,
            operation.body,
        )
        if mode is GenerationMode.NEGATIVE and not any(inputs):
            continue
        seen = statuses[operation.label] = Counter()
        with subtests.test(operation=operation.label):
            _send_and_validate(operation.as_strategy(generation_mode=mode), seen)
    # Each operation was fuzzed, and the requests reached what they were meant to reach:
    # valid ones the use cases, invalid ones the refusal at the edge.
    if mode is GenerationMode.POSITIVE:
        assert set(statuses) >= OPERATIONS
        assert statuses["POST /users"][201] > 0, statuses
        assert statuses["GET /users"][200] > 0, statuses
    else:
        assert set(statuses) >= {label for label in OPERATIONS if "users" in label}
        for label in ("POST /users", "GET /users", "PUT /users/{user_id}"):
            assert statuses[label][422] > 0, statuses


def _send_and_validate(cases: st.SearchStrategy[Case], seen: Counter[int]) -> None:
    """Send ``cases`` and validate each response with :data:`CHECKS`; count the statuses."""

    @FUZZ
    @hypothesis.given(case=cases)
    def send(case: Case) -> None:
        response = case.call_and_validate(checks=CHECKS)
        seen[response.status_code] += 1

    send()


def forget_every_user(url: str) -> None:
    """Unregister every user (over the API), so each scenario starts from the same state."""
    with httpx.Client(base_url=url) as client:
        while users := client.get("/users", params={"limit": 100}).json()["items"]:
            for user in users:
                assert client.delete(f"/users/{user['id']}").status_code == 204


def test_operations_chained_as_a_client_would(
    users_api: schemathesis.BaseSchema, users_process: ServiceProcess
) -> None:
    """Scenarios of up to six calls, each step's request built from an earlier response
    (the links between operations are inferred from the document: the ``id`` and the
    ``Location`` of a registered user feed the operations on one user).

    Every scenario starts with no users: the requests depend on earlier responses, so
    the same scenario must meet the same state each time Hypothesis runs it."""
    url = users_process.address("http")
    statuses: Counter[tuple[str, int]] = Counter()

    def setup(self: APIStateMachine) -> None:
        forget_every_user(url)

    def after_call(self: APIStateMachine, response: schemathesis.Response, case: Case) -> None:
        statuses[case.operation.label, response.status_code] += 1

    workflow = cast(
        "type[APIStateMachine]",
        type(
            "UsersWorkflow",
            (users_api.as_state_machine(),),
            {"setup": setup, "after_call": after_call},
        ),
    )
    workflow.run(
        settings=hypothesis.settings(
            FUZZ,
            max_examples=20,
            stateful_step_count=6,
        )
    )
    # The chains reached an existing user: read, changed and unregistered it.
    for step in (
        ("POST /users", 201),
        ("GET /users/{user_id}", 200),
        ("PUT /users/{user_id}", 200),
        ("DELETE /users/{user_id}", 204),
    ):
        assert statuses[step] > 0, statuses
