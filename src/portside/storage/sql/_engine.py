"""Creating the engine: one per service, pragmas for SQLite, timeouts for servers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from . import SqlSettings

__all__ = ["make_engine"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(settings: SqlSettings) -> AsyncEngine:
    """An async engine for ``settings.url``; nothing connects until first use."""
    url = make_url(settings.url)
    if settings.password is not None and url.password is None:
        url = url.set(password=settings.password.get_secret_value())
    options: dict[str, Any] = {"echo": settings.echo, "pool_pre_ping": settings.pre_ping}
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        connect_args["timeout"] = settings.connect_timeout
        if url.database and url.database != ":memory:":
            from pathlib import Path

            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        options.update(
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout,
        )
        if url.get_driver_name() == "asyncpg":
            connect_args["timeout"] = settings.connect_timeout
        elif url.get_driver_name() in ("aiomysql", "asyncmy"):
            connect_args["connect_timeout"] = settings.connect_timeout
    engine = create_async_engine(url, connect_args=connect_args, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if settings.schema_name:
        engine = engine.execution_options(schema_translate_map={None: settings.schema_name})
    return engine
