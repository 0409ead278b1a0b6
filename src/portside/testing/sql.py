"""The note port of :mod:`portside.testing.storage` written with SQLAlchemy Core against a
service's own table: the storage contract runs it on every SQL database next to the
document repository, and ``benchmarks/storage_bench.py`` measures it. Needs SQLAlchemy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from portside.storage import ConcurrencyError
from portside.storage.sql._uow import SqlRepository

from .storage import Note

__all__ = ["SqlNotes", "app_tables", "notes_table"]

app_tables = MetaData()
notes_table = Table(
    "contract_notes",
    app_tables,
    Column("id", String(64), primary_key=True),
    Column("title", String(191), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("tag", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
)


class SqlNotes(SqlRepository[Note]):
    """The note port written with SQLAlchemy Core against the service's own table."""

    def _note(self, row: Any) -> Note:
        note = Note(row.id, row.title, row.body, row.tag)
        note.version = row.version
        return note

    async def _load(self, aggregate_id: Any) -> Note | None:
        row = (
            await self.execute(select(notes_table).where(notes_table.c.id == aggregate_id))
        ).first()
        return None if row is None else self._note(row)

    async def _insert(self, aggregate: Note) -> None:
        values = {
            "id": aggregate.id,
            "title": aggregate.title,
            "body": aggregate.body,
            "tag": aggregate.tag,
            "version": 1,
        }
        await self.execute(insert(notes_table).values(**values))

    async def _update(self, aggregate: Note, expected: int) -> None:
        statement = (
            update(notes_table)
            .where(notes_table.c.id == aggregate.id, notes_table.c.version == expected)
            .values(
                title=aggregate.title, body=aggregate.body, tag=aggregate.tag, version=expected + 1
            )
        )
        if (await self.execute(statement)).rowcount != 1:
            raise ConcurrencyError(f"note {aggregate.id!r} changed since it was loaded")

    async def _delete(self, aggregate: Note, expected: int) -> None:
        statement = delete(notes_table).where(
            notes_table.c.id == aggregate.id, notes_table.c.version == expected
        )
        if (await self.execute(statement)).rowcount != 1:
            raise ConcurrencyError(f"note {aggregate.id!r} changed since it was loaded")

    async def by_title(self, title: str) -> Note | None:
        row = (await self.execute(select(notes_table).where(notes_table.c.title == title))).first()
        return None if row is None else self._track(self._note(row))

    async def tagged(self, tag: str) -> list[Note]:
        query = select(notes_table).where(notes_table.c.tag == tag).order_by(notes_table.c.id)
        return [self._track(self._note(row)) for row in await self.execute(query)]
