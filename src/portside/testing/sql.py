"""The note port of :mod:`portside.testing.storage` written with SQLAlchemy Core against a
service's own table: the storage contract runs it on every SQL database next to the
document repository, and ``benchmarks/storage_bench.py`` measures it. Needs SQLAlchemy."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
    text,
    update,
)
from sqlalchemy.ext.asyncio import create_async_engine

from portside.storage import ConcurrencyError
from portside.storage.sql import SqlRepository

from .servers import require_server
from .storage import Note

__all__ = [
    "SERVERS",
    "DatabaseServer",
    "SqlNotes",
    "app_tables",
    "create_schema",
    "drop_schema",
    "isolated_schema",
    "notes_table",
]


@dataclass(frozen=True)
class DatabaseServer:
    """A database server the integration tests use, and how to reach it as admin."""

    label: str
    port: int
    url: str
    namespace: str  # what isolates one test: a PostgreSQL schema, a MariaDB database

    def quoted(self, name: str) -> str:
        return f'"{name}"' if self.namespace == "SCHEMA" else f"`{name}`"


SERVERS = {
    "postgres": DatabaseServer(
        "PostgreSQL", 5432, "postgresql+asyncpg://postgres@127.0.0.1:5432/test", "SCHEMA"
    ),
    "mariadb": DatabaseServer(
        "MariaDB", 3306, "mysql+aiomysql://root@127.0.0.1:3306/test", "DATABASE"
    ),
}


async def _admin(server: str, statement: str) -> None:
    engine = create_async_engine(SERVERS[server].url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_schema(server: str, name: str) -> None:
    """Create the schema (PostgreSQL) or database (MariaDB) ``name``."""
    target = SERVERS[server]
    await _admin(server, f"CREATE {target.namespace} {target.quoted(name)}")


async def drop_schema(server: str, name: str) -> None:
    """Drop ``name`` and everything in it."""
    target = SERVERS[server]
    cascade = " CASCADE" if target.namespace == "SCHEMA" else ""
    await _admin(server, f"DROP {target.namespace} {target.quoted(name)}{cascade}")


@contextlib.asynccontextmanager
async def isolated_schema(server: str, *, prefix: str = "t") -> AsyncIterator[str]:
    """A fresh schema (PostgreSQL) or database (MariaDB) for one test, dropped after it;
    the test is skipped (or fails, under ``PORTSIDE_REQUIRE_SERVICES=1``) when the server
    is unreachable. Use it as ``SqlSettings(url=SERVERS[server].url, schema_name=name)``."""
    target = SERVERS[server]
    require_server(target.label, "127.0.0.1", target.port)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await create_schema(server, name)
    try:
        yield name
    finally:
        await drop_schema(server, name)


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
