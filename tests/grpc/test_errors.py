"""An exception becomes a status through the classification HTTP shares: the code, a
message safe to show, and rich ``google.rpc`` details."""

import logging
import re

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from .conftest import Serve


async def fail(serve: Serve, kind: str) -> grpc.aio.AioRpcError:
    app = await serve()
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await app.stub.Fail(app.request(fail=kind))
    return failed.value


def bad_request(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)  # also checks code and message match the details
    assert status is not None
    (detail,) = [d for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR)]
    request = error_details_pb2.BadRequest()
    detail.Unpack(request)
    return [(v.field, v.description) for v in request.field_violations]


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("invalid", grpc.StatusCode.INVALID_ARGUMENT),
        ("validation", grpc.StatusCode.INVALID_ARGUMENT),
        ("not_found", grpc.StatusCode.NOT_FOUND),
        ("conflict", grpc.StatusCode.ALREADY_EXISTS),
        ("concurrency", grpc.StatusCode.ABORTED),
        ("unavailable", grpc.StatusCode.UNAVAILABLE),
        ("internal", grpc.StatusCode.INTERNAL),
        ("abort", grpc.StatusCode.PERMISSION_DENIED),  # a status the servicer chose is kept
    ],
)
async def test_each_kind_of_failure_has_its_status_code(
    serve: Serve, kind: str, code: grpc.StatusCode
) -> None:
    assert (await fail(serve, kind)).code() == code


async def test_a_refused_input_carries_its_field_violations(serve: Serve) -> None:
    error = await fail(serve, "invalid")
    assert bad_request(error) == [
        ("name", "must not be empty"),
        ("department", "must be at most 32 characters"),
    ]
    details = str(error.details())
    assert "name" in details
    assert "department" in details


async def test_a_pydantic_validation_error_names_every_field(serve: Serve) -> None:
    error = await fail(serve, "validation")
    fields = [field for field, _ in bad_request(error)]
    assert fields == ["name", "age"]
    assert str(error.details()).endswith("name, age")


async def test_a_message_from_the_domain_is_passed_on(serve: Serve) -> None:
    error = await fail(serve, "not_found")
    assert error.details() == "no user u-1"


async def test_an_unavailable_dependency_asks_the_caller_to_retry_later(serve: Serve) -> None:
    error = await fail(serve, "unavailable")
    status = rpc_status.from_call(error)
    assert status is not None
    (detail,) = status.details
    retry = error_details_pb2.RetryInfo()
    assert detail.Unpack(retry)
    assert retry.retry_delay.seconds == 1
    assert "connection refused" not in str(error.details())


async def test_an_unexpected_error_sends_only_an_id_that_the_log_ties_to_the_traceback(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="portside.errors"):
        error = await fail(serve, "internal")
    details = str(error.details())
    found = re.search(r"[0-9a-f]{32}", details)
    assert found is not None
    error_id = found.group(0)
    assert "secret" not in details
    assert "RuntimeError" not in details
    assert "hunter2" not in details
    assert rpc_status.from_call(error) is not None  # a well-formed rich status, no details
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert "/portside.tests.v1.Probe/Fail" in record.getMessage()
    assert record.exc_info is not None
    assert "secret detail: password=hunter2" in caplog.text
    assert "Traceback" in caplog.text
