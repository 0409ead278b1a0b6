"""The sql provider passes the storage contract on SQLite, PostgreSQL and MariaDB, with a
document repository and with a repository written in SQLAlchemy for the same port."""

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from portside.errors import Invalid
from portside.storage import UnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import create_tables
from portside.storage.sql._uow import SqlOutbox, SqlUnitOfWork
from portside.testing.sql import SERVERS, SqlNotes, app_tables, isolated_schema
from portside.testing.storage import DocumentNotes, NoteEdited, StorageContract, encode


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
    async with isolated_schema(server) as schema:
        engine = make_engine(SqlSettings(url=SERVERS[server].url, schema_name=schema))
        try:
            await prepare(engine)
            yield engine
        finally:
            await engine.dispose()


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

    async def test_a_value_the_database_refuses_is_invalid_input(
        self, new_uow: Callable[..., UnitOfWork]
    ) -> None:
        uow = new_uow()
        assert isinstance(uow, SqlUnitOfWork)
        async with uow:
            with pytest.raises(Invalid, match="the database refused a value") as refused:
                await uow.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
        assert refused.value.violations == ()


@pytest.mark.mariadb
class TestMariaDB(_ServerContract):
    server = "mariadb"

    async def test_a_claim_in_progress_does_not_hold_back_a_commit_to_the_outbox(
        self, new_uow: Callable[..., UnitOfWork], outbox: SqlOutbox
    ) -> None:
        """A claim locks the oldest free rows, then leases them; at MariaDB's default
        REPEATABLE READ the scan would also lock the end of the table, and every commit
        that writes to the outbox would wait for the claim to end."""
        first = new_uow(encode)
        async with first:
            first.stage(NoteEdited("n1", "x"))
            await first.commit()
        async with outbox._claiming() as claiming:
            given = {"now": time.time(), "batch": 10}
            assert len((await claiming.execute(outbox._lock, given)).all()) == 1
            writer = new_uow(encode)
            assert isinstance(writer, SqlUnitOfWork)
            async with writer:
                # Fail in 2 s instead of the server's 50 s if the insert has to wait.
                await writer.execute(text("SET SESSION innodb_lock_wait_timeout = 2"))
                writer.stage(NoteEdited("n2", "y"))
                await writer.commit()
        assert (await outbox.pending())[0] == 2
