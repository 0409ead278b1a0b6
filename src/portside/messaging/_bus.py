"""The event bus: publish, subscribe, unsubscribe, request/reply, over any transport.

```python
bus = Bus(transport, provider=provider)          # provider: handlers get a DI scope each
await bus.subscribe(OrderPlaced, ReserveStock, group="shipping")
await bus.publish(OrderPlaced(order_id="o1"))    # inside `async with uow:` -> the outbox
reply = await bus.request(GetQuote(sku="x"), timeout=5)
```

Every delivery is handled in its own DI scope with the incoming correlation id bound; a
handler's unit of work commits the inbox record with its effects, so a redelivered
message is acknowledged without running the handler again. A failing handler is retried
with backoff, then dead-lettered; a message that can never be handled (unknown type or
version, invalid payload) is dead-lettered at once.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portside.config import mask_url
from portside.di import Injection, ServiceProvider, injections, require_injections
from portside.observability import reset_correlation_id, set_correlation_id
from portside.storage import AlreadyProcessed, UnitOfWork, active_unit_of_work, current_delivery

from ._codec import Codec, Outgoing, current_causation
from ._errors import MessagingError, PoisonMessage, RequestTimeout
from ._message import Envelope, envelope_json, message_name
from ._transport import Delivery, InProcessTransport, RetryPolicy, Subscription, Transport

__all__ = ["Bus", "Handle"]

log = logging.getLogger("portside.messaging")


@dataclass
class Handle:
    """A subscription made through :meth:`Bus.subscribe`."""

    event_type: type
    group: str
    topic: str
    handler: Any
    retry: RetryPolicy
    takes_envelope: bool
    injected: tuple[Injection, ...] = ()
    """The handler's ``Inject`` parameters, resolved per delivery and passed by name."""
    subscription: Subscription | None = field(default=None, repr=False)


def _target(handler: Any) -> Any:
    """What a delivery calls: the handler, or the ``__call__`` of a handler class."""
    return handler.__call__ if isinstance(handler, type) else handler


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _takes_envelope(handler: Any, injected: tuple[Injection, ...] = ()) -> bool:
    try:
        parameters = list(inspect.signature(_target(handler)).parameters.values())
    except (TypeError, ValueError):
        return False
    if isinstance(handler, type):
        parameters = parameters[1:]  # self
    names = {i.name for i in injected}  # passed by name, never the envelope
    return len([p for p in parameters if p.kind in _POSITIONAL and p.name not in names]) >= 2


def _injections(handler: Any, where: str) -> tuple[Injection, ...]:
    """The handler's ``Inject`` parameters. A handler whose annotations cannot be read (a
    name only imported for type checkers) injects nothing, unless one of them says
    ``Inject``: then it fails, naming the problem."""
    try:
        return injections(_target(handler), where)
    except TypeError:
        try:
            raw = inspect.signature(_target(handler)).parameters.values()
        except (TypeError, ValueError):
            return ()
        if any("Inject" in str(p.annotation) for p in raw):
            raise
        return ()


class Bus:
    """The :class:`~portside.messaging.EventBus` of one service."""

    def __init__(
        self,
        transport: Transport,
        *,
        provider: ServiceProvider | None = None,
        retry: RetryPolicy | None = None,
        prefetch: int = 16,
        topic_prefix: str = "",
    ) -> None:
        self.transport = transport
        self._hand_over = (
            transport.publish_envelope if isinstance(transport, InProcessTransport) else None
        )
        self.codec = Codec()
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.prefetch = prefetch
        self.topic_prefix = topic_prefix
        self._handles: list[Handle] = []
        self._id = uuid.uuid4().hex[:12]
        self._replies: dict[str, asyncio.Future[Envelope]] = {}
        self._reply_handle: Subscription | None = None
        self._reply_lock = asyncio.Lock()
        self.stats: collections.Counter[str] = collections.Counter()
        """Outcomes of deliveries: handled, duplicate, retried, dead_lettered."""

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def reply_topic(self) -> str:
        return f"{self.topic_prefix}_reply.{self._id}"

    # -- publishing -------------------------------------------------------------------------
    async def publish(
        self, event: object, *, key: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Publish ``event``; inside a unit of work it goes out through the outbox when the
        unit of work commits (and not at all if it rolls back)."""
        uow = active_unit_of_work.get()
        if uow is not None:
            uow.stage(Outgoing(event, key, headers or {}))
            return
        fields = self.codec._fields(event, key, headers, None)
        topic = self.topic(fields["type"])
        if self._hand_over is not None:
            await self._hand_over(topic, Envelope._from_fields(fields))
        else:  # no Envelope: only its JSON
            await self.transport.publish(
                topic, envelope_json(fields), key=fields["key"], message_id=fields["message_id"]
            )

    async def _send(self, topic: str, envelope: Envelope) -> None:
        if self._hand_over is not None:
            await self._hand_over(topic, envelope)
        else:
            await self.transport.publish(
                topic, envelope.to_json(), key=envelope.key, message_id=envelope.message_id
            )

    async def request(
        self,
        command: object,
        *,
        timeout: float,  # noqa: ASYNC109 - the port's signature: request(command, *, timeout)
        key: str | None = None,
    ) -> object:
        """Send ``command`` and wait up to ``timeout`` seconds for the reply; the responder
        may come online within that time. Raises :class:`RequestTimeout`."""
        await self._listen_for_replies()
        envelope = self.codec.envelope(command, key=key, reply_to=self.reply_topic)
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._replies[envelope.message_id] = future
        try:
            await self._send(self.topic(envelope.type), envelope)
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError as exc:
            raise RequestTimeout(
                f"no reply to {envelope.type} ({envelope.message_id}) within {timeout:g} s"
            ) from exc
        finally:
            self._replies.pop(envelope.message_id, None)
        if reply.headers.get("error"):
            raise MessagingError(f"the responder failed: {reply.headers['error']}")
        return self.codec.decode(reply)

    async def _listen_for_replies(self) -> None:
        async with self._reply_lock:
            if self._reply_handle is None:
                self._reply_handle = await self.transport.subscribe(
                    self.reply_topic, self._id, self._on_reply, prefetch=self.prefetch
                )

    async def _on_reply(self, delivery: Delivery) -> None:
        try:
            envelope = delivery.envelope or Envelope.from_json(delivery.body)
        except ValueError as exc:
            await delivery.dead_letter(f"malformed reply envelope: {exc}")
            return
        future = self._replies.get(envelope.causation_id or "")
        if future is not None and not future.done():
            future.set_result(envelope)
        else:
            log.info("a reply to %s arrived after its request gave up", envelope.causation_id)
        await delivery.ack()

    # -- subscribing ------------------------------------------------------------------------
    async def subscribe(
        self,
        event_type: type,
        handler: Any,
        *,
        group: str,
        prefetch: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> Handle:
        """Handle ``event_type`` in consumer ``group``: subscribers in one group share the
        work, each group gets every event. ``handler`` is an async function taking the
        event (and, optionally, the envelope) or a class resolved from a fresh DI scope
        per delivery whose instances are called the same way; either may also take
        ``Inject[T]`` parameters, resolved from that scope (checked here: a service the
        provider cannot give fails the subscription)."""
        if not group:
            raise ValueError("a subscription needs a consumer group name")
        where = getattr(handler, "__qualname__", None) or repr(handler)
        injected = _injections(handler, where)
        if isinstance(handler, type) and self.provider is None:
            raise MessagingError(
                f"{where} is a class resolved per delivery: give the bus a "
                "provider (Bus(transport, provider=...))"
            )
        if injected:
            if self.provider is None:
                raise MessagingError(
                    f"{where} injects services: give the bus a provider "
                    "(Bus(transport, provider=...))"
                )
            require_injections(self.provider, where, injected, context=(Envelope,))
        self.codec.register(event_type)
        handle = Handle(
            event_type,
            group,
            self.topic(message_name(event_type)),
            handler,
            retry or self.retry,
            _takes_envelope(handler, injected),
            injected,
        )

        handle.subscription = await self.transport.subscribe(
            handle.topic,
            group,
            functools.partial(self._dispatch, handle),
            prefetch=prefetch or self.prefetch,
        )
        self._handles.append(handle)
        return handle

    async def unsubscribe(self, handle: Handle, *, drain_seconds: float = 10.0) -> None:
        """Stop this subscription; in-flight deliveries finish (bounded by ``drain_seconds``)."""
        if handle.subscription is not None:
            await handle.subscription.cancel(drain_seconds=drain_seconds)
            handle.subscription = None
        if handle in self._handles:
            self._handles.remove(handle)

    async def close(self, *, drain_seconds: float = 10.0) -> None:
        """Stop consuming: in-flight handlers finish (bounded), the rest is redelivered."""
        for handle in list(self._handles):
            await self.unsubscribe(handle, drain_seconds=drain_seconds)
        if self._reply_handle is not None:
            await self._reply_handle.cancel(drain_seconds=drain_seconds)
            self._reply_handle = None

    # -- handling ---------------------------------------------------------------------------
    async def _dispatch(self, handle: Handle, delivery: Delivery) -> None:
        try:
            envelope = delivery.envelope or Envelope.from_json(delivery.body)
            event = self.codec.decode(envelope, handle.event_type)
        except (ValueError, PoisonMessage) as exc:
            await delivery.dead_letter(f"cannot be handled: {exc}")
            self.stats["dead_lettered"] += 1
            return
        delivered = current_delivery.set((handle.group, envelope.message_id))
        caused = current_causation.set(envelope)
        try:
            correlated = set_correlation_id(envelope.correlation_id or envelope.message_id)
            try:
                if self.provider is None:
                    result = _call(handle.handler, handle, event, envelope)
                    if inspect.isawaitable(result):
                        result = await result
                else:
                    result = await self._run_in_scope(self.provider, handle, event, envelope)
            finally:
                reset_correlation_id(correlated)
            if envelope.reply_to and result is not None:
                reply = self.codec.envelope(result)
                await self._send(envelope.reply_to, reply)
        except AlreadyProcessed:
            log.info("%s was already processed by %s", envelope.message_id, handle.group)
            self.stats["duplicate"] += 1
            await delivery.ack()
            return
        except PoisonMessage as exc:
            await delivery.dead_letter(f"cannot be handled: {exc}")
            self.stats["dead_lettered"] += 1
            return
        except Exception as exc:  # noqa: BLE001 - a failing handler is retried, then dead-lettered
            reason = mask_url(f"{type(exc).__name__}: {exc}")
            if delivery.attempt >= handle.retry.max_attempts:
                log.error(
                    "%s failed %d time(s) in %s; dead-lettered: %s",
                    envelope.type,
                    delivery.attempt,
                    handle.group,
                    reason,
                )
                await delivery.dead_letter(f"handler failed {delivery.attempt} time(s): {reason}")
                self.stats["dead_lettered"] += 1
            else:
                delay = handle.retry.delay(delivery.attempt)
                log.warning(
                    "%s failed in %s (attempt %d), retrying in %.2f s: %s",
                    envelope.type,
                    handle.group,
                    delivery.attempt,
                    delay,
                    reason,
                )
                await delivery.retry(delay, error=reason)
                self.stats["retried"] += 1
            return
        finally:
            current_causation.reset(caused)
            current_delivery.reset(delivered)
        await delivery.ack()
        self.stats["handled"] += 1

    async def _run_in_scope(
        self, provider: ServiceProvider, handle: Handle, event: object, envelope: Envelope
    ) -> object:
        context = {Envelope: envelope} if provider.accepts_context(Envelope) else None
        async with provider.create_scope(context=context) as scope:
            if provider.has(UnitOfWork):
                uow = await scope.aget(UnitOfWork)
                async with uow:
                    if await uow.has_processed(handle.group, envelope.message_id):
                        raise AlreadyProcessed(envelope.message_id)
            handler = handle.handler
            if isinstance(handler, type):
                handler = await scope.aget(handler)
            if handle.injected:
                services = {}
                for i in handle.injected:
                    services[i.name] = await scope.aget(i.service, i.key)
                result = _call_with(handler, handle, event, envelope, services)
            else:
                result = _call(handler, handle, event, envelope)
            return (await result) if inspect.isawaitable(result) else result


def _call(handler: Any, handle: Handle, event: object, envelope: Envelope) -> Any:
    """What the handler returns: its result, or an awaitable of it."""
    return handler(event, envelope) if handle.takes_envelope else handler(event)


def _call_with(
    handler: Any, handle: Handle, event: object, envelope: Envelope, services: dict[str, Any]
) -> Any:
    """:func:`_call` for a handler that injects ``services``."""
    if handle.takes_envelope:
        return handler(event, envelope, **services)
    return handler(event, **services)
