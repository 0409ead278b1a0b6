"""Reading the caller's correlation id from call metadata, by the rules the HTTP adapter
applies to headers, so one id follows a request across both kinds of entry point."""

from __future__ import annotations

from collections.abc import Iterable

from portside.observability import incoming_correlation_id

__all__ = ["CORRELATION_KEY", "correlation_id_from"]

CORRELATION_KEY = "x-correlation-id"
"""The metadata key that carries the correlation id, in both directions."""


def correlation_id_from(metadata: Iterable[tuple[str, str | bytes]]) -> str:
    """The caller's ``x-correlation-id``, the trace id of its ``traceparent``, or a new id
    (see :func:`portside.observability.incoming_correlation_id`)."""
    given = traceparent = None
    for key, value in metadata:
        if not isinstance(value, str):  # binary ("-bin") metadata is never an id
            continue
        if key == CORRELATION_KEY:
            given = value
        elif key == "traceparent":
            traceparent = value
    return incoming_correlation_id(given, traceparent)
