"""An unreachable or restarted database surfaces as StorageUnavailable, and the next unit
of work after it comes back succeeds. The outage is made with a proxy the test controls."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from portside.storage import StorageUnavailable
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import SqlHealth, create_tables
from portside.storage.sql._uow import SqlUnitOfWork
from portside.testing.sql import SERVERS, isolated_schema
from portside.testing.storage import DocumentNotes, Note

from ..support.proxy import Proxy


def on_port(server: str, port: int) -> str:
    """The server's admin URL, pointed at another port (a proxy, or nothing)."""
    target = SERVERS[server]
    return target.url.replace(f":{target.port}/", f":{port}/")


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
async def test_an_unreachable_server_is_storage_unavailable(server: str) -> None:
    engine = make_engine(SqlSettings(url=on_port(server, 1), connect_timeout=2))
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
    async with isolated_schema(request.param) as schema:
        proxy = await Proxy("127.0.0.1", SERVERS[request.param].port).start()
        engine = make_engine(
            SqlSettings(
                url=on_port(request.param, proxy.port), schema_name=schema, connect_timeout=2
            )
        )
        try:
            await create_tables(engine)
            yield proxy, engine
        finally:
            await proxy.close()
            await engine.dispose()


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


@pytest.mark.parametrize("server", ["postgres", "mariadb"])
async def test_a_pooled_connection_the_server_closed_is_replaced_before_use(
    server: str,
) -> None:
    """With ``pre_ping`` (the default) a connection is checked when taken from the pool: one
    the server has closed since (a restart, an idle timeout) costs no failed unit of work."""
    async with isolated_schema(server) as schema:
        engine = make_engine(SqlSettings(url=SERVERS[server].url, schema_name=schema))
        try:
            await create_tables(engine)
            uow = SqlUnitOfWork(engine)
            async with uow:
                await DocumentNotes(uow).add(Note("n1", "before"))
                await uow.commit()
            pids = set()
            for _ in range(2):  # a live pooled connection passes the check and is reused
                async with engine.connect() as connection:
                    pids.add((await connection.execute(text(BACKEND_ID[server]))).scalar_one())
            assert len(pids) == 1
            pid = pids.pop()
            admin = make_engine(SqlSettings(url=SERVERS[server].url))
            try:
                async with admin.connect() as connection:
                    await connection.execute(text(KILL[server].format(pid=int(pid))))
            finally:
                await admin.dispose()
            async with uow:
                assert await DocumentNotes(uow).get("n1") is not None
        finally:
            await engine.dispose()


BACKEND_ID = {"postgres": "SELECT pg_backend_pid()", "mariadb": "SELECT CONNECTION_ID()"}
KILL = {"postgres": "SELECT pg_terminate_backend({pid})", "mariadb": "KILL {pid}"}
