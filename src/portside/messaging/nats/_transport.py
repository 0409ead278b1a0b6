"""NATS JetStream through nats-py: one stream for a namespace of subjects, a durable pull
consumer per group and topic, explicit acks, ``nak`` with a delay for retries, and a
dead-letter subject in the same stream."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from portside.config import mask_url
from portside.messaging._errors import BrokerUnavailable
from portside.messaging._keyed import KeyedTasks
from portside.messaging._transport import Consumer, DeadLetter

__all__ = ["NatsTransport"]

KEY = "Portside-Key"
REASON = "Portside-Reason"
ATTEMPTS = "Portside-Attempts"
TOPIC = "Portside-Topic"
GROUP = "Portside-Group"
FAILED_AT = "Portside-Failed-At"


def _unavailable(exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(f"NATS is unavailable: {mask_url(str(exc)) or type(exc).__name__}")


def _token(text: str) -> str:
    """A name NATS accepts for streams and consumers."""
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
    return clean[:40] + "_" + hashlib.sha1(text.encode()).hexdigest()[:10]  # noqa: S324 - a name


class _Delivery:
    envelope = None  # the body is the envelope

    def __init__(self, transport: NatsTransport, topic: str, group: str, msg: Msg) -> None:
        self._transport, self._topic, self._group, self._msg = transport, topic, group, msg
        self.body = msg.data.decode()
        self.settled = False

    @property
    def attempt(self) -> int:
        # Parsed from the reply subject on demand: the bus reads it only after a failure.
        return int(self._msg.metadata.num_delivered or 1)

    async def ack(self) -> None:
        self.settled = True
        await self._msg.ack()

    async def retry(self, delay: float, *, error: str) -> None:
        self.settled = True
        await self._msg.nak(delay=delay)

    async def dead_letter(self, reason: str) -> None:
        original = {k: v for k, v in (self._msg.headers or {}).items() if k != "Nats-Msg-Id"}
        headers = {
            **original,  # without its message id: JetStream would drop the copy as a duplicate
            REASON: reason,
            ATTEMPTS: str(self.attempt),
            TOPIC: self._topic,
            GROUP: self._group,
            FAILED_AT: datetime.now(UTC).isoformat(),
        }
        await self._transport.js().publish(
            self._transport.dead_subject(self._group), self._msg.data, headers=headers
        )
        self.settled = True
        await self._msg.term()


class _Subscription:
    def __init__(self, transport: NatsTransport, topic: str, group: str) -> None:
        self.topic, self.group = topic, group
        self._transport = transport
        self._task: asyncio.Task[None] | None = None
        self._tasks = KeyedTasks()
        self._taking = True

    async def start(self, consumer: Consumer, prefetch: int) -> None:
        transport = self._transport
        subject = transport.subject(self.topic)
        config = ConsumerConfig(
            durable_name=_token(f"{self.group}.{self.topic}"),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW,
            filter_subject=subject,
            ack_wait=30,
            max_ack_pending=max(prefetch * 4, 64),
        )
        subscription = await transport.js().pull_subscribe(
            subject, durable=config.durable_name, stream=transport.stream, config=config
        )
        self._task = asyncio.create_task(self._pull(subscription, consumer, prefetch))

    async def _pull(
        self, subscription: JetStreamContext.PullSubscription, consumer: Consumer, prefetch: int
    ) -> None:
        while self._taking:
            room = prefetch - len(self._tasks)
            if room <= 0:
                await self._tasks.one_done()
                continue
            try:
                messages = await subscription.fetch(batch=room, timeout=0.5)
            except (NatsTimeout, TimeoutError):  # nothing to deliver now
                continue
            except NatsError:
                await asyncio.sleep(0.5)  # disconnected: nats-py reconnects; poll again
                continue
            for msg in messages:
                self._spawn(msg, consumer)

    def _spawn(self, msg: Msg, consumer: Consumer) -> None:
        key = (msg.headers or {}).get(KEY)

        async def handle() -> None:
            delivery = _Delivery(self._transport, self.topic, self.group, msg)
            try:
                await consumer(delivery)
            except Exception:  # noqa: BLE001 - an unsettled delivery comes back
                if not delivery.settled:
                    await msg.nak()

        self._tasks.spawn(key or None, handle)

    async def cancel(self, *, drain_seconds: float = 10.0) -> None:
        self._taking = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # What was not acknowledged, JetStream redelivers after ack_wait.
        await self._tasks.drain(drain_seconds)


class NatsTransport:
    """A transport over one NATS connection (nats-py reconnects by itself)."""

    name = "nats"

    def __init__(
        self, url: str, *, namespace: str = "portside", connect_timeout: float = 5.0
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.stream = _token(namespace)
        self.connect_timeout = connect_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subscriptions: list[_Subscription] = []

    def subject(self, topic: str) -> str:
        return f"{self.namespace}.{topic}"

    def dead_subject(self, group: str) -> str:
        return f"{self.namespace}._dead.{_token(group)}"

    def js(self) -> JetStreamContext:
        if self._js is None:
            raise BrokerUnavailable("the NATS transport is not started")
        return self._js

    async def start(self) -> None:
        try:
            self._nc = await nats.connect(
                self.url, connect_timeout=self.connect_timeout, max_reconnect_attempts=-1
            )
            self._js = self._nc.jetstream()
            try:
                await self._js.stream_info(self.stream)
            except NotFoundError:
                await self._js.add_stream(name=self.stream, subjects=[f"{self.namespace}.>"])
        except (NatsError, OSError, TimeoutError) as exc:
            raise _unavailable(exc) from exc

    async def close(self) -> None:
        for subscription in self._subscriptions:
            await subscription.cancel(drain_seconds=0)
        self._subscriptions.clear()
        if self._nc is not None:
            with contextlib.suppress(NatsError):
                await self._nc.close()
            self._nc = self._js = None

    async def delete_namespace(self) -> None:
        """Remove the stream with every message and consumer (for tests and tooling)."""
        with contextlib.suppress(NotFoundError):
            await self.js().delete_stream(self.stream)

    async def ping(self) -> None:
        if self._nc is None or not self._nc.is_connected:
            raise BrokerUnavailable("the NATS connection is down")
        try:
            await self.js().stream_info(self.stream)
        except (NatsError, TimeoutError) as exc:
            raise _unavailable(exc) from exc

    async def publish(
        self,
        topic: str,
        body: str,
        *,
        key: str | None = None,
        message_id: str | None = None,
        dedupe: bool = False,
    ) -> None:
        headers: dict[str, str] = {}
        if key is not None:
            headers[KEY] = key
        if dedupe and message_id:
            headers["Nats-Msg-Id"] = message_id  # JetStream drops repeats within its window
        try:
            await self.js().publish(self.subject(topic), body.encode(), headers=headers or None)
        except (NatsError, OSError, TimeoutError) as exc:
            raise _unavailable(exc) from exc

    async def subscribe(
        self, topic: str, group: str, consumer: Consumer, *, prefetch: int
    ) -> _Subscription:
        subscription = _Subscription(self, topic, group)
        try:
            await subscription.start(consumer, prefetch)
        except (NatsError, OSError, TimeoutError) as exc:
            raise _unavailable(exc) from exc
        self._subscriptions.append(subscription)
        return subscription

    async def _dead(self) -> list[Msg]:
        js = self.js()
        subscription = await js.pull_subscribe(
            f"{self.namespace}._dead.>",
            stream=self.stream,
            config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
        )
        found: list[Msg] = []
        try:
            while True:
                try:
                    found += await subscription.fetch(batch=100, timeout=0.5)
                except (NatsTimeout, TimeoutError):  # nothing more to read
                    break
        finally:
            await subscription.unsubscribe()
        return found

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]:
        try:
            letters = [_letter(m) for m in await self._dead()]
        except (NatsError, TimeoutError) as exc:
            raise _unavailable(exc) from exc
        return [letter for letter in letters if group in (None, letter.group)]

    async def redrive(self, ids: Sequence[str]) -> int:
        wanted = set(ids)
        count = 0
        try:
            for msg in await self._dead():
                letter = _letter(msg)
                if letter.id not in wanted:
                    continue
                headers = {KEY: msg.headers[KEY]} if msg.headers and KEY in msg.headers else None
                await self.js().publish(self.subject(letter.topic), msg.data, headers=headers)
                await self.js().delete_msg(self.stream, int(letter.id))
                count += 1
        except (NatsError, TimeoutError) as exc:
            raise _unavailable(exc) from exc
        return count


def _letter(msg: Msg) -> DeadLetter:
    h: dict[str, Any] = dict(msg.headers or {})
    body = msg.data.decode()
    try:
        envelope_headers = dict(json.loads(body).get("headers") or {})
    except (ValueError, AttributeError):
        envelope_headers = {}
    failed = h.get(FAILED_AT)
    return DeadLetter(
        id=str(msg.metadata.sequence.stream),
        topic=str(h.get(TOPIC, "")),
        group=str(h.get(GROUP, "")),
        body=body,
        reason=str(h.get(REASON, "")),
        attempts=int(h.get(ATTEMPTS, 1)),
        failed_at=datetime.fromisoformat(failed) if failed else datetime.now(UTC),
        headers={str(k): str(v) for k, v in envelope_headers.items()},
    )
