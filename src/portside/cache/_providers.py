"""The cache providers portside ships, as entry points name them. This module imports no
driver: a provider's module factory imports it when the provider is selected."""

from __future__ import annotations

from typing import Any

from portside.config import Provider
from portside.di import Module

from ._port import Cache
from ._settings import MemoryCacheSettings, RedisCacheSettings

__all__ = ["memory_module", "memory_provider", "redis_module", "redis_provider"]


def memory_module(settings: MemoryCacheSettings) -> Module:
    """Registers one :class:`~portside.cache.memory.MemoryCache` per container."""
    from .memory import MemoryCache

    def cache() -> Cache:
        return MemoryCache(max_entries=settings.max_entries, ttl=settings.ttl)

    module = Module("cache.memory")
    module.add_singleton(Cache, factory=cache)
    return module


def redis_module(settings: RedisCacheSettings) -> Module:
    """Registers the Redis cache (its client closed with the container) and its health
    check."""
    from portside.host import HealthCheck

    from .redis import RedisCache, RedisCacheHealth, open_redis_cache

    def cache(redis_cache: RedisCache) -> Cache:
        return redis_cache

    module = Module("cache.redis")
    module.add_singleton(RedisCache, factory=open_redis_cache)
    module.add_singleton(Cache, factory=cache)
    module.add_singleton(HealthCheck, RedisCacheHealth)
    return module


def _memory(settings: Any) -> Module:
    return memory_module(settings)


def _redis(settings: Any) -> Module:
    return redis_module(settings)


memory_provider = Provider(
    "cache",
    "memory",
    _memory,
    MemoryCacheSettings,
    default=True,
    description="in-process LRU cache, one per service",
)
redis_provider = Provider(
    "cache",
    "redis",
    _redis,
    RedisCacheSettings,
    extra="redis",
    requires=("redis",),
    description="Redis (redis-py); entries expire by Redis's own clock",
)
