"""What every call to a servicer passes through, as a ``grpc.aio`` server interceptor.

Per call, in order: the service name and the correlation id (``x-correlation-id``, else
the trace id of ``traceparent``, else a new one) are bound for logging, and the id is sent
back in the trailing metadata, with the status, whether the call succeeds or fails (initial
metadata would go out in a message of its own before the reply: about an eighth of a
small call's CPU time); the host tracks the call as in-flight work (a call that
arrives while the service shuts down is refused with UNAVAILABLE); a DI scope is opened,
the servicer is resolved from it, and so are the method's ``Inject`` parameters, and the
method runs within ``call_timeout``
(DEADLINE_EXCEEDED beyond it); the scope closes, running its clean-up even when the method
failed; an exception becomes a status through the classification HTTP shares.

Calls to services that were not declared with :class:`GrpcService` (health, reflection)
pass through untouched: they must answer while the service shuts down.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import grpc

from portside._deadlines import Deadlines
from portside._failures import classify
from portside.di import Injection, ServiceProvider, injections
from portside.host import Host
from portside.observability import (
    reset_correlation_id,
    reset_service_name,
    set_correlation_id,
    set_service_name,
)

from ._metadata import CORRELATION_KEY, correlation_id_from
from ._status import failure_status

__all__ = ["ScopedCalls"]

log = logging.getLogger("portside.grpc")

Context = grpc.aio.ServicerContext[Any, Any]

MakeHandler = Callable[..., grpc.RpcMethodHandler]
# grpc's handler factories are unannotated; these names give them their documented type.
_unary_unary: MakeHandler = grpc.unary_unary_rpc_method_handler
_unary_stream: MakeHandler = grpc.unary_stream_rpc_method_handler
_stream_unary: MakeHandler = grpc.stream_unary_rpc_method_handler
_stream_stream: MakeHandler = grpc.stream_stream_rpc_method_handler


class _Handler(Protocol):
    """The attributes grpc documents on a method handler (its abstract class declares none):
    the (de)serialisers, and the behaviour under the name of the method's kind."""

    request_deserializer: Callable[[bytes], Any] | None
    response_serializer: Callable[[Any], bytes] | None
    unary_unary: Callable[..., Any] | None
    unary_stream: Callable[..., Any] | None
    stream_unary: Callable[..., Any] | None
    stream_stream: Callable[..., Any] | None


@dataclass(frozen=True, slots=True)
class _Target:
    servicer: type
    rpc: str
    method: str  # "/package.Service/Rpc", for logs
    injected: tuple[Injection, ...]  # the method's Inject parameters


class ScopedCalls(grpc.aio.ServerInterceptor):
    """Runs each call of a declared service on a servicer resolved from its own DI scope.

    ``servicers`` maps fully-qualified service names to servicer classes; it is read when
    a method is first called, so the server can fill it while it registers the services.
    """

    def __init__(
        self,
        servicers: Mapping[str, type],
        *,
        provider: ServiceProvider,
        host: Host,
        service: str,
        call_timeout: float,
    ) -> None:
        self.servicers = servicers
        self.provider = provider
        self.host = host
        self.service = service
        self.call_timeout = call_timeout
        self.deadlines = Deadlines(call_timeout)  # the time limit HTTP requests run under too
        self.work = host.work()  # one in-flight unit per call; reusable, as in HTTP
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = str(handler_call_details.method)
        wrapped = self._wrapped.get(method)  # a method's handler never changes: wrap it once
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        name, _, rpc = method.lstrip("/").partition("/")
        servicer = self.servicers.get(name)
        if servicer is None or handler is None:  # not ours, or no such method
            return handler
        injected = injections(getattr(servicer, rpc), f"{servicer.__qualname__}.{rpc}")
        target = _Target(servicer, rpc, method, injected)
        wrapped = self._wrapped[method] = self._wrap(handler, target)
        return wrapped

    def _wrap(self, method: grpc.RpcMethodHandler, target: _Target) -> grpc.RpcMethodHandler:
        """The same method (same (de)serialisers) with a behaviour that runs it in a scope.

        The behaviour receives the request, or the request iterator of a client stream, and
        hands it to the servicer's method unchanged.
        """
        handler = cast("_Handler", method)
        codecs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None or handler.stream_unary is not None:

            async def one_response(argument: Any, context: Context) -> Any:
                return await self._run(target, argument, context, stream=False)

            make = _unary_unary if handler.unary_unary is not None else _stream_unary
            return make(one_response, **codecs)

        # A coroutine, not an async generator, that writes the responses: so the whole
        # stream runs inside the scope, the in-flight tracking and the time limit.
        async def responses(argument: Any, context: Context) -> None:
            await self._run(target, argument, context, stream=True)

        make = _unary_stream if handler.unary_stream is not None else _stream_stream
        return make(responses, **codecs)

    async def _run(self, target: _Target, argument: Any, context: Context, *, stream: bool) -> Any:
        metadata = context.invocation_metadata() or ()
        correlation = correlation_id_from((str(k), v) for k, v in metadata)
        # Set and reset, not the binding context managers: this runs for every call.
        service_token = set_service_name(self.service)
        correlation_token = set_correlation_id(correlation)
        echoed = ((CORRELATION_KEY, correlation),)
        try:
            context.set_trailing_metadata(echoed)  # kept by abort(), replaced by a status
            limit = None
            try:
                # The scope is outside the time limit: its clean-up always runs to the end.
                with self.work:
                    async with self.provider.create_scope() as scope:
                        # Deadlines.limit() written out, as the HTTP middleware has it.
                        limit = self.deadlines.enter()
                        cancelled = None
                        try:
                            servicer: Any = await scope.aget(target.servicer)
                            call = getattr(servicer, target.rpc)
                            if target.injected:
                                services = {}  # a loop: a comprehension is a call more
                                for i in target.injected:
                                    services[i.name] = await scope.aget(i.service, i.key)
                                result = call(argument, context, **services)
                            else:
                                result = call(argument, context)
                            if stream:
                                await _respond(result, context)
                                return None
                            return await result if inspect.isawaitable(result) else result
                        except asyncio.CancelledError as exc:
                            cancelled = exc
                            raise
                        finally:
                            # TimeoutError instead of the cancellation, if the limit expired.
                            self.deadlines.leave(limit, cancelled)
            except grpc.aio.AbortError:  # the servicer chose its status
                raise
            except TimeoutError as exc:
                if limit is not None and limit.expired:
                    log.warning(
                        "%s took longer than %g s; cancelled", target.method, self.call_timeout
                    )
                    await context.abort(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"the call took longer than the server allows ({self.call_timeout:g} s)",
                    )
                failure = classify(exc, where=target.method)
                await context.abort_with_status(failure_status(failure, echoed))
            except Exception as exc:  # noqa: BLE001 - every failure becomes a status
                failure = classify(exc, where=target.method)
                await context.abort_with_status(failure_status(failure, echoed))
        finally:
            reset_correlation_id(correlation_token)
            reset_service_name(service_token)


async def _respond(result: Any, context: Context) -> None:
    """Write a streaming method's responses: it may be an async generator, a coroutine that
    writes with ``context.write`` itself, or a plain iterable."""
    if isinstance(result, AsyncIterable):
        try:
            async for response in result:
                await context.write(response)
        finally:
            if inspect.isasyncgen(result):  # its clean-up runs now, not when collected
                await result.aclose()
    elif inspect.isawaitable(result):
        await result
    elif isinstance(result, Iterable):
        for response in result:
            await context.write(response)
