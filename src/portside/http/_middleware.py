"""The ASGI middleware every request passes through, outermost after Starlette's own.

Per request, in order: the correlation id (``X-Correlation-ID``, else the trace id of
``traceparent``, else a new one) is bound for logging and echoed in the response; a body
over the size limit is refused with 413; the host tracks the request as in-flight work (a
request that arrives while the service shuts down is refused with 503 and
``Connection: close``); a DI scope is opened for it and closed after the response, even
when the handler failed; the request runs within the time limit (504 beyond it). An
exception no handler answered becomes a 500 problem with an opaque id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Collection
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portside._deadlines import Deadlines
from portside._failures import classify
from portside.di import ServiceProvider
from portside.host import Host, ShuttingDown
from portside.observability import (
    incoming_correlation_id,
    reset_correlation_id,
    set_correlation_id,
)

from ._inject import SCOPE_KEY
from ._problems import PayloadTooLarge, failure_response, problem
from ._settings import HttpSettings

__all__ = ["CORRELATION_HEADER", "PortsideMiddleware", "correlation_id_from"]

log = logging.getLogger("portside.http")

CORRELATION_HEADER = "x-correlation-id"
_HEADER = CORRELATION_HEADER.encode()
_SIZED = frozenset(("1.0", "1.1"))
"""HTTP versions whose requests carry a body only with a Content-Length or a
Transfer-Encoding header."""


def correlation_id_from(headers: Collection[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Correlation-ID``, the trace id of its ``traceparent``, or a new id
    (see :func:`portside.observability.incoming_correlation_id`)."""
    return _read_headers(headers)[0]


def _read_headers(headers: Collection[tuple[bytes, bytes]]) -> tuple[str, bytes | None, bool]:
    """In one pass: the correlation id (see :func:`correlation_id_from`), the
    ``Content-Length`` value, and whether a ``Transfer-Encoding`` is given."""
    given = traceparent = length = None
    encoded = False
    for name, value in headers:
        if name == b"content-length":
            length = value
        elif name == _HEADER:
            given = value.decode("latin-1")
        elif name == b"traceparent":
            traceparent = value.decode("latin-1")
        elif name == b"transfer-encoding":
            encoded = True
    return incoming_correlation_id(given, traceparent), length, encoded


class PortsideMiddleware:
    """See the module docstring; ``bypass`` lists paths served without a DI scope or
    in-flight tracking (the health routes, which must answer while shutting down)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        provider: ServiceProvider,
        host: Host | None,
        settings: HttpSettings,
        bypass: Collection[str] = (),
    ) -> None:
        self.app = app
        self.provider = provider
        self.max_body = settings.max_body_bytes
        self.timeout = settings.request_timeout
        self.deadlines = Deadlines(settings.request_timeout)
        self.bypass = frozenset(bypass)
        self.wants_request = provider.accepts_context(Request)
        self.work: contextlib.AbstractContextManager[None] = (
            contextlib.nullcontext() if host is None else host.work()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id, length, encoded = _read_headers(scope["headers"])
        token = set_correlation_id(correlation_id)
        echoed = (_HEADER, correlation_id.encode())
        started = False

        def send_echoing(message: Message) -> Awaitable[None]:
            # Not a coroutine function: it hands back the server's own awaitable, which
            # spares a coroutine per message (ASGI asks only that send be awaitable).
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), echoed]
            return send(message)

        # One coroutine per request for everything this middleware does: it runs for
        # every request, and each further frame is a noticeable part of a small one.
        try:
            declared = None if length is None else _declared_length(length)
            if declared is not None:  # the server delivers no more body than it declares
                if declared > self.max_body:
                    await _too_large(self.max_body, scope["path"])(scope, receive, send_echoing)
                    return
            elif length is not None or encoded or scope.get("http_version") not in _SIZED:
                receive = _limited(receive, self.max_body)  # counted as it arrives
            if scope["path"] in self.bypass:
                await self.app(scope, receive, send_echoing)
                return
            with self.work:
                di_scope = self.provider.create_scope(
                    None, partial(_request_of, scope, receive) if self.wants_request else None
                )
                scope[SCOPE_KEY] = di_scope
                try:
                    # Deadlines.limit() written out: two calls instead of four per request.
                    limit = self.deadlines.enter()
                    cancelled = None
                    try:
                        await self.app(scope, receive, send_echoing)
                    except asyncio.CancelledError as exc:
                        cancelled = exc
                        raise
                    finally:
                        # TimeoutError instead of the cancellation, if the limit expired.
                        self.deadlines.leave(limit, cancelled)
                finally:
                    # The DI scope holds this dict (through the function that makes the
                    # Request, and the Request if it was made): without this, every
                    # request would leave a reference cycle for the garbage collector.
                    del scope[SCOPE_KEY]
                    await di_scope.aclose()
        except Exception as exc:
            answer = self._answer(exc, scope, started=started)
            if answer is None:
                raise
            await answer(scope, receive, send_echoing)
        finally:
            reset_correlation_id(token)

    def _answer(self, exc: Exception, scope: Scope, *, started: bool) -> ASGIApp | None:
        """The response to a request that ``exc`` ended, or ``None`` to let ``exc`` go on
        (a response already started can only be cut off, by the server)."""
        if isinstance(exc, ShuttingDown):
            return failure_response(classify(exc), instance=scope["path"])
        if isinstance(exc, TimeoutError):
            log.warning("%s %s exceeded %g s", scope["method"], scope["path"], self.timeout)
            detail = f"the request took longer than {self.timeout:g} s"
            return None if started else problem(504, detail, instance=scope["path"])
        if started:
            return None
        failure = classify(exc, where=f"{scope['method']} {scope['path']}")
        return failure_response(failure, instance=scope["path"])


def _request_of(scope: Scope, receive: Receive, service: Any) -> Request:
    """The lazy context of a request's DI scope (bound to the request with ``partial``):
    the :class:`Request`, made only if a service resolved in the scope takes it."""
    if service is Request:
        return Request(scope, receive)
    raise LookupError(service)


def _declared_length(value: bytes) -> int | None:
    """The Content-Length, if it is a number."""
    try:
        return int(value)
    except ValueError:
        return None


def _too_large(limit: int, path: str) -> Any:
    return problem(413, f"the request body is larger than {limit} bytes", instance=path)


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`PayloadTooLarge` once the body passes ``limit``
    (for bodies sent without a Content-Length)."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(limit)
        return message

    return receive_limited
