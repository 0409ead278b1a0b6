"""The unit of work: one transaction for the repositories used inside it.

```python
async with uow:                      # begins the transaction (not before)
    user = await users.get(user_id)
    user.rename("Ada")               # changes are found when committing
    await uow.commit()               # writes, then commits; leaving without commit rolls back
```

Repositories never commit. Aggregates added or loaded through a repository are tracked;
on commit the unit of work writes what changed (a stale update raises
:class:`ConcurrencyError`) and collects the domain events the aggregates recorded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from ._aggregate import Aggregate
from ._errors import StorageError
from ._outbox import EventEncoder, OutboxRecord, active_unit_of_work, current_delivery

if TYPE_CHECKING:
    from ._repository import Repository

__all__ = ["UnitOfWork"]

State = Literal["new", "clean", "removed"]


@dataclass(eq=False)
class _Entry:
    repository: Repository[Any]
    aggregate: Aggregate
    state: State
    snapshot: Any = None


def snapshot(aggregate: Aggregate) -> dict[str, Any]:
    """A deep copy of the aggregate's state, to find out at commit whether it changed."""
    return {k: copy.deepcopy(v) for k, v in vars(aggregate).items() if k != "_events"}


class UnitOfWork:
    """Base class of every store's unit of work (see the module docstring).

    A store implements ``_begin``, ``_commit``, ``_rollback``, ``_write_outbox``,
    ``_write_inbox`` and ``has_processed``, and optionally ``_end``. With an
    :class:`EventEncoder` (registered by the messaging layer) the events of a commit are
    written to the outbox in the same transaction; while a message is being handled
    (:data:`current_delivery`), the inbox record is too.
    """

    def __init__(self, encoder: EventEncoder | None = None) -> None:
        self._active = False
        self._committed = False
        self._entries: dict[tuple[int, Any], _Entry] = {}
        self._events: list[object] = []
        self._staged: list[object] = []
        self._encoder = encoder
        self._context: Any = None

    # -- what a store implements ------------------------------------------------------------
    async def _begin(self) -> None:
        raise NotImplementedError

    async def _commit(self) -> None:
        raise NotImplementedError

    async def _rollback(self) -> None:
        raise NotImplementedError

    async def _end(self) -> None:
        """Release what ``_begin`` took (a connection), after commit or rollback."""

    async def _write_outbox(self, records: list[OutboxRecord]) -> None:
        """Write outbox records in the transaction."""
        raise NotImplementedError(f"{type(self).__name__} has no outbox")

    async def _write_inbox(self, group: str, message_id: str) -> None:
        """Record that ``group`` processed ``message_id``, in the transaction; raise
        :class:`AlreadyProcessed` if it already did."""
        raise NotImplementedError(f"{type(self).__name__} has no inbox")

    async def has_processed(self, group: str, message_id: str) -> bool:
        """Whether the inbox holds ``message_id`` for ``group`` (committed state)."""
        raise NotImplementedError(f"{type(self).__name__} has no inbox")

    def stage(self, event: object) -> None:
        """Publish ``event`` with this unit of work's changes (through the outbox)."""
        self.require_active()
        if self._encoder is None:
            raise StorageError(
                "publishing inside a unit of work writes to the outbox, and this unit of work "
                "has none: register the messaging module (it provides the EventEncoder)"
            )
        self._staged.append(event)

    # -- the context manager ----------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._active

    def require_active(self) -> None:
        if not self._active:
            raise StorageError(
                "no transaction: use the repository inside `async with uow:` (a unit of work "
                "begins its transaction when the block is entered)"
            )
        if self._committed:
            raise StorageError(
                "this unit of work has committed; open a new `async with uow:` block for more "
                "changes"
            )

    async def __aenter__(self) -> Self:
        if self._active:
            raise StorageError(
                "this unit of work is already in use: units of work do not nest (no "
                "savepoints); finish the outer block, or let the inner code use the outer "
                "unit of work"
            )
        self._active = True
        self._committed = False
        self._entries.clear()
        self._staged = []
        try:
            await self._begin()
        except BaseException:
            self._active = False
            raise
        self._context = active_unit_of_work.set(self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed:
                await self._rollback()
        finally:
            self._entries.clear()
            self._staged = []
            self._active = False
            if self._context is not None:
                active_unit_of_work.reset(self._context)
                self._context = None
            await self._end()

    async def commit(self) -> None:
        """Write every change of the tracked aggregates, then commit the transaction."""
        self.require_active()
        events: list[object] = []
        for entry in list(self._entries.values()):
            await self._flush(entry)
            if entry.state != "removed":
                events.extend(entry.aggregate.pull_events())
        events.extend(self._staged)
        encoder = self._encoder
        outboxed = encoder is not None and bool(events)
        if encoder is not None and events:
            await self._write_outbox(encoder(events))
        delivery = current_delivery.get()
        if delivery is not None:
            await self._write_inbox(*delivery)
        await self._commit()
        self._committed = True
        self._events.extend(events)
        if outboxed:
            committed = getattr(encoder, "committed", None)
            if committed is not None:
                committed()

    async def rollback(self) -> None:
        """Discard the changes now; the block may then only be left."""
        self.require_active()
        await self._rollback()
        self._committed = True  # nothing more to do on exit

    def collect_events(self) -> list[object]:
        """The domain events of the committed changes, oldest first (and forget them)."""
        events, self._events = self._events, []
        return events

    # -- tracking, used by repositories -----------------------------------------------------
    def _key(self, repository: Repository[Any], aggregate_id: Any) -> tuple[int, Any]:
        return (id(type(repository)), aggregate_id)

    def tracked(self, repository: Repository[Any], aggregate_id: Any) -> _Entry | None:
        return self._entries.get(self._key(repository, aggregate_id))

    def track_new(self, repository: Repository[Any], aggregate: Aggregate) -> None:
        self.require_active()
        key = self._key(repository, aggregate.id)
        existing = self._entries.get(key)
        if existing is not None and existing.state != "removed":
            from ._errors import Conflict

            raise Conflict(f"{type(aggregate).__name__} {aggregate.id!r} was already added")
        self._entries[key] = _Entry(repository, aggregate, "new")

    def track_loaded(self, repository: Repository[Any], aggregate: Aggregate) -> None:
        self._entries[self._key(repository, aggregate.id)] = _Entry(
            repository, aggregate, "clean", snapshot(aggregate)
        )

    def track_removed(self, repository: Repository[Any], aggregate: Aggregate) -> None:
        self.require_active()
        key = self._key(repository, aggregate.id)
        entry = self._entries.get(key)
        if entry is not None and entry.state == "new":
            del self._entries[key]  # added and removed in one unit of work: nothing to write
            return
        self._entries[key] = _Entry(repository, aggregate, "removed")

    async def _flush(self, entry: _Entry) -> None:
        aggregate, repository = entry.aggregate, entry.repository
        if entry.state == "new":
            await repository._insert(aggregate)
            aggregate.version = 1
        elif entry.state == "removed":
            await repository._delete(aggregate, aggregate.version)
        elif snapshot(aggregate) != entry.snapshot:
            await repository._update(aggregate, aggregate.version)
            aggregate.version += 1
