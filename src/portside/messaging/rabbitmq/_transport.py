"""RabbitMQ through aio-pika: a durable topic exchange, a durable queue per consumer group
and topic, publisher confirms, delayed retries through per-delay queues with a TTL that
dead-letter back to the group's queue (no broker plugin), and a dead-letter queue."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aiormq.exceptions import AMQPError

from portside.config import mask_url
from portside.messaging._errors import BrokerUnavailable
from portside.messaging._keyed import KeyedTasks
from portside.messaging._transport import Consumer, DeadLetter

from ._acks import ChannelAcks

__all__ = ["RabbitTransport"]

ATTEMPT = "x-portside-attempt"
TOPIC = "x-portside-topic"
GROUP = "x-portside-group"
REASON = "x-portside-reason"
FAILED_AT = "x-portside-failed-at"
KEY = "x-portside-key"
DEAD_ID = "x-portside-dead-id"


def _unavailable(exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(f"RabbitMQ is unavailable: {mask_url(str(exc)) or type(exc).__name__}")


class _Delivery:
    envelope = None  # the body is the envelope

    def __init__(
        self,
        transport: RabbitTransport,
        subscription: _Subscription,
        queue: str,
        message: AbstractIncomingMessage,
        acks: ChannelAcks,
    ) -> None:
        self._transport, self._queue, self._message = transport, queue, message
        self._topic, self._group = subscription.topic, subscription.group
        self._acks, self._tag = acks, int(message.delivery_tag or 0)
        self.body = message.body.decode()
        self.attempt = int((message.headers or {}).get(ATTEMPT, 1))  # type: ignore[arg-type]
        self.settled = False

    async def ack(self) -> None:
        self.settled = True
        await self._acks.ack(self._tag)

    async def retry(self, delay: float, *, error: str) -> None:
        headers = {**(self._message.headers or {}), ATTEMPT: self.attempt + 1}
        await self._transport._delay(self._queue, self._message.body, headers, delay)
        self.settled = True
        await self._acks.ack(self._tag)

    async def dead_letter(self, reason: str) -> None:
        headers = {
            **(self._message.headers or {}),
            REASON: reason,
            FAILED_AT: datetime.now(UTC).isoformat(),
            ATTEMPT: self.attempt,
            TOPIC: self._topic,
            GROUP: self._group,
            DEAD_ID: f"{self._group}:{self._message.message_id or self._message.delivery_tag}",
        }
        await self._transport._dead(self._message.body, headers)
        self.settled = True
        await self._acks.ack(self._tag)


class _Subscription:
    def __init__(self, transport: RabbitTransport, topic: str, group: str) -> None:
        self.topic, self.group = topic, group
        self._transport = transport
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._acks: ChannelAcks | None = None
        self._tasks = KeyedTasks()
        self._taking = True

    async def start(self, consumer: Consumer, prefetch: int) -> None:
        transport = self._transport
        self._channel = await transport.connection().channel()
        await self._channel.set_qos(prefetch_count=prefetch)
        exchange = await self._channel.get_exchange(transport.exchange_name)
        name = transport.queue_name(self.topic, self.group)
        self._queue = await self._channel.declare_queue(name, durable=True)
        transport.declared.add(name)
        await self._queue.bind(exchange, routing_key=self.topic)

        async def on_message(message: AbstractIncomingMessage) -> None:
            if not self._taking:  # arrived while cancelling: back to the queue
                await message.nack(requeue=True)
                return
            key = (message.headers or {}).get(KEY)
            acks = self._channel_acks(message)
            tag = int(message.delivery_tag or 0)  # a consumed message always has one
            acks.delivered(tag)

            async def handle() -> None:
                delivery = _Delivery(transport, self, name, message, acks)
                try:
                    await consumer(delivery)
                except Exception:  # noqa: BLE001 - an unsettled delivery comes back
                    if not delivery.settled:
                        await message.nack(requeue=True)
                        acks.settled_elsewhere(tag)  # only once the nack is queued

            self._tasks.spawn(str(key) if key else None, handle)

        self._tag = await self._queue.consume(on_message)

    def _channel_acks(self, message: AbstractIncomingMessage) -> ChannelAcks:
        """The acks of the channel ``message`` came on (a new one after a reconnect)."""
        channel = message.channel
        acks = self._acks
        if acks is None or acks.channel is not channel:
            acks = self._acks = ChannelAcks(channel)
        return acks

    async def cancel(self, *, drain_seconds: float = 10.0) -> None:
        self._taking = False
        if self._queue is not None and self._tag is not None:
            with contextlib.suppress(AMQPError, RuntimeError):
                await self._queue.cancel(self._tag)
            self._tag = None
        await self._tasks.drain(drain_seconds)
        if self._channel is not None:
            with contextlib.suppress(AMQPError, RuntimeError):
                await self._channel.close()  # what was not acknowledged is redelivered
            self._channel = None


class RabbitTransport:
    """A transport over one robust connection (it reconnects after a broker restart)."""

    name = "rabbitmq"

    def __init__(
        self, url: str, *, exchange: str = "portside", connect_timeout: float = 5.0
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.connect_timeout = connect_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._subscriptions: list[_Subscription] = []
        self.declared: set[str] = set()  # queues this transport declared

    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise BrokerUnavailable("the RabbitMQ transport is not started")
        return self._connection

    def queue_name(self, topic: str, group: str) -> str:
        return f"{self.exchange_name}.{group}.{topic}"

    @property
    def dead_queue(self) -> str:
        return f"{self.exchange_name}.dead"

    async def start(self) -> None:
        try:
            self._connection = await aio_pika.connect_robust(self.url, timeout=self.connect_timeout)
            self._channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await self._channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await self._channel.declare_queue(self.dead_queue, durable=True)
        except (AMQPError, OSError, TimeoutError) as exc:
            raise _unavailable(exc) from exc

    async def close(self) -> None:
        for subscription in self._subscriptions:
            await subscription.cancel(drain_seconds=0)
        self._subscriptions.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def delete_namespace(self, queues: Sequence[str] = ()) -> None:
        """Delete the exchange, the dead-letter queue and the queues declared through this
        transport (and ``queues``), with their messages: for tests and tooling."""
        channel = await self.connection().channel()
        for name in sorted({*self.declared, *queues, self.dead_queue}):
            with contextlib.suppress(AMQPError):
                await channel.queue_delete(name)
        with contextlib.suppress(AMQPError):
            await channel.exchange_delete(self.exchange_name)
        await channel.close()

    async def ping(self) -> None:
        if self._connection is None or self._connection.is_closed or self._channel is None:
            raise BrokerUnavailable("the RabbitMQ connection is closed")
        try:
            await self._channel.get_exchange(self.exchange_name, ensure=True)
        except (AMQPError, OSError, RuntimeError) as exc:
            raise _unavailable(exc) from exc

    def _message(
        self, body: bytes, headers: dict[str, Any], *, message_id: str | None = None
    ) -> aio_pika.Message:
        return aio_pika.Message(
            body,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            message_id=message_id,
        )

    async def publish(
        self,
        topic: str,
        body: str,
        *,
        key: str | None = None,
        message_id: str | None = None,
        dedupe: bool = False,
    ) -> None:
        if self._exchange is None:
            raise BrokerUnavailable("the RabbitMQ transport is not started")
        headers: dict[str, Any] = {TOPIC: topic}
        if key is not None:
            headers[KEY] = key
        try:
            await self._exchange.publish(
                self._message(body.encode(), headers, message_id=message_id), routing_key=topic
            )
        except Exception as exc:
            raise _unavailable(exc) from exc

    async def subscribe(
        self, topic: str, group: str, consumer: Consumer, *, prefetch: int
    ) -> _Subscription:
        subscription = _Subscription(self, topic, group)
        try:
            await subscription.start(consumer, prefetch)
        except (AMQPError, OSError, RuntimeError) as exc:
            raise _unavailable(exc) from exc
        self._subscriptions.append(subscription)
        return subscription

    async def _delay(self, queue: str, body: bytes, headers: dict[str, Any], delay: float) -> None:
        """Park a message in a queue whose TTL dead-letters it back to ``queue``."""
        assert self._channel is not None
        milliseconds = max(1, int(delay * 1000))
        name = f"{queue}.retry.{milliseconds}"
        self.declared.add(name)
        await self._channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-message-ttl": milliseconds,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
                "x-expires": milliseconds * 2 + 60_000,
            },
        )
        await self._channel.default_exchange.publish(self._message(body, headers), routing_key=name)

    async def _dead(self, body: bytes, headers: dict[str, Any]) -> None:
        assert self._channel is not None
        await self._channel.default_exchange.publish(
            self._message(body, headers), routing_key=self.dead_queue
        )

    async def _hold_dead(self) -> tuple[AbstractChannel, list[AbstractIncomingMessage]]:
        """Every message of the dead-letter queue, held unacknowledged on a new channel:
        closing the channel puts back whatever was not acknowledged."""
        channel = await self.connection().channel()
        queue = await channel.declare_queue(self.dead_queue, durable=True)
        held = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            held.append(message)
        return channel, held

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]:
        try:
            channel, held = await self._hold_dead()
            letters = [_letter(m) for m in held]
            await channel.close()
        except (AMQPError, OSError, RuntimeError) as exc:
            raise _unavailable(exc) from exc
        return [letter for letter in letters if group in (None, letter.group)]

    async def redrive(self, ids: Sequence[str]) -> int:
        wanted = set(ids)
        count = 0
        try:
            channel, held = await self._hold_dead()
            for message in held:
                letter = _letter(message)
                if letter.id not in wanted:
                    continue
                headers: dict[str, Any] = {TOPIC: letter.topic}
                key = (message.headers or {}).get(KEY)
                if key:
                    headers[KEY] = key
                await channel.default_exchange.publish(
                    self._message(message.body, headers, message_id=message.message_id),
                    routing_key=self.queue_name(letter.topic, letter.group),
                )
                await message.ack()
                count += 1
            await channel.close()
        except (AMQPError, OSError, RuntimeError) as exc:
            raise _unavailable(exc) from exc
        return count


def _letter(message: AbstractIncomingMessage) -> DeadLetter:
    h = message.headers or {}
    body = message.body.decode()
    try:
        envelope_headers = dict(json.loads(body).get("headers") or {})
    except (ValueError, AttributeError):
        envelope_headers = {}
    return DeadLetter(
        id=str(h.get(DEAD_ID) or message.message_id or ""),
        topic=str(h.get(TOPIC, "")),
        group=str(h.get(GROUP, "")),
        body=body,
        reason=str(h.get(REASON, "")),
        attempts=int(h.get(ATTEMPT, 1)),  # type: ignore[arg-type]
        failed_at=datetime.fromisoformat(str(h.get(FAILED_AT)))
        if h.get(FAILED_AT)
        else datetime.now(UTC),
        headers={str(k): str(v) for k, v in envelope_headers.items()},
    )
