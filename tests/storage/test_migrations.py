"""Migrations: `portside db` runs each service's Alembic revisions; the host can upgrade
on start."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from portside.config import load_config
from portside.host import Host
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._migrations import migrate
from portside.testing.sql import SERVERS, isolated_schema

APPS = Path(__file__).resolve().parent / "apps"


def portside(*args: str, cwd: Path, path: Path = APPS) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    env.pop("PORTSIDE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "portside.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def sqlite_config(tmp_path: Path, extra: str = "") -> Path:
    database = tmp_path / "items.db"
    config = tmp_path / "portside.toml"
    config.write_text(
        f'[storage]\nprovider = "sql"\nurl = "sqlite+aiosqlite:///{database}"\n{extra}\n'
        '[services.items]\napp = "items_app:service"\n'
    )
    return database


def tables_of(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_db_upgrade_current_and_downgrade_through_the_command(tmp_path: Path) -> None:
    database = sqlite_config(tmp_path)
    up = portside("db", "upgrade", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "items: upgrade head done" in up.stdout
    assert {"items", "alembic_version_items", "portside_documents"} <= tables_of(database)
    current = portside("db", "current", cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert "0001" in current.stdout
    down = portside("db", "downgrade", "base", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "items" not in tables_of(database)


def test_db_revision_writes_a_new_file_next_to_the_service(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    shutil.copytree(APPS, apps, ignore=shutil.ignore_patterns("__pycache__"))
    sqlite_config(tmp_path)
    assert portside("db", "upgrade", cwd=tmp_path, path=apps).returncode == 0
    made = portside(
        "db", "revision", "-m", "add price", "--service", "items", cwd=tmp_path, path=apps
    )
    assert made.returncode == 0, made.stderr
    files = sorted(p.name for p in (apps / "items_migrations").glob("*add_price*.py"))
    assert len(files) == 1
    text_ = (apps / "items_migrations" / files[0]).read_text()
    assert "down_revision: str | Sequence[str] | None = '0001'" in text_


def test_an_unknown_service_is_refused(tmp_path: Path) -> None:
    sqlite_config(tmp_path)
    result = portside("db", "upgrade", "--service", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "no service named 'nope'" in result.stderr


async def test_the_host_upgrades_on_start_when_told_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(APPS))
    database = sqlite_config(tmp_path, "migrate_on_start = true")
    host = Host.from_config(load_config(tmp_path / "portside.toml", environ={}))
    await host.start()
    try:
        assert "items" in tables_of(database)
    finally:
        await host.stop()


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
async def test_migrations_run_on_database_servers_in_their_own_schema(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(APPS))
    url = SERVERS[server].url
    async with isolated_schema(server) as schema:
        admin = create_async_engine(url)
        engine = make_engine(SqlSettings(url=url, schema_name=schema))

        async def tables() -> set[str]:
            async with admin.connect() as connection:
                return set(
                    await connection.run_sync(lambda c: inspect(c).get_table_names(schema=schema))
                )

        try:
            await migrate(engine, "items", "items_migrations", "upgrade")
            assert {"items", "alembic_version_items"} <= await tables()
            assert "0001" in await migrate(engine, "items", "items_migrations", "current")
            await migrate(engine, "items", "items_migrations", "downgrade", revision="base")
            assert "items" not in await tables()
        finally:
            await engine.dispose()
            await admin.dispose()
