"""What a broker provider implements: a transport for serialized envelopes.

The bus (:mod:`portside.messaging._bus`) does everything that is the same on every
broker: serialization, upcasting, handler scopes, the inbox, retry decisions, request and
reply. A transport publishes to a topic, delivers to consumer groups, and carries out the
bus's decision about each delivery: acknowledge, redeliver after a delay, or move to the
dead-letter place.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._message import Envelope

__all__ = [
    "DeadLetter",
    "Delivery",
    "InProcessTransport",
    "RetryPolicy",
    "Subscription",
    "Transport",
]


class Delivery(Protocol):
    """One delivery of a message to one consumer of a group."""

    @property
    def body(self) -> str:
        """The serialized envelope."""
        ...

    @property
    def envelope(self) -> Envelope | None:
        """The envelope itself, from a transport that hands envelopes over in process (see
        :class:`InProcessTransport`); ``None`` when :attr:`body` is to be parsed."""
        ...

    @property
    def attempt(self) -> int:
        """1 on first delivery (read only when a handler failed)."""
        ...

    async def ack(self) -> None: ...

    async def retry(self, delay: float, *, error: str) -> None:
        """Redeliver after ``delay`` seconds, without blocking the rest of the queue."""
        ...

    async def dead_letter(self, reason: str) -> None:
        """Move the message to the dead-letter place with the reason, attempt count and
        original headers."""
        ...


Consumer = Callable[[Delivery], Awaitable[None]]


class Subscription(Protocol):
    topic: str
    group: str

    async def cancel(self, *, drain_seconds: float = 10.0) -> None:
        """Stop taking deliveries; wait (bounded) for the ones in flight; what was not
        acknowledged is redelivered later."""
        ...


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be handled, with why."""

    id: str
    topic: str
    group: str
    body: str
    reason: str
    attempts: int
    failed_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(
        self,
        topic: str,
        body: str,
        *,
        key: str | None = None,
        message_id: str | None = None,
        dedupe: bool = False,
    ) -> None:
        """Publish durably; return once the broker has it (publisher confirms).

        ``message_id`` is the envelope's id, for brokers that record it. ``dedupe`` says the
        same message may be published again under that id (the outbox relay publishes an
        entry again when it cannot tell whether an attempt reached the broker): a broker
        that can drop such repeats is asked to. Every other publish makes a new message,
        so there is nothing to drop and no reason to make the broker track its id.
        """
        ...

    async def subscribe(
        self, topic: str, group: str, consumer: Consumer, *, prefetch: int
    ) -> Subscription: ...

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]: ...

    async def redrive(self, ids: Sequence[str]) -> int:
        """Put dead letters back on their group's queue; return how many were."""
        ...

    async def ping(self) -> None:
        """A cheap round trip; raises :class:`BrokerUnavailable` when the broker is down."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, up to ``max_attempts`` deliveries in all."""

    max_attempts: int = 5
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.2  # +/- this fraction of the delay

    def delay(self, attempt: int) -> float:
        """Seconds to wait before delivery number ``attempt + 1``."""
        raw = min(self.max_delay, self.base_delay * self.factor ** (attempt - 1))
        spread = raw * self.jitter
        return max(0.0, raw + random.uniform(-spread, spread))  # noqa: S311 - jitter, not crypto


@runtime_checkable
class InProcessTransport(Transport, Protocol):
    """A transport whose broker lives in this process, so an envelope need not become text
    to reach a consumer: the bus hands it the envelope, and each delivery of it carries the
    same (frozen) envelope, its payload already in JSON types. The payload still goes
    through the message class's serializer on publish and its validator on delivery, so a
    handler gets its own message object, as it would from a broker."""

    async def publish_envelope(self, topic: str, envelope: Envelope) -> None:
        """:meth:`Transport.publish` of ``envelope`` without its JSON body."""
        ...
