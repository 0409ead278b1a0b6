"""One classification of exceptions for every entry adapter (HTTP, gRPC)."""

import logging

import pytest
from pydantic import BaseModel, ValidationError

from portside._failures import classify
from portside.errors import FieldViolation, Invalid
from portside.host import ShuttingDown
from portside.storage import ConcurrencyError, Conflict, NotFound, StorageUnavailable


class Model(BaseModel):
    name: str
    age: int


def test_invalid_input_keeps_each_field() -> None:
    failure = classify(Invalid([FieldViolation("name", "is taken")]))
    assert (failure.kind, failure.violations) == ("invalid", (FieldViolation("name", "is taken"),))
    with pytest.raises(ValidationError) as caught:
        Model.model_validate({"name": 1, "age": "x"})
    fields = [v.field for v in classify(caught.value).violations]
    assert fields == ["name", "age"]


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (NotFound("no user 7"), "not_found", "no user 7"),
        (Conflict("duplicate user for Ada"), "conflict", "duplicate user for Ada"),
        (ConcurrencyError("user 7 changed"), "concurrency", "user 7 changed"),
        (
            ShuttingDown("the host is starting; no new work"),
            "shutting_down",
            "the host is starting; no new work",
        ),
    ],
)
def test_known_errors_keep_their_message(error: Exception, kind: str, message: str) -> None:
    failure = classify(error)
    assert (failure.kind, failure.message) == (kind, message)


def test_an_unavailable_store_is_retryable_and_its_details_stay_in_the_service() -> None:
    failure = classify(StorageUnavailable("postgresql://app:secret@db/x refused"))
    assert failure.kind == "unavailable"
    assert failure.retry_after is not None
    assert "secret" not in failure.message


def test_anything_else_is_internal_with_an_id_logged_next_to_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="portside.errors")
    try:
        raise RuntimeError("the secret detail")
    except RuntimeError as exc:
        failure = classify(exc, where="GET /x")
    assert failure.kind == "internal"
    assert failure.error_id is not None
    assert "secret" not in failure.message
    assert failure.error_id in failure.message
    [record] = caplog.records
    assert failure.error_id in record.getMessage()
    assert "GET /x" in record.getMessage()
    assert record.exc_info is not None
