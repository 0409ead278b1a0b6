"""The sql provider passes the storage contract on SQLite, PostgreSQL and MariaDB, with a
document repository and with a repository written in SQLAlchemy for the same port."""

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from portside.errors import Invalid
from portside.storage import UnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import create_tables
from portside.storage.sql._uow import SqlOutbox, SqlUnitOfWork
from portside.testing.sql import SqlNotes, app_tables
from portside.testing.storage import DocumentNotes, StorageContract

from ..conftest import require_server

SERVERS = {
    "postgres": ("PostgreSQL", 5432, "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    "mariadb": ("MariaDB", 3306, "mysql+aiomysql://root@127.0.0.1:3306/test"),
}


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
