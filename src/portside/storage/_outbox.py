"""What storage offers messaging: a transactional outbox and an inbox.

Storage knows nothing of messages: the messaging layer hands the unit of work an
:class:`EventEncoder` that turns domain events into :class:`OutboxRecord` (a topic and a
serialized envelope), and marks the delivery being handled in :data:`current_delivery`.
On commit the unit of work writes the records to its store's outbox and the record
"message X processed by group G" to its inbox, in the same transaction as the changes.
A relay reads the outbox through the store's :class:`Outbox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._errors import StorageError

if TYPE_CHECKING:
    from ._uow import UnitOfWork

__all__ = [
    "AlreadyProcessed",
    "Claimed",
    "EventEncoder",
    "Outbox",
    "OutboxRecord",
    "active_unit_of_work",
    "current_delivery",
]


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One message to publish once the transaction has committed."""

    message_id: str
    topic: str
    key: str | None
    body: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox entry leased by one relay."""

    id: str
    message_id: str
    topic: str
    key: str | None
    body: str
    attempts: int


class EventEncoder(Protocol):
    """Turns the domain events of a commit into outbox records.

    An encoder may also have a ``committed()`` method: a unit of work calls it after a
    commit that wrote outbox records, so that whatever publishes them (the relay) can look
    at once instead of at its next poll.
    """

    def __call__(self, events: Sequence[object], /) -> list[OutboxRecord]: ...


class Outbox(Protocol):
    """The relay's view of a store's outbox.

    ``claim`` leases up to ``limit`` unsent entries, oldest first, to ``owner`` for
    ``lease_seconds`` (entries another relay holds are skipped); ``mark_sent`` finishes
    them; ``release`` gives them back after a failed publish.
    """

    async def claim(self, *, owner: str, limit: int, lease_seconds: float) -> list[Claimed]: ...

    async def mark_sent(self, entries: Sequence[Claimed]) -> None: ...

    async def release(self, entries: Sequence[Claimed], *, error: str) -> None: ...

    async def pending(self) -> tuple[int, float | None]:
        """How many entries are unsent, and the age in seconds of the oldest."""
        ...


class AlreadyProcessed(StorageError):  # noqa: N818 - the outcome of an inbox check
    """The inbox already holds this message for this group: its effects are committed."""


current_delivery: ContextVar[tuple[str, str] | None] = ContextVar(
    "portside_current_delivery", default=None
)
"""``(group, message_id)`` of the message being handled, set by the messaging layer."""

active_unit_of_work: ContextVar[UnitOfWork | None] = ContextVar(
    "portside_active_unit_of_work", default=None
)
"""The unit of work whose block is running in this context (publishing joins it)."""
