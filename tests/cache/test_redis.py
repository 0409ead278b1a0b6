"""The Redis cache passes the cache contract on a real server, keeps its keys under its
prefix, reports an unreachable server as CacheUnavailable, and as a provider registers a
health check and closes its client with the container."""

import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from portside.cache import Cache, CacheError, CacheUnavailable
from portside.cache.redis import RedisCache, RedisCacheHealth
from portside.config import load_config
from portside.host import Host, Service
from portside.testing.cache import Advance, CacheContract
from portside.testing.messaging import eventually
from portside.testing.servers import require_server

URL = "redis://127.0.0.1:6379/0"


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


async def drop(client: Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture
async def client() -> AsyncIterator[Redis]:
    require_server("Redis", "127.0.0.1", 6379)
    made = Redis.from_url(URL)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
async def prefixes(client: Redis) -> AsyncIterator[tuple[str, str]]:
    """Two fresh prefixes; their keys are deleted after the test."""
    mine, theirs = new_prefix(), new_prefix()
    try:
        yield mine, theirs
    finally:
        await drop(client, mine)
        await drop(client, theirs)


@pytest.mark.redis
class TestRedisCache(CacheContract):
    @pytest.fixture
    def cache(self, client: Redis, prefixes: tuple[str, str], default_ttl: float) -> RedisCache:
        return RedisCache(client, prefix=prefixes[0], ttl=default_ttl)

    @pytest.fixture
    def other_cache(
        self, client: Redis, prefixes: tuple[str, str], default_ttl: float
    ) -> RedisCache:
        return RedisCache(client, prefix=prefixes[1], ttl=default_ttl)

    @pytest.fixture
    def advance(self, client: Redis, prefixes: tuple[str, str]) -> Advance:
        async def advance(seconds: float) -> None:
            # Redis keeps the time; time passing for an entry means its expiry comes
            # closer, and a non-positive PEXPIRE deletes the key as expiry would.
            async for key in client.scan_iter(f"{prefixes[0]}:*"):
                remaining = await client.pttl(key)
                if remaining > 0:
                    await client.pexpire(key, remaining - round(seconds * 1000))

        return advance


@pytest.mark.redis
async def test_keys_live_under_the_prefix_with_the_ttl_set(
    client: Redis, prefixes: tuple[str, str]
) -> None:
    cache = RedisCache(client, prefix=prefixes[0], ttl=60)
    await cache.set("user:1", b"v")
    keys = [key async for key in client.scan_iter(f"{prefixes[0]}:*")]
    assert keys == [f"{prefixes[0]}:cache:user:1".encode()]
    assert 0 < await client.pttl(keys[0]) <= 60_000


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_server_is_cache_unavailable() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=2)
    cache = RedisCache(client, prefix="nowhere")
    try:
        with pytest.raises(CacheUnavailable, match="unavailable"):
            await cache.get("k")
        with pytest.raises(CacheUnavailable):
            await cache.set("k", b"v")
        with pytest.raises(CacheUnavailable):
            await cache.delete("k")
        with pytest.raises(CacheUnavailable):
            await RedisCacheHealth(cache).check()
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_decoding_client_is_refused_with_a_reason(client: Redis) -> None:
    prefix = new_prefix()
    text_client = Redis.from_url(URL, decode_responses=True)
    try:
        cache = RedisCache(text_client, prefix=prefix)
        await cache.set("k", b"v")
        with pytest.raises(CacheError, match="decode_responses=False"):
            await cache.get("k")
    finally:
        await drop(client, prefix)
        await text_client.aclose()


async def connections_named(client: Redis, name: str) -> int:
    return sum(1 for entry in await client.client_list() if entry.get("name") == name)


@pytest.mark.redis
async def test_the_provider_checks_health_and_closes_its_client(
    tmp_path: Path, client: Redis, prefixes: tuple[str, str]
) -> None:
    prefix = prefixes[0]
    path = tmp_path / "portside.toml"
    path.write_text(f'[cache]\nprovider = "redis"\nurl = "{URL}"\nprefix = "{prefix}"\nttl = 42\n')
    host = Host(load_config(path, environ={}), [Service("svc", requires=["cache"])])
    await host.start()
    try:
        cache = await host.providers["svc"].aget(Cache)
        assert isinstance(cache, RedisCache)
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"
        assert 0 < await client.pttl(f"{prefix}:cache:k") <= 42_000
        report = await host.readiness()
        assert report.ok
        assert [c.name for c in report.checks] == ["cache.redis"]
        assert await connections_named(client, f"portside-cache-{prefix}") >= 1
    finally:
        await host.stop()

    async def closed() -> bool:
        return await connections_named(client, f"portside-cache-{prefix}") == 0

    await eventually(closed, timeout=10)
