"""The sql provider passes the storage contract on SQLite, PostgreSQL and MariaDB, with a
document repository and with a repository written in SQLAlchemy for the same port."""

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
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
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from portside.storage import ConcurrencyError, UnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import create_tables
from portside.storage.sql._uow import SqlOutbox, SqlRepository, SqlUnitOfWork
from portside.testing.storage import DocumentNotes, Note, StorageContract

from ..conftest import require_server

SERVERS = {
    "postgres": ("PostgreSQL", 5432, "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    "mariadb": ("MariaDB", 3306, "mysql+aiomysql://root@127.0.0.1:3306/test"),
}

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


async def prepare(engine: AsyncEngine) -> None:
    await create_tables(engine)
    async with engine.begin() as connection:
        await connection.run_sync(app_tables.create_all)


@pytest.fixture(params=["documents", "sqlalchemy"])
def notes(request: pytest.FixtureRequest) -> Callable[[UnitOfWork], Any]:
    return DocumentNotes if request.param == "documents" else SqlNotes


class TestSqlite(StorageContract):
    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
        engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"))
        await prepare(engine)
        yield engine
        await engine.dispose()

    @pytest.fixture
    def new_uow(self, engine: AsyncEngine) -> Callable[..., UnitOfWork]:
        return lambda encoder=None: SqlUnitOfWork(engine, encoder)

    @pytest.fixture
    def outbox(self, engine: AsyncEngine) -> SqlOutbox:
        return SqlOutbox(engine)

    @pytest.fixture
    def notes(self, notes: Any) -> Any:
        return notes


@contextlib.asynccontextmanager
async def isolated_engine(server: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose tables live in a fresh schema (PostgreSQL) or database (MariaDB),
    dropped afterwards."""
    name, port, admin_url = SERVERS[server]
    require_server(name, "127.0.0.1", port)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    quoted = f'"{schema}"' if server == "postgres" else f"`{schema}`"
    kind = "SCHEMA" if server == "postgres" else "DATABASE"
    admin = create_async_engine(admin_url)
    async with admin.begin() as connection:
        await connection.execute(text(f"CREATE {kind} {quoted}"))
    engine = make_engine(SqlSettings(url=admin_url, schema_name=schema))
    try:
        await prepare(engine)
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(
                text(f"DROP {kind} {quoted}" + (" CASCADE" if server == "postgres" else ""))
            )
        await admin.dispose()


class _ServerContract(StorageContract):
    server: str

    @pytest.fixture
    async def engine(self) -> AsyncIterator[AsyncEngine]:
        async with isolated_engine(self.server) as engine:
            yield engine

    @pytest.fixture
    def new_uow(self, engine: AsyncEngine) -> Callable[..., UnitOfWork]:
        return lambda encoder=None: SqlUnitOfWork(engine, encoder)

    @pytest.fixture
    def outbox(self, engine: AsyncEngine) -> SqlOutbox:
        return SqlOutbox(engine)

    @pytest.fixture
    def notes(self, notes: Any) -> Any:
        return notes


@pytest.mark.postgres
class TestPostgres(_ServerContract):
    server = "postgres"


@pytest.mark.mariadb
class TestMariaDB(_ServerContract):
    server = "mariadb"
