"""An unreachable or restarted database surfaces as StorageUnavailable, and the next unit
of work after it comes back succeeds. The outage is made with a proxy the test controls."""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from portside.storage import StorageUnavailable
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import SqlHealth, create_tables
from portside.storage.sql._uow import SqlUnitOfWork
from portside.testing.storage import DocumentNotes, Note

from ..conftest import require_server
from ..support.proxy import Proxy

SERVERS = {
    "postgres": ("PostgreSQL", 5432, "postgresql+asyncpg://postgres@127.0.0.1:{port}/test"),
    "mariadb": ("MariaDB", 3306, "mysql+aiomysql://root@127.0.0.1:{port}/test"),
}


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
async def test_an_unreachable_server_is_storage_unavailable(server: str) -> None:
    _, _, url = SERVERS[server]
    engine = make_engine(SqlSettings(url=url.format(port=1), connect_timeout=2))
    try:
        with pytest.raises(StorageUnavailable, match="the database is unavailable"):
            async with SqlUnitOfWork(engine):
                pass
        with pytest.raises(StorageUnavailable):
            await SqlHealth(engine).check()
    finally:
        await engine.dispose()


@pytest.fixture(params=["postgres", "mariadb"])
async def through_proxy(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Proxy, object]]:
    name, port, url = SERVERS[request.param]
    require_server(name, "127.0.0.1", port)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url.format(port=port))
    create = (
        f'CREATE SCHEMA "{schema}"'
        if request.param == "postgres"
        else f"CREATE DATABASE `{schema}`"
    )
    drop = (
        f'DROP SCHEMA "{schema}" CASCADE'
        if request.param == "postgres"
        else f"DROP DATABASE `{schema}`"
    )
    async with admin.begin() as connection:
        await connection.execute(text(create))
    proxy = await Proxy("127.0.0.1", port).start()
    engine = make_engine(
        SqlSettings(url=url.format(port=proxy.port), schema_name=schema, connect_timeout=2)
    )
    try:
        await create_tables(engine)
        yield proxy, engine
    finally:
        await proxy.close()
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(drop))
        await admin.dispose()


async def test_a_server_outage_is_unavailable_and_the_next_unit_of_work_after_it_succeeds(
    through_proxy: tuple[Proxy, object],
) -> None:
    proxy, engine = through_proxy
    uow = SqlUnitOfWork(engine)  # type: ignore[arg-type]
    async with uow:
        await DocumentNotes(uow).add(Note("n1", "before"))
        await uow.commit()

    await proxy.cut()  # the server "restarts": connections drop, nothing listens
    with pytest.raises(StorageUnavailable):
        async with uow:
            await DocumentNotes(uow).get("n1")
    with pytest.raises(StorageUnavailable):
        await SqlHealth(engine).check()  # type: ignore[arg-type]

    await proxy.restore()  # the server is back on the same address
    async with uow:
        assert await DocumentNotes(uow).get("n1") is not None
        await DocumentNotes(uow).add(Note("n2", "after"))
        await uow.commit()
    await SqlHealth(engine).check()  # type: ignore[arg-type]
