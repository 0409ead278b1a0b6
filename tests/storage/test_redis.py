"""The redis provider passes the storage contract; an outage is StorageUnavailable."""

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from portside.storage import StorageUnavailable, UnitOfWork
from portside.storage.redis._provider import RedisHealth
from portside.storage.redis._uow import RedisOutbox, RedisUnitOfWork
from portside.testing.storage import DocumentNotes, Note, StorageContract

from ..conftest import require_server
from ..support.proxy import Proxy


@pytest.fixture
async def redis_client() -> AsyncIterator[tuple[Redis, str]]:
    require_server("Redis", "127.0.0.1", 6379)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    client = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.mark.redis
class TestRedis(StorageContract):
    @pytest.fixture
    def new_uow(self, redis_client: tuple[Redis, str]) -> Callable[..., UnitOfWork]:
        client, prefix = redis_client
        return lambda encoder=None: RedisUnitOfWork(client, prefix, encoder)

    @pytest.fixture
    def outbox(self, redis_client: tuple[Redis, str]) -> RedisOutbox:
        client, prefix = redis_client
        return RedisOutbox(client, prefix)


@pytest.mark.redis
async def test_keys_stay_under_the_prefix(redis_client: tuple[Redis, str]) -> None:
    client, prefix = redis_client
    uow = RedisUnitOfWork(client, prefix)
    async with uow:
        await DocumentNotes(uow).add(Note("n1", "title", tag="t"))
        await uow.commit()
    keys = sorted([key async for key in client.scan_iter(f"{prefix}:*")])
    assert keys == [
        f"{prefix}:doc:notes:n1",
        f"{prefix}:idx:notes:tag:t",
        f"{prefix}:uniq:notes:title:title",
    ]


@pytest.mark.redis
async def test_an_outage_is_unavailable_and_the_next_unit_of_work_after_it_succeeds() -> None:
    require_server("Redis", "127.0.0.1", 6379)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    proxy = await Proxy("127.0.0.1", 6379).start()
    client = Redis.from_url(
        f"redis://127.0.0.1:{proxy.port}/0",
        decode_responses=True,
        socket_timeout=2,
        socket_connect_timeout=2,
    )
    uow = RedisUnitOfWork(client, prefix)
    try:
        async with uow:
            await DocumentNotes(uow).add(Note("n1", "before"))
            await uow.commit()
        await proxy.cut()
        with pytest.raises(StorageUnavailable):
            async with uow:
                await DocumentNotes(uow).get("n1")
        with pytest.raises(StorageUnavailable):
            await RedisHealth(client).check()
        await proxy.restore()
        async with uow:
            assert await DocumentNotes(uow).get("n1") is not None
            await uow.commit()
        await RedisHealth(client).check()
    finally:
        await proxy.close()
        await client.aclose()
        direct = Redis.from_url("redis://127.0.0.1:6379/0")
        keys = [key async for key in direct.scan_iter(f"{prefix}:*")]
        if keys:
            await direct.delete(*keys)
        await direct.aclose()


async def test_an_unreachable_server_is_unavailable() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=2)
    try:
        uow = RedisUnitOfWork(client)
        with pytest.raises(StorageUnavailable, match="redis is unavailable"):
            async with uow:
                await DocumentNotes(uow).get("n1")
    finally:
        await client.aclose()
