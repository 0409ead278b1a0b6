"""An in-process broker that behaves like the real ones: durable queues per consumer group,
acknowledgements, delayed redelivery, dead letters, per-key ordering within a group."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from portside.messaging._errors import BrokerUnavailable
from portside.messaging._transport import Consumer, DeadLetter

__all__ = ["MemoryBroker", "MemoryTransport"]


@dataclass
class _Message:
    id: str
    topic: str
    group: str
    body: str
    key: str | None
    attempt: int = 1
    errors: list[str] = field(default_factory=list)


class _Queue:
    """One consumer group's queue of one topic."""

    def __init__(self) -> None:
        self.ready: deque[_Message] = deque()
        self.busy_keys: set[str] = set()
        self.changed = asyncio.Condition()

    async def put(self, message: _Message) -> None:
        async with self.changed:
            self.ready.append(message)
            self.changed.notify()  # one message: one worker (a blocked key re-notifies on done)

    async def take(self) -> _Message:
        """The oldest message whose key is not being handled (per-key ordering)."""
        async with self.changed:
            while True:
                for index, message in enumerate(self.ready):
                    if message.key is None or message.key not in self.busy_keys:
                        del self.ready[index]
                        if message.key is not None:
                            self.busy_keys.add(message.key)
                        return message
                await self.changed.wait()

    async def put_back(self, message: _Message) -> None:
        """Return a message that was taken but not delivered, at the front."""
        async with self.changed:
            if message.key is not None:
                self.busy_keys.discard(message.key)
            self.ready.appendleft(message)
            self.changed.notify()

    async def done(self, message: _Message) -> None:
        async with self.changed:
            if message.key is not None:
                self.busy_keys.discard(message.key)
                if self.ready:
                    self.changed.notify()  # a message of this key may be waiting


class MemoryBroker:
    """The "server": queues and dead letters outlive every transport connected to it."""

    def __init__(self) -> None:
        self.queues: dict[tuple[str, str], _Queue] = {}
        self.dead: dict[str, DeadLetter] = {}
        self.available = True
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return str(next(self._ids))

    def queue(self, topic: str, group: str) -> _Queue:
        found = self.queues.get((topic, group))
        if found is None:
            found = self.queues[(topic, group)] = _Queue()
        return found

    def check(self) -> None:
        if not self.available:
            raise BrokerUnavailable("the in-memory broker is marked unavailable")


class _Delivery:
    def __init__(self, broker: MemoryBroker, queue: _Queue, message: _Message) -> None:
        self._broker, self._queue, self._message = broker, queue, message
        self.body = message.body
        self.attempt = message.attempt
        self.settled = False

    async def ack(self) -> None:
        self.settled = True
        await self._queue.done(self._message)

    async def retry(self, delay: float, *, error: str) -> None:
        self.settled = True
        message = self._message
        message.attempt += 1
        message.errors.append(error)
        await self._queue.done(message)
        loop = asyncio.get_running_loop()
        loop.call_later(delay, lambda: loop.create_task(self._queue.put(message)))

    async def dead_letter(self, reason: str) -> None:
        self.settled = True
        message = self._message
        try:
            headers = dict(json.loads(message.body).get("headers") or {})
        except (ValueError, AttributeError):
            headers = {}
        self._broker.dead[message.id] = DeadLetter(
            message.id,
            message.topic,
            message.group,
            message.body,
            reason,
            message.attempt,
            datetime.now(UTC),
            headers,
        )
        await self._queue.done(message)


class _Subscription:
    def __init__(
        self, broker: MemoryBroker, topic: str, group: str, consumer: Consumer, prefetch: int
    ) -> None:
        self.topic, self.group = topic, group
        self._broker = broker
        self._queue = broker.queue(topic, group)
        self._consumer = consumer
        self._taking = True
        self._busy: dict[asyncio.Task[None], _Delivery] = {}
        self._workers = [asyncio.create_task(self._work()) for _ in range(max(1, prefetch))]

    async def _work(self) -> None:
        while self._taking:
            message = await self._queue.take()
            if self.stopped():
                await self._queue.put_back(message)
                return
            delivery = _Delivery(self._broker, self._queue, message)
            task = asyncio.current_task()
            assert task is not None
            self._busy[task] = delivery
            try:
                await self._consumer(delivery)
            except asyncio.CancelledError:
                if not delivery.settled:  # not acknowledged: it comes back
                    message.attempt += 1
                    await self._queue.put_back(message)
                raise
            except Exception as exc:  # noqa: BLE001 - a consumer crash is a failed delivery
                if not delivery.settled:
                    await delivery.retry(0.0, error=f"{type(exc).__name__}: {exc}")
            finally:
                self._busy.pop(task, None)

    def stopped(self) -> bool:
        return not self._taking

    async def cancel(self, *, drain_seconds: float = 10.0) -> None:
        self._taking = False
        idle = [w for w in self._workers if w not in self._busy]
        for worker in idle:
            worker.cancel()
        busy = [w for w in self._workers if w in self._busy]
        if busy:
            await asyncio.wait(busy, timeout=drain_seconds)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker


class MemoryTransport:
    """A transport connected to a :class:`MemoryBroker`."""

    name = "memory"

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker
        self._subscriptions: list[_Subscription] = []

    async def start(self) -> None:
        self.broker.check()

    async def close(self) -> None:
        for subscription in self._subscriptions:
            await subscription.cancel(drain_seconds=0)
        self._subscriptions.clear()

    async def ping(self) -> None:
        self.broker.check()

    async def publish(
        self, topic: str, body: str, *, key: str | None = None, message_id: str | None = None
    ) -> None:
        self.broker.check()
        for (queue_topic, group), queue in list(self.broker.queues.items()):
            if queue_topic == topic:
                await queue.put(_Message(self.broker.next_id(), topic, group, body, key))

    async def subscribe(
        self, topic: str, group: str, consumer: Consumer, *, prefetch: int
    ) -> _Subscription:
        self.broker.check()
        subscription = _Subscription(self.broker, topic, group, consumer, prefetch)
        self._subscriptions.append(subscription)
        return subscription

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]:
        return [d for d in self.broker.dead.values() if group in (None, d.group)]

    async def redrive(self, ids: Sequence[str]) -> int:
        count = 0
        for dead_id in ids:
            dead = self.broker.dead.pop(dead_id, None)
            if dead is None:
                continue
            key = json.loads(dead.body).get("key") if dead.body.startswith("{") else None
            message = _Message(self.broker.next_id(), dead.topic, dead.group, dead.body, key)
            await self.broker.queue(dead.topic, dead.group).put(message)
            count += 1
        return count
