"""The service's Alembic revisions create and drop its tables, with its own version
table; the columns they create are the ones the repositories expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._migrations import migrate
from users.adapters.tables import metadata


async def test_upgrade_creates_the_tables_and_downgrade_drops_them(tmp_path: Path) -> None:
    engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"))

    async def tables() -> set[str]:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))

    try:
        await migrate(engine, "users", "users.migrations", "upgrade")
        assert {"users", "courses", "alembic_version_users", "portside_outbox"} <= await tables()
        assert "0001" in await migrate(engine, "users", "users.migrations", "current")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {
                    t: [col["name"] for col in inspect(c).get_columns(t)] for t in metadata.tables
                }
            )
            indexes = await connection.run_sync(
                lambda c: [i["name"] for i in inspect(c).get_indexes("users")]
            )
        assert columns == {
            name: [column.name for column in table.columns]
            for name, table in metadata.tables.items()
        }
        assert "ix_users_created_id" in indexes
        await migrate(engine, "users", "users.migrations", "downgrade", revision="base")
        assert not {"users", "courses"} & await tables()
    finally:
        await engine.dispose()


async def test_the_revisions_describe_the_tables_the_repositories_use(tmp_path: Path) -> None:
    engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"))

    def differences(connection: Any) -> list[Any]:
        def ours(name: str | None, kind: str, parents: Any) -> bool:
            return kind != "table" or name in metadata.tables  # not portside's own tables

        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": ours}
        )
        return list(compare_metadata(context, metadata))

    try:
        await migrate(engine, "users", "users.migrations", "upgrade")
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
