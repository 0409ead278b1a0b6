"""An in-process broker that behaves like the real ones: durable queues per consumer group,
acknowledgements, delayed redelivery, dead letters, per-key ordering within a group."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

from portside.messaging._errors import BrokerUnavailable
from portside.messaging._message import Envelope
from portside.messaging._transport import Consumer, DeadLetter

__all__ = ["MemoryBroker", "MemoryTransport"]


class _Queue:
    """One consumer group's queue of one topic: the deliveries waiting for a worker.

    Everything runs on one event loop, so nothing is locked: a worker takes a ready delivery
    at once, or waits as an idle worker; each delivery put wakes at most one idle worker.
    """

    def __init__(self, broker: MemoryBroker, topic: str, group: str) -> None:
        self.broker, self.topic, self.group = broker, topic, group
        self.ready: deque[_Delivery] = deque()
        self.busy_keys: set[str] = set()
        self.idle: deque[asyncio.Future[None]] = deque()

    def put(self, delivery: _Delivery) -> None:
        self.ready.append(delivery)
        if self.idle:
            self._wake()

    def take_nowait(self) -> _Delivery | None:
        """The oldest delivery whose key is not being handled (per-key ordering), if any."""
        ready, busy_keys = self.ready, self.busy_keys
        if ready and not busy_keys:  # nothing held back: the oldest goes
            delivery = ready.popleft()
            if delivery.key is not None:
                busy_keys.add(delivery.key)
            return delivery
        for index, delivery in enumerate(ready):
            key = delivery.key
            if key is None or key not in busy_keys:
                if index:
                    del ready[index]
                else:
                    ready.popleft()
                if key is not None:
                    busy_keys.add(key)
                return delivery
        return None

    async def take(self) -> _Delivery:
        """The next delivery :meth:`take_nowait` gives, waiting for one if need be."""
        while (delivery := self.take_nowait()) is None:
            waiter = asyncio.get_running_loop().create_future()
            self.idle.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken for a delivery, then cancelled: another worker takes it
                raise
        return delivery

    def put_back(self, delivery: _Delivery) -> None:
        """Return a delivery that was taken but not handled, at the front."""
        if delivery.key is not None:
            self.busy_keys.discard(delivery.key)
        self.ready.appendleft(delivery)
        self._wake()

    def done(self, delivery: _Delivery) -> None:
        if delivery.key is not None:
            self.busy_keys.discard(delivery.key)
            if self.ready:
                self._wake()  # a delivery of this key may be waiting

    def _wake(self) -> None:
        """Wake one idle worker, if there is one (cancelled waiters are skipped)."""
        idle = self.idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class MemoryBroker:
    """The "server": queues and dead letters outlive every transport connected to it.

    ``high_water``: while a queue that a publish lands on holds more deliveries than this,
    the publish yields to the event loop once, so that its consumers run before the next
    one. A broker's publish waits on its socket; without this, a loop of publishes here
    would never let a consumer run until it ends, and all of its messages would be held
    at once. Nothing waits for the queue to drain: a queue without consumers never blocks
    a publisher.
    """

    def __init__(self, *, high_water: int = 256) -> None:
        if high_water < 1:
            raise ValueError(f"high_water is at least 1, got {high_water}")
        self.queues: dict[str, dict[str, _Queue]] = {}
        """By topic, then consumer group."""
        self.dead: dict[str, DeadLetter] = {}
        self.available = True
        self.high_water = high_water
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return str(next(self._ids))

    def queue(self, topic: str, group: str) -> _Queue:
        groups = self.queues.setdefault(topic, {})
        found = groups.get(group)
        if found is None:
            found = groups[group] = _Queue(self, topic, group)
        return found

    def check(self) -> None:
        if not self.available:
            raise BrokerUnavailable("the in-memory broker is marked unavailable")


class _Delivery:
    """One delivery of a message to a group; a redelivery is a new one.

    Published by a bus, it carries the envelope itself and writes its body only when asked
    (a dead letter keeps the body); published as a body (the outbox relay, a redrive), it
    carries the body for the bus to parse, as a broker's delivery does.
    """

    __slots__ = ("_body", "attempt", "envelope", "key", "queue", "settled")

    def __init__(
        self,
        queue: _Queue,
        body: str | None,
        envelope: Envelope | None,
        key: str | None,
        attempt: int = 1,
    ) -> None:
        self.queue, self._body, self.envelope = queue, body, envelope
        self.key, self.attempt = key, attempt
        self.settled = False

    @property
    def body(self) -> str:
        if self._body is None:
            assert self.envelope is not None  # one of the two is always there
            self._body = self.envelope.to_json()
        return self._body

    def again(self) -> _Delivery:
        """The next delivery of the same message."""
        return _Delivery(self.queue, self._body, self.envelope, self.key, self.attempt + 1)

    async def ack(self) -> None:
        self.settled = True
        self.queue.done(self)

    async def retry(self, delay: float, *, error: str) -> None:
        self.settled = True
        self.queue.done(self)
        asyncio.get_running_loop().call_later(delay, self.queue.put, self.again())

    async def dead_letter(self, reason: str) -> None:
        self.settled = True
        queue = self.queue
        if self.envelope is not None:
            headers = dict(self.envelope.headers)
        else:
            try:
                headers = dict(json.loads(self.body).get("headers") or {})
            except (ValueError, AttributeError):
                headers = {}
        dead_id = queue.broker.next_id()
        queue.broker.dead[dead_id] = DeadLetter(
            dead_id,
            queue.topic,
            queue.group,
            self.body,
            reason,
            self.attempt,
            datetime.now(UTC),
            headers,
        )
        queue.done(self)


class _Subscription:
    def __init__(
        self, broker: MemoryBroker, topic: str, group: str, consumer: Consumer, prefetch: int
    ) -> None:
        self.topic, self.group = topic, group
        self._queue = broker.queue(topic, group)
        self._consumer = consumer
        self._taking = True
        self._waiting: set[asyncio.Task[None]] = set()
        self._workers = [asyncio.create_task(self._work()) for _ in range(max(1, prefetch))]

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        queue = self._queue
        while self._taking:
            delivery = queue.take_nowait()
            if delivery is None:
                self._waiting.add(task)
                try:
                    delivery = await queue.take()
                finally:
                    self._waiting.discard(task)
            if self.stopped():
                queue.put_back(delivery)
                return
            try:
                await self._consumer(delivery)
            except asyncio.CancelledError:
                if not delivery.settled:  # not acknowledged: it comes back
                    queue.put_back(delivery.again())
                raise
            except Exception as exc:  # noqa: BLE001 - a consumer crash is a failed delivery
                if not delivery.settled:
                    await delivery.retry(0.0, error=f"{type(exc).__name__}: {exc}")

    def stopped(self) -> bool:
        return not self._taking

    async def cancel(self, *, drain_seconds: float = 10.0) -> None:
        self._taking = False
        waiting = [w for w in self._workers if w in self._waiting]
        for worker in waiting:
            worker.cancel()
        busy = [w for w in self._workers if w not in self._waiting]
        if busy:
            await asyncio.wait(busy, timeout=drain_seconds)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker


class MemoryTransport:
    """A transport connected to a :class:`MemoryBroker`; it hands envelopes over as objects
    (an :class:`~portside.messaging.InProcessTransport`)."""

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
        self,
        topic: str,
        body: str,
        *,
        key: str | None = None,
        message_id: str | None = None,
        dedupe: bool = False,
    ) -> None:
        if self._deliver(topic, body, None, key):
            await asyncio.sleep(0)  # let the consumers catch up (see MemoryBroker)

    async def publish_envelope(self, topic: str, envelope: Envelope) -> None:
        if self._deliver(topic, None, envelope, envelope.key):
            await asyncio.sleep(0)  # let the consumers catch up (see MemoryBroker)

    def _deliver(
        self, topic: str, body: str | None, envelope: Envelope | None, key: str | None
    ) -> bool:
        """Put the message on the queue of each group of ``topic``; whether one of those
        queues now holds more than the broker's ``high_water``."""
        broker = self.broker
        broker.check()
        groups = broker.queues.get(topic)
        full = False
        if groups:
            high_water = broker.high_water
            for queue in groups.values():
                queue.put(_Delivery(queue, body, envelope, key))
                if len(queue.ready) > high_water:
                    full = True
        return full

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
            queue = self.broker.queue(dead.topic, dead.group)
            queue.put(_Delivery(queue, dead.body, None, key))
            count += 1
        return count
