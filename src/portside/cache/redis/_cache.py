"""A cache on Redis: ``SET key value PX ttl``, so Redis itself expires entries."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portside.cache._port import CacheError, CacheUnavailable, check_entry
from portside.cache._settings import RedisCacheSettings
from portside.config import mask_url

__all__ = ["RedisCache", "RedisCacheHealth", "open_redis_cache", "translate"]

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def translate(exc: BaseException) -> CacheError:
    """The cache error for a redis-py error."""
    text = mask_url(str(exc)) or type(exc).__name__
    if isinstance(exc, _DOWN):
        return CacheUnavailable(f"the Redis cache is unavailable: {text}")
    return CacheError(f"the Redis cache failed: {text}")


class RedisCache:
    """A :class:`~portside.cache.Cache` on Redis; every key starts with ``<prefix>:cache:``.

    ``client`` must return bytes (``decode_responses=False``): values are bytes.
    """

    def __init__(self, client: Redis, *, prefix: str = "portside", ttl: float = 300.0) -> None:
        check_entry("-", b"", ttl)
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self._namespace = f"{prefix}:cache:"

    def key(self, key: str) -> str:
        """The Redis key that holds ``key``."""
        return self._namespace + key

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.client.get(self.key(key))
        except RedisError as exc:
            raise translate(exc) from exc
        if value is None or isinstance(value, bytes):
            return value
        raise CacheError(
            "the Redis client decodes responses; the cache needs decode_responses=False"
        )

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        seconds = self.ttl if ttl is None else ttl
        check_entry(key, value, seconds)
        # Milliseconds, and at least one: PX 0 is an error, and rounding down a short ttl
        # to nothing would store an entry that never expires in the caller's eyes.
        milliseconds = max(1, round(seconds * 1000))
        try:
            await self.client.set(self.key(key), value, px=milliseconds)
        except RedisError as exc:
            raise translate(exc) from exc

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self.client.delete(*(self.key(k) for k in keys))
        except RedisError as exc:
            raise translate(exc) from exc

    async def ping(self) -> None:
        try:
            await self.client.ping()
        except RedisError as exc:
            raise translate(exc) from exc


class RedisCacheHealth:
    """A cheap round trip: ``PING``."""

    name = "cache.redis"

    def __init__(self, cache: RedisCache) -> None:
        self.cache = cache

    async def check(self) -> None:
        await self.cache.ping()


async def open_redis_cache(settings: RedisCacheSettings) -> AsyncIterator[RedisCache]:
    """The service's cache with its own client (a connection pool), closed when the
    container closes. Its own client, not the storage's: that one decodes responses to
    text, and the cache stores bytes."""
    client = Redis.from_url(
        settings.url,
        password=settings.password.get_secret_value() if settings.password else None,
        socket_connect_timeout=settings.connect_timeout,
        socket_timeout=settings.socket_timeout,
        decode_responses=False,
        client_name=f"portside-cache-{settings.prefix}",
    )
    try:
        yield RedisCache(client, prefix=settings.prefix, ttl=settings.ttl)
    finally:
        await client.aclose()
