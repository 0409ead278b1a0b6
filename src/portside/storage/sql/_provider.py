"""The DI module of the ``sql`` provider: the engine (one per service, disposed on
close), a unit of work per scope, and a health check."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from portside.di import Module
from portside.host import HealthCheck, Lifecycle, ServiceInfo, Startup
from portside.storage._outbox import Outbox
from portside.storage._uow import UnitOfWork

from . import SqlSettings
from ._engine import make_engine
from ._tables import metadata
from ._uow import SqlOutbox, SqlUnitOfWork, translate

__all__ = ["SqlHealth", "create_tables", "engine", "sql_module"]


async def create_tables(engine: AsyncEngine) -> None:
    """Create portside's own tables if they do not exist."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


async def engine(settings: SqlSettings) -> AsyncIterator[AsyncEngine]:
    """The service's engine; disposed when the container closes."""
    made = make_engine(settings)
    try:
        if settings.create_tables:
            try:
                await create_tables(made)
            except Exception as exc:
                raise translate(exc) from exc
        yield made
    finally:
        await made.dispose()


class SqlHealth:
    """A cheap round trip: ``SELECT 1``."""

    name = "storage.sql"

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def check(self) -> None:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            raise translate(exc) from exc


class Migrator(Startup):
    """With ``migrate_on_start``: upgrades the service's database when it starts."""

    def __init__(self, engine: AsyncEngine, lifecycle: Lifecycle, info: ServiceInfo) -> None:
        self.engine = engine
        self.info = info
        lifecycle.on_start(self.upgrade, name="storage.sql migrations")

    async def upgrade(self) -> None:
        from ._migrations import migrate

        if self.info.migrations is None:
            await create_tables(self.engine)
            return
        await migrate(self.engine, self.info.name, self.info.migrations, "upgrade")


def sql_module(settings: SqlSettings) -> Module:
    module = Module("storage.sql")
    module.add_singleton(AsyncEngine, factory=engine)
    module.add_scoped(UnitOfWork, SqlUnitOfWork)
    module.add_singleton(Outbox, SqlOutbox)
    module.add_singleton(HealthCheck, SqlHealth)
    if settings.migrate_on_start:
        module.add_singleton(Startup, Migrator)
    return module
