"""Redis Streams through redis-py: a stream per topic, a consumer group per group,
a per-group retry stream fed by a delay schedule (a sorted set), claiming of entries left
pending by crashed consumers, and a dead-letter stream.

Acknowledgements travel with the subscription's next read: a settled delivery's entry id is
recorded, and the reader sends the recorded XACKs and its next XREADGROUP in one round
trip. While deliveries are in flight the reader blocks for at most ``ACK_DELAY``, so an
acknowledgement waits no longer than that; an idle reader blocks longer. Acknowledgements
still unsent when a subscription stops are sent after its deliveries have drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portside.config import mask_url
from portside.messaging._errors import BrokerUnavailable
from portside.messaging._keyed import KeyedTasks
from portside.messaging._transport import Consumer, DeadLetter

__all__ = ["RedisTransport"]

MAXLEN = 100_000  # entries kept per topic stream (approximately)
ACK_DELAY = 0.01  # seconds an acknowledgement may wait for the reader's next read
IDLE_BLOCK = 0.3  # seconds a reader with nothing in flight blocks for new entries


def _unavailable(exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(f"Redis is unavailable: {mask_url(str(exc)) or type(exc).__name__}")


_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class _Delivery:
    envelope = None  # the body is the envelope

    def __init__(
        self, sub: _Subscription, stream: str, entry_id: str, fields: dict[str, str]
    ) -> None:
        self._sub, self._stream, self._id, self._fields = sub, stream, entry_id, fields
        self.body = fields["body"]
        self.attempt = int(fields.get("attempt", "1"))
        self.settled = False

    async def ack(self) -> None:
        self.settled = True
        self._sub.acknowledge(self._stream, self._id)

    async def retry(self, delay: float, *, error: str) -> None:
        fields = {**self._fields, "attempt": str(self.attempt + 1)}
        await self._sub.transport.schedule(self._sub.retry_stream, fields, delay)
        await self.ack()

    async def dead_letter(self, reason: str) -> None:
        transport = self._sub.transport
        await transport.client.xadd(
            transport.dead_stream,
            {
                "body": self.body,
                "key": self._fields.get("key", ""),
                "topic": self._sub.topic,
                "group": self._sub.group,
                "reason": reason,
                "attempts": str(self.attempt),
                "failed_at": datetime.now(UTC).isoformat(),
            },
        )
        await self.ack()


class _Subscription:
    def __init__(self, transport: RedisTransport, topic: str, group: str) -> None:
        self.topic, self.group = topic, group
        self.transport = transport
        self.stream = transport.topic_stream(topic)
        self.retry_stream = transport.retry_stream(topic, group)
        self.consumer = uuid.uuid4().hex[:12]
        self._task: asyncio.Task[None] | None = None
        self._tasks = KeyedTasks()
        self._taking = True
        self._acks: list[tuple[str, str]] = []

    async def start(self, consumer: Consumer, prefetch: int) -> None:
        client = self.transport.client
        for stream, start in ((self.stream, "$"), (self.retry_stream, "0")):
            try:
                await client.xgroup_create(stream, self.group, id=start, mkstream=True)
            except RedisError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._task = asyncio.create_task(self._read(consumer, prefetch))

    def acknowledge(self, stream: str, entry_id: str) -> None:
        """Record that ``entry_id`` of ``stream`` is settled; the next read sends its XACK."""
        self._acks.append((stream, entry_id))

    def _send_acks(self, pipe: Any, acks: list[tuple[str, str]]) -> None:
        for stream in (self.stream, self.retry_stream):
            ids = [entry_id for in_stream, entry_id in acks if in_stream == stream]
            if ids:
                pipe.xack(stream, self.group, *ids)
                if stream == self.retry_stream:  # a retry entry is a copy: it goes
                    pipe.xdel(stream, *ids)

    async def _read(self, consumer: Consumer, prefetch: int) -> None:
        client = self.transport.client
        claim_after = int(self.transport.claim_idle * 1000)
        last_claim = 0.0
        while self._taking:
            room = prefetch - len(self._tasks)
            if room <= 0:
                await self._tasks.one_done()
                continue
            acks, self._acks = self._acks, []
            try:
                if time.monotonic() - last_claim > self.transport.claim_idle / 2:
                    last_claim = time.monotonic()
                    for stream in (self.stream, self.retry_stream):
                        claimed = await client.xautoclaim(
                            stream, self.group, self.consumer, claim_after, "0-0", count=room
                        )
                        for entry_id, found in claimed[1]:
                            if found:  # entries deleted meanwhile come back empty
                                again = str(int(found.get("attempt", "1")) + 1)
                                self._spawn(stream, entry_id, {**found, "attempt": again}, consumer)
                busy = acks or self._tasks
                pipe = client.pipeline(transaction=False)
                self._send_acks(pipe, acks)
                pipe.xreadgroup(
                    self.group,
                    self.consumer,
                    {self.stream: ">", self.retry_stream: ">"},
                    count=room,
                    block=int((ACK_DELAY if busy else IDLE_BLOCK) * 1000),
                )
                replies = (await pipe.execute())[-1]
            except _DOWN:
                self._acks[:0] = acks  # sent again with the next read (XACK is idempotent)
                await asyncio.sleep(0.5)  # the pool reconnects; poll again
                continue
            except BaseException:
                self._acks[:0] = acks
                raise
            for stream, entries in replies or ():
                for entry_id, fields in entries:
                    self._spawn(stream, entry_id, fields, consumer)

    async def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        if not acks:
            return
        pipe = self.transport.client.pipeline(transaction=False)
        self._send_acks(pipe, acks)
        try:
            await pipe.execute()
        except _DOWN:  # unacknowledged: claimed and delivered again after claim_idle
            return

    def _spawn(
        self, stream: str, entry_id: str, fields: dict[str, str], consumer: Consumer
    ) -> None:
        async def handle() -> None:
            delivery = _Delivery(self, stream, entry_id, fields)
            with contextlib.suppress(Exception):  # unsettled: reclaimed after claim_idle
                await consumer(delivery)

        self._tasks.spawn(fields.get("key") or None, handle)

    async def cancel(self, *, drain_seconds: float = 10.0) -> None:
        self._taking = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._tasks.drain(drain_seconds)
        await self._flush_acks()


class RedisTransport:
    """A transport over a Redis client; ``namespace`` prefixes every key."""

    name = "redis"

    def __init__(self, url: str, *, namespace: str = "portside", claim_idle: float = 30.0) -> None:
        self.url = url
        self.namespace = namespace
        self.claim_idle = claim_idle
        self._client: Redis | None = None
        self._subscriptions: list[_Subscription] = []
        self._mover: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def client(self) -> Any:  # decode_responses=True: every reply is text
        if self._client is None:
            raise BrokerUnavailable("the Redis transport is not started")
        return self._client

    def topic_stream(self, topic: str) -> str:
        return f"{self.namespace}:topic:{topic}"

    def retry_stream(self, topic: str, group: str) -> str:
        return f"{self.namespace}:retry:{group}:{topic}"

    @property
    def dead_stream(self) -> str:
        return f"{self.namespace}:dead"

    @property
    def delayed(self) -> str:
        return f"{self.namespace}:delayed"

    async def start(self) -> None:
        self._client = Redis.from_url(self.url, decode_responses=True)
        try:
            await self._client.ping()
        except _DOWN as exc:
            raise _unavailable(exc) from exc
        self._mover = asyncio.create_task(self._move_due())

    async def close(self) -> None:
        self._closing = True  # a client may turn a cancellation into a connection error
        for subscription in self._subscriptions:
            await subscription.cancel(drain_seconds=0)
        self._subscriptions.clear()
        if self._mover is not None:
            self._mover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mover
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def ping(self) -> None:
        try:
            await self.client.ping()
        except _DOWN as exc:
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
        try:
            await self.client.xadd(
                self.topic_stream(topic),
                {"body": body, "key": key or ""},
                maxlen=MAXLEN,
                approximate=True,
            )
        except _DOWN as exc:
            raise _unavailable(exc) from exc

    async def subscribe(
        self, topic: str, group: str, consumer: Consumer, *, prefetch: int
    ) -> _Subscription:
        subscription = _Subscription(self, topic, group)
        try:
            await subscription.start(consumer, prefetch)
        except _DOWN as exc:
            raise _unavailable(exc) from exc
        self._subscriptions.append(subscription)
        return subscription

    async def schedule(self, stream: str, fields: dict[str, str], delay: float) -> None:
        """Deliver ``fields`` to ``stream`` after ``delay`` seconds."""
        member = json.dumps({"stream": stream, "fields": fields, "nonce": uuid.uuid4().hex})
        await self.client.zadd(self.delayed, {member: time.time() + delay})

    async def _move_due(self) -> None:
        """Move due retries to their retry streams (any transport may; ZREM decides who)."""
        while not self._closing:
            try:
                due = await self.client.zrangebyscore(self.delayed, "-inf", time.time(), 0, 100)
                for member in due:
                    if await self.client.zrem(self.delayed, member):
                        item = json.loads(member)
                        await self.client.xadd(item["stream"], item["fields"])
                if not due:
                    await asyncio.sleep(0.02)
            except _DOWN:
                await asyncio.sleep(0.5)

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]:
        try:
            entries = await self.client.xrange(self.dead_stream)
        except _DOWN as exc:
            raise _unavailable(exc) from exc
        letters = [_letter(entry_id, fields) for entry_id, fields in entries]
        return [letter for letter in letters if group in (None, letter.group)]

    async def redrive(self, ids: Sequence[str]) -> int:
        count = 0
        try:
            for dead_id in ids:
                found = await self.client.xrange(self.dead_stream, dead_id, dead_id)
                if not found:
                    continue
                fields = found[0][1]
                await self.client.xadd(
                    self.retry_stream(fields["topic"], fields["group"]),
                    {"body": fields["body"], "key": fields.get("key", ""), "attempt": "1"},
                )
                await self.client.xdel(self.dead_stream, dead_id)
                count += 1
        except _DOWN as exc:
            raise _unavailable(exc) from exc
        return count


def _letter(entry_id: str, fields: dict[str, str]) -> DeadLetter:
    try:
        headers = dict(json.loads(fields["body"]).get("headers") or {})
    except (ValueError, AttributeError):
        headers = {}
    return DeadLetter(
        id=entry_id,
        topic=fields.get("topic", ""),
        group=fields.get("group", ""),
        body=fields.get("body", ""),
        reason=fields.get("reason", ""),
        attempts=int(fields.get("attempts", "1")),
        failed_at=datetime.fromisoformat(fields["failed_at"])
        if "failed_at" in fields
        else datetime.now(UTC),
        headers={str(k): str(v) for k, v in headers.items()},
    )
