"""A :class:`~portside._failures.Failure` as a gRPC status: the code, a message safe to
show, and the rich details of ``google.rpc`` that clients decode with
``grpc_status.rpc_status.from_call`` (the status message, serialised, under
``grpc-status-details-bin`` in the trailing metadata, as ``rpc_status.to_status`` puts
it). The classification itself is shared with HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from portside._failures import Failure, Kind

__all__ = ["CODES", "failure_status"]

DETAILS_KEY = "grpc-status-details-bin"
"""The trailing metadata key of the rich status (``google.rpc.Status``, serialised)."""

CODES: dict[Kind, grpc.StatusCode] = {
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "not_found": grpc.StatusCode.NOT_FOUND,
    "conflict": grpc.StatusCode.ALREADY_EXISTS,
    "concurrency": grpc.StatusCode.ABORTED,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "shutting_down": grpc.StatusCode.UNAVAILABLE,
    "internal": grpc.StatusCode.INTERNAL,
}
"""The status code of each kind of failure."""


def _message(failure: Failure) -> str:
    """The failure's message, naming every invalid field even when the message did not
    (a pydantic error is summarised as a count)."""
    fields = [v.field for v in failure.violations]
    missing = [f for f in fields if f not in failure.message]
    if not missing:
        return failure.message
    return f"{failure.message}: {', '.join(fields)}"


def _pack(message: error_details_pb2.BadRequest | error_details_pb2.RetryInfo) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


@dataclass(frozen=True)
class _Status(grpc.Status):
    """The attributes grpc reads off a status to end a call with."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def failure_status(
    failure: Failure, metadata: Sequence[tuple[str, str | bytes]] = ()
) -> grpc.Status:
    """The status to abort a call with: ``google.rpc.BadRequest`` field violations for
    invalid input, ``google.rpc.RetryInfo`` when the caller should retry later; its
    trailing metadata carries ``metadata`` too (a status replaces what the call had set)."""
    code = CODES[failure.kind]
    details: list[any_pb2.Any] = []
    if failure.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in failure.violations
                    ]
                )
            )
        )
    if failure.retry_after is not None:
        delay = duration_pb2.Duration(seconds=failure.retry_after)
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=_message(failure), details=details)
    return _Status(code, status.message, (*metadata, (DETAILS_KEY, status.SerializeToString())))
