"""Creating the engine: one per service, pragmas for SQLite, timeouts for servers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from . import SqlSettings

__all__ = ["make_engine"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


_FRESH = "portside_fresh"


def _asyncpg_pre_ping(timeout: float) -> tuple[Callable[..., None], Callable[..., None]]:
    """``connect`` and ``checkout`` pool listeners that test a pooled asyncpg connection
    with one round trip before it is used.

    SQLAlchemy's own pre-ping on asyncpg takes three (BEGIN, the ping, ROLLBACK: the
    transaction keeps a prepared statement on one server connection behind pgbouncer).
    A query in the simple protocol, with no parameters, prepares nothing, so it needs no
    transaction.
    A connection that fails it invalidates the pool, as SQLAlchemy's does: after a
    restart every pooled connection is dead, and the checkout goes on with a new one.
    """

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_FRESH] = True  # just opened: nothing to test

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.pop(_FRESH, False):
            return
        try:
            dbapi_connection.run_async(lambda driver: driver.execute("SELECT 1", timeout=timeout))
        except Exception as exc:
            raise InvalidatePoolError(f"a pooled connection failed its ping: {exc!r}") from exc

    return connected, checked_out


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
    own_ping = settings.pre_ping and url.get_driver_name() == "asyncpg"
    if own_ping:
        options["pool_pre_ping"] = False  # the listeners below ping in one round trip
    engine = create_async_engine(url, connect_args=connect_args, **options)
    if own_ping:
        connected, checked_out = _asyncpg_pre_ping(settings.connect_timeout)
        event.listen(engine.sync_engine, "connect", connected)
        event.listen(engine.sync_engine, "checkout", checked_out)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if settings.schema_name:
        engine = engine.execution_options(schema_translate_map={None: settings.schema_name})
    return engine
