"""The cache contract: one test suite, run against every cache provider.

Subclass :class:`CacheContract` and provide these fixtures:

``cache``
    the :class:`~portside.cache.Cache` under test, empty, whose default time to live is
    the ``default_ttl`` fixture's value.
``other_cache``
    a cache over the same backend (the same server) in another namespace (prefix).
``advance``
    ``await advance(seconds)`` makes ``seconds`` pass for the entries of ``cache``. The
    memory provider moves the clock it was given; a provider whose server keeps the time
    moves each entry's expiry closer by ``seconds`` instead (for Redis: ``PEXPIRE`` with
    the remaining ``PTTL`` less ``seconds``), which is what time passing does to it.

No test sleeps: expiry is observed only through ``advance``, and margins are whole
seconds, so the real time a test takes cannot change its outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from portside.cache import Cache

__all__ = ["Advance", "CacheContract"]

Advance = Callable[[float], Awaitable[None]]


class CacheContract:
    """The cache contract (see the module docstring)."""

    @pytest.fixture
    def default_ttl(self) -> float:
        return 300.0

    @pytest.fixture
    def cache(self) -> Cache:
        raise NotImplementedError("provide a cache fixture")

    @pytest.fixture
    def other_cache(self) -> Cache:
        raise NotImplementedError("provide an other_cache fixture")

    @pytest.fixture
    def advance(self) -> Advance:
        raise NotImplementedError("provide an advance fixture")

    # -- values -----------------------------------------------------------------------------
    async def test_a_missing_key_is_none(self, cache: Cache) -> None:
        assert await cache.get("absent") is None

    async def test_what_is_set_is_got_back_byte_for_byte(self, cache: Cache) -> None:
        values = {"text": b"hello", "binary": bytes(range(256)), "empty": b""}
        for key, value in values.items():
            await cache.set(key, value)
        for key, value in values.items():
            assert await cache.get(key) == value

    async def test_setting_a_key_again_replaces_its_value(self, cache: Cache) -> None:
        await cache.set("k", b"first")
        await cache.set("k", b"second")
        assert await cache.get("k") == b"second"

    async def test_delete_removes_exactly_the_keys_named(self, cache: Cache) -> None:
        for key in ("a", "b", "c"):
            await cache.set(key, key.encode())
        await cache.delete("a", "b", "never-set")
        assert [await cache.get(k) for k in ("a", "b", "c")] == [None, None, b"c"]
        await cache.delete()  # nothing named: nothing happens
        assert await cache.get("c") == b"c"

    async def test_keys_that_share_a_beginning_are_distinct(self, cache: Cache) -> None:
        await cache.set("user:1", b"one")
        await cache.set("user:10", b"ten")
        await cache.delete("user:1")
        assert await cache.get("user:10") == b"ten"

    async def test_what_a_provider_cannot_store_is_refused(self, cache: Cache) -> None:
        with pytest.raises(TypeError):
            await cache.set("k", "text, not bytes")  # type: ignore[arg-type]
        for ttl in (0, -1.0, float("inf"), float("nan")):
            with pytest.raises(ValueError, match="time to live"):
                await cache.set("k", b"v", ttl=ttl)
        assert await cache.get("k") is None

    # -- time to live -----------------------------------------------------------------------
    async def test_an_entry_lives_until_its_ttl_then_is_gone(
        self, cache: Cache, advance: Advance
    ) -> None:
        await cache.set("short", b"v", ttl=10)
        await advance(8)
        assert await cache.get("short") == b"v"
        await advance(3)
        assert await cache.get("short") is None

    async def test_without_a_ttl_the_configured_default_applies(
        self, cache: Cache, advance: Advance, default_ttl: float
    ) -> None:
        await cache.set("k", b"v")
        await advance(default_ttl - 2)
        assert await cache.get("k") == b"v"
        await advance(3)
        assert await cache.get("k") is None

    async def test_setting_again_renews_the_ttl(self, cache: Cache, advance: Advance) -> None:
        await cache.set("k", b"one", ttl=10)
        await advance(8)
        await cache.set("k", b"two", ttl=10)
        await advance(8)  # 16 s after the first set, 8 s after the second
        assert await cache.get("k") == b"two"
        await advance(3)
        assert await cache.get("k") is None

    async def test_entries_expire_each_by_its_own_ttl(self, cache: Cache, advance: Advance) -> None:
        await cache.set("short", b"s", ttl=5)
        await cache.set("long", b"l", ttl=50)
        await advance(10)
        assert await cache.get("short") is None
        assert await cache.get("long") == b"l"

    # -- namespaces -------------------------------------------------------------------------
    async def test_namespaces_do_not_see_each_other(self, cache: Cache, other_cache: Cache) -> None:
        await cache.set("shared-name", b"mine")
        assert await other_cache.get("shared-name") is None
        await other_cache.set("shared-name", b"theirs")
        assert await cache.get("shared-name") == b"mine"
        assert await other_cache.get("shared-name") == b"theirs"
        await other_cache.delete("shared-name")
        assert await other_cache.get("shared-name") is None
        assert await cache.get("shared-name") == b"mine"
