"""The memory cache passes the cache contract; it drops the least recently used entry to
make room; the provider is the default and reads its settings from [cache]."""

from pathlib import Path

import pytest

from portside.cache import Cache, MemoryCacheSettings
from portside.cache.memory import MemoryCache
from portside.config import ConfigError, load_config
from portside.host import Host, Service
from portside.testing.cache import Advance, CacheContract


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestMemoryCache(CacheContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def cache(self, clock: Clock, default_ttl: float) -> MemoryCache:
        return MemoryCache(ttl=default_ttl, clock=clock)

    @pytest.fixture
    def other_cache(self, clock: Clock, default_ttl: float) -> MemoryCache:
        return MemoryCache(ttl=default_ttl, clock=clock)

    @pytest.fixture
    def advance(self, clock: Clock) -> Advance:
        async def advance(seconds: float) -> None:
            clock.now += seconds

        return advance


async def test_the_least_recently_used_entry_makes_room() -> None:
    cache = MemoryCache(max_entries=2, clock=Clock())
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # "b" is now the least recently used
    await cache.set("c", b"3")
    assert len(cache) == 2
    assert [await cache.get(k) for k in ("a", "b", "c")] == [b"1", None, b"3"]


async def test_replacing_an_entry_makes_it_recently_used() -> None:
    cache = MemoryCache(max_entries=2, clock=Clock())
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("a", b"1 again")
    await cache.set("c", b"3")
    assert [await cache.get(k) for k in ("a", "b", "c")] == [b"1 again", None, b"3"]


async def test_an_expired_entry_is_dropped_when_read() -> None:
    clock = Clock()
    cache = MemoryCache(clock=clock)
    await cache.set("k", b"v", ttl=1)
    clock.now += 1
    assert await cache.get("k") is None
    assert len(cache) == 0


def test_settings_are_checked_when_the_cache_is_made() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryCache(max_entries=0)
    with pytest.raises(ValueError, match="time to live"):
        MemoryCache(ttl=0)


def configure(tmp_path: Path, text: str) -> Host:
    path = tmp_path / "portside.toml"
    path.write_text(text)
    return Host(load_config(path, environ={}), [Service("svc", requires=["cache"])])


async def test_memory_is_the_default_provider_and_reads_its_settings(tmp_path: Path) -> None:
    host = configure(tmp_path, "[cache]\nttl = 30\nmax_entries = 7\n")
    await host.start()
    try:
        provider = host.providers["svc"]
        cache = await provider.aget(Cache)
        assert isinstance(cache, MemoryCache)
        assert (cache.ttl, cache.max_entries) == (30.0, 7)
        assert await provider.aget(Cache) is cache  # one cache per service
        assert isinstance(await provider.aget(MemoryCacheSettings), MemoryCacheSettings)
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"
    finally:
        await host.stop()


def test_unknown_or_invalid_keys_are_configuration_errors(tmp_path: Path) -> None:
    path = tmp_path / "portside.toml"
    path.write_text('[cache]\nprovider = "memory"\nttl = 0\nurl = "redis://x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={}).for_service("svc", requires=["cache"])
    text = str(caught.value)
    assert "[cache] ttl" in text
    assert "[cache] url" in text
