"""The SQL unit of work: one connection and one transaction per unit of work, begun when
the ``async with`` block is entered; document storage on portside's tables; errors mapped
to portside's."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction
from sqlalchemy.sql import Executable

from portside.config import mask_url
from portside.errors import Invalid
from portside.storage._aggregate import Aggregate
from portside.storage._errors import (
    ConcurrencyError,
    Conflict,
    StorageError,
    StorageUnavailable,
)
from portside.storage._outbox import AlreadyProcessed, Claimed, EventEncoder, OutboxRecord
from portside.storage._repository import Repository
from portside.storage._uow import UnitOfWork

from ._tables import documents, inbox, indexed, outbox, unique

__all__ = ["SqlOutbox", "SqlRepository", "SqlUnitOfWork", "translate"]

A = TypeVar("A", bound=Aggregate)

_LOST = (
    "connection",
    "closed",
    "refused",
    "timeout",
    "timed out",
    "terminat",
    "shutdown",
    "server has gone away",
    "lost connection",
    "can't connect",
    "could not connect",
)


def translate(exc: BaseException) -> BaseException:  # noqa: PLR0911 - one per kind of failure
    """The portside error for a driver or SQLAlchemy error (or ``exc`` itself)."""
    if isinstance(exc, StorageError):
        return exc
    text = mask_url(str(exc))
    if isinstance(exc, IntegrityError):
        return Conflict(f"a unique value is already taken ({_first_line(text)})")
    if _refused_value(exc):
        # The caller's input, not the store, is at fault: e.g. a NUL character, which
        # PostgreSQL cannot store in text, or text that cannot be encoded at all.
        return Invalid([], f"the database refused a value: {_first_line(text)}")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StorageUnavailable(f"the database connection was lost: {_first_line(text)}")
    lowered = text.lower()
    if isinstance(exc, OperationalError) and "locked" in lowered:
        return ConcurrencyError(f"another unit of work holds the data: {_first_line(text)}")
    if isinstance(exc, (OperationalError, OSError, TimeoutError)) or (
        isinstance(exc, DBAPIError) and any(word in lowered for word in _LOST)
    ):
        return StorageUnavailable(f"the database is unavailable: {_first_line(text)}")
    return exc


def _refused_value(exc: BaseException) -> bool:
    """A data exception (SQLSTATE class 22) or text the driver could not encode."""
    if isinstance(exc, (DataError, UnicodeEncodeError)):
        return True
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(exc, DBAPIError) and isinstance(state, str) and state.startswith("22")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


# Statements run for every message or document are built once, with parameters: building
# one costs more than running it.
_WRITE_OUTBOX = insert(outbox)
_WRITE_INBOX = insert(inbox)
_PROCESSED = select(inbox.c.message_id).where(
    inbox.c.consumer_group == bindparam("group"), inbox.c.message_id == bindparam("message_id")
)
_LOAD = select(documents.c.body, documents.c.version).where(
    documents.c.collection == bindparam("collection"), documents.c.key == bindparam("key")
)


class SqlUnitOfWork(UnitOfWork):
    """A unit of work over an :class:`AsyncEngine`; it is also a document store."""

    def __init__(self, engine: AsyncEngine, encoder: EventEncoder | None = None) -> None:
        super().__init__(encoder)
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The connection of the open transaction (for SQLAlchemy repositories)."""
        self.require_active()
        if self._connection is None:  # pragma: no cover - set by _begin
            raise StorageError("the unit of work has no connection")
        return self._connection

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        """Execute in this unit of work's transaction, mapping errors to portside's."""
        try:
            return await self.connection.execute(statement, parameters)
        except Exception as exc:
            raise translate(exc) from exc

    async def _begin(self) -> None:
        try:
            self._connection = await self._engine.connect()
            self._transaction = await self._connection.begin()
        except Exception as exc:
            await self._end()
            raise translate(exc) from exc

    async def _commit(self) -> None:
        if self._transaction is None:  # pragma: no cover
            raise StorageError("no transaction to commit")
        try:
            await self._transaction.commit()
        except Exception as exc:
            raise translate(exc) from exc

    async def _rollback(self) -> None:
        # Closing the connection rolls the transaction back and returns it to the pool in
        # one step; rolling back first would make the pool roll back a second time.
        await self._end()

    async def _end(self) -> None:
        connection, self._connection, self._transaction = self._connection, None, None
        if connection is not None:
            try:
                await connection.close()
            except Exception as exc:  # noqa: BLE001 - a dead connection is dropped by the pool
                del exc

    # -- outbox and inbox -------------------------------------------------------------------
    async def _write_outbox(self, records: list[OutboxRecord]) -> None:
        now = time.time()
        rows = [
            {
                "message_id": r.message_id,
                "topic": r.topic,
                "key": r.key,
                "body": r.body,
                "created_at": now,
                "attempts": 0,
            }
            for r in records
        ]
        await self.execute(_WRITE_OUTBOX, rows)

    async def _write_inbox(self, group: str, message_id: str) -> None:
        row = {"consumer_group": group, "message_id": message_id, "processed_at": time.time()}
        try:
            await self.connection.execute(_WRITE_INBOX, row)
        except IntegrityError as exc:
            raise AlreadyProcessed(f"group {group!r} already processed {message_id}") from exc
        except Exception as exc:
            raise translate(exc) from exc

    async def has_processed(self, group: str, message_id: str) -> bool:
        given = {"group": group, "message_id": message_id}
        return (await self.execute(_PROCESSED, given)).first() is not None

    # -- the document store -----------------------------------------------------------------
    async def load(self, collection: str, key: str) -> tuple[dict[str, Any], int] | None:
        result = await self.execute(_LOAD, {"collection": collection, "key": key})
        row = result.first()
        return None if row is None else (json.loads(row.body), row.version)

    async def find(self, collection: str, field: str, value: str) -> list[str]:
        where = and_(
            unique.c.collection == collection, unique.c.field == field, unique.c.value == value
        )
        found = (await self.execute(select(unique.c.key).where(where))).scalars().all()
        if found:
            return list(found)
        where = and_(
            indexed.c.collection == collection, indexed.c.field == field, indexed.c.value == value
        )
        query = select(indexed.c.key).where(where).order_by(indexed.c.key)
        return list((await self.execute(query)).scalars().all())

    async def _keys(
        self, collection: str, key: str, uniques: Mapping[str, str], indexes: Mapping[str, str]
    ) -> None:
        if uniques:
            rows = [
                {"collection": collection, "field": f, "value": v, "key": key}
                for f, v in uniques.items()
            ]
            try:
                await self.connection.execute(insert(unique), rows)
            except IntegrityError as exc:
                taken = ", ".join(f"{f} {v!r}" for f, v in uniques.items())
                raise Conflict(f"{collection}: {taken} is already taken") from exc
            except Exception as exc:
                raise translate(exc) from exc
        if indexes:
            rows = [
                {"collection": collection, "field": f, "value": v, "key": key}
                for f, v in indexes.items()
            ]
            await self.execute(insert(indexed), rows)

    async def _drop_keys(self, collection: str, key: str) -> None:
        for table in (unique, indexed):
            await self.execute(
                delete(table).where(table.c.collection == collection, table.c.key == key)
            )

    async def insert(
        self,
        collection: str,
        key: str,
        document: dict[str, Any],
        *,
        unique: Mapping[str, str],
        indexed: Mapping[str, str],
    ) -> None:
        row = {"collection": collection, "key": key, "version": 1, "body": json.dumps(document)}
        try:
            await self.connection.execute(insert(documents), row)
        except IntegrityError as exc:
            raise Conflict(f"{collection} {key!r} already exists") from exc
        except Exception as exc:
            raise translate(exc) from exc
        await self._keys(collection, key, unique, indexed)

    async def update(
        self,
        collection: str,
        key: str,
        document: dict[str, Any],
        *,
        unique: Mapping[str, str],
        indexed: Mapping[str, str],
        expected: int,
    ) -> None:
        statement = (
            update(documents)
            .where(
                documents.c.collection == collection,
                documents.c.key == key,
                documents.c.version == expected,
            )
            .values(version=expected + 1, body=json.dumps(document))
        )
        result = await self.execute(statement)
        if result.rowcount != 1:
            raise ConcurrencyError(
                f"{collection} {key!r} changed since it was loaded (expected version {expected})"
            )
        await self._drop_keys(collection, key)
        await self._keys(collection, key, unique, indexed)

    async def delete(self, collection: str, key: str, *, expected: int) -> None:
        statement = delete(documents).where(
            documents.c.collection == collection,
            documents.c.key == key,
            documents.c.version == expected,
        )
        result = await self.execute(statement)
        if result.rowcount != 1:
            raise ConcurrencyError(
                f"{collection} {key!r} changed since it was loaded (expected version {expected})"
            )
        await self._drop_keys(collection, key)


class SqlRepository(Repository[A]):
    """Base for repositories written with SQLAlchemy against a service's own tables.

    ``self.uow`` is the :class:`SqlUnitOfWork`; run statements with ``await
    self.execute(...)`` so errors arrive as portside's. ``_update`` must check the version
    (``WHERE version = :expected``) and raise :class:`ConcurrencyError` when no row matched.
    """

    uow: SqlUnitOfWork

    def __init__(self, uow: UnitOfWork) -> None:
        # The exact type first: SqlUnitOfWork's metaclass makes isinstance a slow call, and
        # a repository is built for every request that resolves a use case.
        if type(uow) is not SqlUnitOfWork and not isinstance(uow, SqlUnitOfWork):
            raise StorageError(
                f"{type(self).__name__} is written with SQLAlchemy and needs the sql storage "
                f"provider; the unit of work is a {type(uow).__name__}"
            )
        self.uow = uow  # all that Repository.__init__ does, without a call more per request

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        return await self.uow.execute(statement, parameters)


_CLAIMED = (
    outbox.c.id,
    outbox.c.message_id,
    outbox.c.topic,
    outbox.c.key,
    outbox.c.body,
    outbox.c.attempts,
)


_NOW = bindparam("now", type_=outbox.c.lease_until.type)
_FREE = outbox.c.lease_until.is_(None) | (outbox.c.lease_until < _NOW)
_SENT = delete(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))


def _claimed(row: Any) -> Claimed:
    return Claimed(str(row.id), row.message_id, row.topic, row.key, row.body, row.attempts)


class SqlOutbox:
    """The relay's view of the outbox table: leases with ``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL and MariaDB; SQLite serialises writers, so a plain conditional update does.

    A claim is one ``UPDATE ... RETURNING`` where the dialect has it (PostgreSQL,
    SQLite); elsewhere (MariaDB) the rows are selected and locked, then leased, in one
    transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # On PostgreSQL a statement on its own is a transaction: the relay's one-statement
        # steps run without BEGIN and COMMIT, two round trips fewer each.
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )
        # The relay's statements are built once, with parameters: building one costs more
        # than running it.
        dialect = engine.dialect
        oldest = select(outbox.c.id).where(_FREE).order_by(outbox.c.id).limit(bindparam("batch"))
        if dialect.name != "sqlite":
            oldest = oldest.with_for_update(skip_locked=True)
        lease: dict[str, Any] = {
            "lease_owner": bindparam("owner"),
            "lease_until": bindparam("until"),
        }
        # One UPDATE ... RETURNING where the dialect has it; else SELECT, then UPDATE.
        self._claim = (
            update(outbox).where(outbox.c.id.in_(oldest), _FREE).values(lease).returning(*_CLAIMED)
            if dialect.update_returning
            else None
        )
        self._lock = oldest.with_only_columns(*_CLAIMED)
        # MariaDB would scan a small table whole and wait on the rows other relays hold (a
        # deadlock once two of them do so); by primary key the update touches only the rows
        # this transaction has locked.
        leasing = update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))
        for name in ("mysql", "mariadb"):
            leasing = leasing.with_hint("FORCE INDEX (PRIMARY)", dialect_name=name)
        self._lease = leasing.values(lease)
        # Where rows are selected and locked, then leased (MariaDB), that transaction runs
        # at READ COMMITTED: at MariaDB's default REPEATABLE READ, the scan for the oldest
        # free rows takes next-key locks up to the end of the table, which hold back every
        # commit that appends to the outbox until the claim ends.
        self._locking = (
            engine.execution_options(isolation_level="READ COMMITTED")
            if dialect.name in ("mysql", "mariadb")
            else engine
        )

    def _claiming(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """The transaction of a claim that locks rows, then leases them."""
        return self._locking.begin()

    def _one_statement(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection for a single statement: in autocommit where that saves round
        trips, in a transaction elsewhere."""
        if self._autocommit is not None:
            return self._autocommit.connect()
        return self._engine.begin()

    async def claim(self, *, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        now = time.time()
        given = {"now": now, "batch": limit, "owner": owner, "until": now + lease_seconds}
        try:
            if self._claim is not None:
                async with self._one_statement() as connection:
                    rows = await connection.execute(self._claim, given)
                    return sorted(map(_claimed, rows), key=lambda entry: int(entry.id))
            async with self._claiming() as connection:
                locked = (await connection.execute(self._lock, given)).all()
                if locked:
                    await connection.execute(self._lease, {**given, "ids": [r.id for r in locked]})
                return [_claimed(row) for row in locked]
        except Exception as exc:
            raise translate(exc) from exc

    async def mark_sent(self, entries: Sequence[Claimed]) -> None:
        if not entries:
            return
        try:
            async with self._one_statement() as connection:
                await connection.execute(_SENT, {"ids": [int(e.id) for e in entries]})
        except Exception as exc:
            raise translate(exc) from exc

    async def release(self, entries: Sequence[Claimed], *, error: str) -> None:
        if not entries:
            return
        try:
            async with self._one_statement() as connection:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([int(e.id) for e in entries]))
                    .values(
                        lease_owner=None,
                        lease_until=None,
                        attempts=outbox.c.attempts + 1,
                        last_error=error[:1000],
                    )
                )
        except Exception as exc:
            raise translate(exc) from exc

    async def pending(self) -> tuple[int, float | None]:
        try:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(func.count(), func.min(outbox.c.created_at)).select_from(outbox)
                    )
                ).one()
        except Exception as exc:
            raise translate(exc) from exc
        count, oldest = row
        return int(count), (time.time() - float(oldest)) if oldest is not None else None
