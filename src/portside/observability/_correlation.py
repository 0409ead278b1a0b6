"""Correlation ids and service names carried in context variables.

Both values live in :class:`contextvars.ContextVar` objects, so they follow the code that
runs on behalf of one request: an asyncio task copies the context it was created in, and
a value bound inside one task is never seen by another.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ._ids import new_id

__all__ = [
    "bind_correlation_id",
    "bind_service_name",
    "get_correlation_id",
    "get_service_name",
    "incoming_correlation_id",
    "new_correlation_id",
    "reset_correlation_id",
    "reset_service_name",
    "set_correlation_id",
    "set_service_name",
]

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
"""The id of the request, message or job the current code is working for."""

service: contextvars.ContextVar[str | None] = contextvars.ContextVar("service", default=None)
"""The name of the service the current code belongs to, when one process hosts several."""


def get_correlation_id() -> str | None:
    """Return the correlation id in effect, or ``None`` when none is bound."""
    return correlation_id.get()


# The variable's own methods, not functions calling them: every request and every message
# delivery sets and resets the id, and a Python call each way is a noticeable part of a
# small request.
set_correlation_id: Callable[[str | None], contextvars.Token[str | None]] = correlation_id.set
"""Set the correlation id; hand the returned token to :func:`reset_correlation_id`."""

reset_correlation_id: Callable[[contextvars.Token[str | None]], None] = correlation_id.reset
"""Restore the correlation id that was in effect before the matching set call."""


def new_correlation_id() -> str:
    """Return a fresh random correlation id (32 lowercase hexadecimal characters)."""
    return new_id()


_SAFE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def incoming_correlation_id(given: str | None, traceparent: str | None = None) -> str:
    """The correlation id of an incoming request or call: the caller's own id, else the
    trace id of its W3C ``traceparent``, else a new id.

    An id with characters outside ``[A-Za-z0-9._:/+=-]`` or over 128 characters is
    ignored, so that what a caller sends cannot forge log lines.
    """
    if given is not None and _SAFE_ID.match(given):
        return given
    if traceparent is not None:
        match = _TRACEPARENT.match(traceparent.strip())
        if match is not None and match.group(1) != "0" * 32:
            return match.group(1)
    return new_id()


@contextmanager
def bind_correlation_id(value: str | None = None) -> Iterator[str]:
    """Bind a correlation id for the ``with`` block and yield it.

    A new id is generated when *value* is ``None``. The previous id is restored when the
    block exits, also on an exception.
    """
    bound = new_correlation_id() if value is None else value
    token = correlation_id.set(bound)
    try:
        yield bound
    finally:
        correlation_id.reset(token)


def get_service_name() -> str | None:
    """Return the service name in effect, or ``None`` when none is bound."""
    return service.get()


# The variable's own methods, as for the correlation id: every gRPC call sets and resets it.
set_service_name: Callable[[str | None], contextvars.Token[str | None]] = service.set
"""Set the service name; hand the returned token to :func:`reset_service_name`."""

reset_service_name: Callable[[contextvars.Token[str | None]], None] = service.reset
"""Restore the service name that was in effect before the matching set call."""


@contextmanager
def bind_service_name(name: str) -> Iterator[str]:
    """Bind a service name for the ``with`` block and yield it.

    The previous name is restored when the block exits, also on an exception.
    """
    token = service.set(name)
    try:
        yield name
    finally:
        service.reset(token)
