"""Each use case on the memory store with a fixed clock: what it returns, stores,
publishes through the outbox, and how it uses the cache."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, timedelta
from typing import Any

import pytest

from portside.cache.memory import MemoryCache
from portside.errors import Invalid
from portside.storage import Conflict, NotFound
from portside.storage.memory import MemoryOutbox
from users.adapters import cache as cache_adapter
from users.adapters.cache import KEY, CachedUsers
from users.application import MAX_PAGE
from users.domain import User

from .support import START, App, FailingCache, FixedClock, Published, drain, types_of

# -- RegisterUser -----------------------------------------------------------------------------


async def test_register_stores_the_user_and_publishes_user_registered(
    app: App, outbox: MemoryOutbox
) -> None:
    user = await app.register()(" Ada ", "R&D")
    assert (user.name, user.department, user.created, user.version) == ("Ada", "R&D", START, 1)
    stored = await app.stored(user.id)
    assert stored is not None
    assert (stored.name, stored.department, stored.created) == ("Ada", "R&D", START)
    assert await drain(outbox) == [
        Published(
            "users.UserRegistered",
            user.id,
            {"user_id": user.id, "name": "Ada", "department": "R&D"},
        )
    ]


async def test_a_duplicate_name_is_a_conflict_that_names_it(app: App, outbox: MemoryOutbox) -> None:
    await app.register()("ada", None)
    await drain(outbox)
    with pytest.raises(Conflict) as caught:
        await app.register()(" ada ", "other")
    assert str(caught.value) == "duplicate user for ada"
    assert await app.names() == ["ada"]
    assert await drain(outbox) == []


async def test_invalid_input_stores_and_publishes_nothing(app: App, outbox: MemoryOutbox) -> None:
    with pytest.raises(Invalid) as caught:
        await app.register()("", "d" * 65)
    assert [v.field for v in caught.value.violations] == ["name", "department"]
    assert await app.names() == []
    assert await drain(outbox) == []


# -- GetUser and the cache --------------------------------------------------------------------


async def test_get_an_unknown_user_is_not_found(app: App) -> None:
    with pytest.raises(NotFound, match="'nobody'"):
        await app.get()("nobody")


async def test_a_miss_loads_from_the_store_and_fills_the_cache(app: App) -> None:
    user = await app.register()("ada", "R&D")
    assert await app.cache.get(user.id) is None
    got = await app.get()(user.id)
    assert (got.id, got.name, got.department, got.created) == (user.id, "ada", "R&D", START)
    cached = await app.cache.get(user.id)
    assert cached is not None
    assert (cached.name, cached.department, cached.created, cached.version) == (
        "ada",
        "R&D",
        START,
        1,
    )
    assert cached.created.utcoffset() == timedelta(0)


async def test_a_hit_is_served_from_the_cache(app: App) -> None:
    user = await app.register()("ada", "R&D")
    # What the cache holds differs from the store, so the answer shows where it came from.
    await app.cache.put(User(user.id, "as cached", None, START))
    assert (await app.get()(user.id)).name == "as cached"


async def test_a_failing_cache_is_logged_and_the_store_answers(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    user = await app.register()("ada", None)
    failing = FailingCache()
    app.cache = failing
    with caplog.at_level(logging.WARNING, logger="users"):
        got = await app.get()(user.id)
    assert got.name == "ada"
    assert failing.calls == ["get"]  # no second wait on a cache that just failed
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "user cache failed" in caplog.records[0].getMessage()


async def test_an_unreadable_cache_entry_is_a_failure_like_any_other(
    app: App, cache: MemoryCache, caplog: pytest.LogCaptureFixture
) -> None:
    user = await app.register()("ada", None)
    await cache.set(KEY + user.id, b"not json")
    with caplog.at_level(logging.WARNING, logger="users"):
        assert (await app.get()(user.id)).name == "ada"
    assert "user cache failed" in caplog.text


async def test_a_cached_user_keeps_its_instant(cache: MemoryCache) -> None:
    users = CachedUsers(cache, ttl=5)
    user = User("u1", "ada", None, START)
    user.version = 3
    await users.put(user)
    back = await users.get("u1")
    assert back is not None
    assert (back.created, back.created.utcoffset(), back.version) == (START, timedelta(0), 3)
    assert back.created.tzinfo is UTC  # the domain's zone object, as check_created gives it
    await users.forget("u1")
    assert await users.get("u1") is None


async def test_an_entry_read_again_is_not_parsed_again_and_a_changed_one_is(
    cache: MemoryCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    read = cache_adapter._read

    def counting_read(raw: bytes) -> Any:
        parsed.append(raw)
        return read(raw)

    monkeypatch.setattr(cache_adapter, "_read", counting_read)
    users = CachedUsers(cache)
    await users.put(User("u1", "ada", None, START))
    first, again = await users.get("u1"), await users.get("u1")
    assert first is not None
    assert again is not None
    assert len(parsed) == 1
    assert first is not again  # each read gets its own domain object
    assert (again.name, again.created) == ("ada", START)
    await users.put(User("u1", "ada lovelace", "R&D", START))  # a changed entry
    changed = await users.get("u1")
    assert changed is not None
    assert (changed.name, changed.department) == ("ada lovelace", "R&D")
    assert len(parsed) == 2


async def test_the_parsed_entries_kept_are_bounded(
    cache: MemoryCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_adapter, "DECODED_MAX", 3)
    users = CachedUsers(cache)
    for n in range(5):
        await users.put(User(f"u{n}", f"user {n}", None, START))
        assert await users.get(f"u{n}") is not None
    assert len(users._decoded) == 3
    assert sorted(u[1] for u in users._decoded.values()) == ["user 2", "user 3", "user 4"]


# -- ModifyUser -------------------------------------------------------------------------------


async def test_modify_stores_publishes_and_invalidates_the_cache(
    app: App, outbox: MemoryOutbox
) -> None:
    user = await app.register()("ada", "R&D")
    await app.get()(user.id)  # now cached
    await drain(outbox)
    modified = await app.modify()(user.id, "Ada L.", None)
    assert (modified.name, modified.department, modified.version) == ("Ada L.", None, 2)
    assert await app.cache.get(user.id) is None
    assert (await app.get()(user.id)).name == "Ada L."
    assert await drain(outbox) == [
        Published(
            "users.UserModified",
            user.id,
            {"user_id": user.id, "name": "Ada L.", "department": None},
        )
    ]


async def test_modify_without_a_change_writes_and_publishes_nothing(
    app: App, outbox: MemoryOutbox
) -> None:
    user = await app.register()("ada", "R&D")
    await drain(outbox)
    await app.modify()(user.id, " ada", "R&D ")
    stored = await app.stored(user.id)
    assert stored is not None
    assert stored.version == 1
    assert await drain(outbox) == []


async def test_modify_an_unknown_user_is_not_found(app: App) -> None:
    with pytest.raises(NotFound):
        await app.modify()("nobody", "ada", None)


async def test_modify_to_a_taken_name_is_a_conflict(app: App, outbox: MemoryOutbox) -> None:
    ada = await app.register()("ada", None)
    await app.register()("grace", None)
    await drain(outbox)
    with pytest.raises(Conflict, match=r"^duplicate user for grace$"):
        await app.modify()(ada.id, "grace", None)
    assert await app.names() == ["ada", "grace"]
    assert await drain(outbox) == []


async def test_modify_with_invalid_input_names_the_field(app: App) -> None:
    user = await app.register()("ada", None)
    with pytest.raises(Invalid) as caught:
        await app.modify()(user.id, "ada", "d" * 65)
    assert [v.field for v in caught.value.violations] == ["department"]


async def test_a_cache_that_fails_after_a_change_does_not_fail_the_change(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    user = await app.register()("ada", None)
    app.cache = FailingCache()
    with caplog.at_level(logging.WARNING, logger="users"):
        await app.modify()(user.id, "Ada", None)
    assert (await app.stored(user.id)).name == "Ada"  # type: ignore[union-attr]
    assert "could not drop users" in caplog.text


# -- UnregisterUser ---------------------------------------------------------------------------


async def test_unregister_by_id_removes_publishes_and_invalidates(
    app: App, outbox: MemoryOutbox
) -> None:
    user = await app.register()("ada", None)
    await app.get()(user.id)  # now cached
    await drain(outbox)
    removed = await app.unregister().by_id(user.id)
    assert removed.id == user.id
    assert await app.stored(user.id) is None
    with pytest.raises(NotFound):
        await app.get()(user.id)  # not served stale from the cache
    assert await drain(outbox) == [
        Published("users.UserUnregistered", user.id, {"user_id": user.id, "name": "ada"})
    ]
    await app.register()("ada", None)  # the name is free again


async def test_unregister_by_name(app: App, outbox: MemoryOutbox) -> None:
    ada = await app.register()("ada", None)
    grace = await app.register()("grace", None)
    await drain(outbox)
    assert (await app.unregister().by_name(" grace ")).id == grace.id
    assert await app.names() == ["ada"]
    assert types_of(await drain(outbox)) == ["users.UserUnregistered"]
    assert await app.stored(ada.id) is not None


async def test_unregister_an_unknown_user_is_not_found(app: App, outbox: MemoryOutbox) -> None:
    with pytest.raises(NotFound):
        await app.unregister().by_id("nobody")
    with pytest.raises(NotFound, match="'nobody'"):
        await app.unregister().by_name("nobody")
    assert await drain(outbox) == []


# -- ListUsers --------------------------------------------------------------------------------


async def register_many(app: App, count: int) -> list[User]:
    """``count`` users; every three share a creation time, so ids break the ties."""
    app.clock = FixedClock(START)
    users = []
    for n in range(count):
        users.append(await app.register()(f"user {n:02d}", None))
        if n % 3 == 2:
            app.clock = FixedClock(START + timedelta(seconds=n))
    return users


async def walk(app: App, limit: int) -> tuple[list[str], list[int]]:
    """Every page, following the cursors: the ids in order and each page's size."""
    ids: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        page = await app.list_users()(limit, cursor)
        ids += [u.id for u in page.items]
        sizes.append(len(page.items))
        if page.next_cursor is None:
            return ids, sizes
        cursor = page.next_cursor


async def test_pages_are_complete_ordered_and_without_duplicates(app: App) -> None:
    users = await register_many(app, 25)
    ids, sizes = await walk(app, 7)
    assert sizes == [7, 7, 7, 4]
    assert ids == [u.id for u in sorted(users, key=lambda u: (u.created, u.id))]
    assert len(set(ids)) == 25


async def test_the_last_full_page_has_no_next_cursor(app: App) -> None:
    await register_many(app, 6)
    assert (await walk(app, 3))[1] == [3, 3]
    assert (await walk(app, 6))[1] == [6]


async def test_an_empty_store_is_one_empty_page(app: App) -> None:
    page = await app.list_users()()
    assert (page.items, page.next_cursor) == ([], None)


async def test_the_default_page_size_applies_without_a_limit(app: App) -> None:
    await register_many(app, 5)
    page = await app.list_users(page_size=2)()
    assert len(page.items) == 2
    assert page.next_cursor is not None


async def test_changes_between_pages_neither_repeat_nor_skip_a_user(app: App) -> None:
    users = sorted(await register_many(app, 9), key=lambda u: (u.created, u.id))
    first = await app.list_users()(4)
    assert [u.id for u in first.items] == [u.id for u in users[:4]]
    await app.unregister().by_id(users[1].id)  # on a page already read
    app.clock = FixedClock(START + timedelta(days=1))
    late = await app.register()("late", None)  # after everything read so far
    rest: list[str] = []
    cursor = first.next_cursor
    while cursor is not None:
        page = await app.list_users()(4, cursor)
        rest += [u.id for u in page.items]
        cursor = page.next_cursor
    assert rest == [u.id for u in users[4:]] + [late.id]


@pytest.mark.parametrize("limit", [0, MAX_PAGE + 1, -1, True, 2.5])
async def test_a_limit_outside_1_to_100_is_invalid(app: App, limit: object) -> None:
    with pytest.raises(Invalid) as caught:
        await app.list_users()(limit)  # type: ignore[arg-type]
    assert [v.field for v in caught.value.violations] == ["limit"]


async def test_the_limits_1_and_100_are_allowed(app: App) -> None:
    await register_many(app, 2)
    assert len((await app.list_users()(1)).items) == 1
    assert len((await app.list_users()(MAX_PAGE)).items) == 2


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        cursor_of(b"not json"),
        cursor_of(b'{"a": 1}'),
        cursor_of(b'["2026-01-02T03:04:05", "u1"]'),  # no time zone
        cursor_of(b'["2026-01-02T03:04:05+00:00", 7]'),
        cursor_of(b'["yesterday", "u1"]'),
    ],
)
async def test_a_cursor_the_service_did_not_issue_is_invalid(app: App, cursor: str) -> None:
    with pytest.raises(Invalid) as caught:
        await app.list_users()(5, cursor)
    assert [v.field for v in caught.value.violations] == ["cursor"]


# -- courses ----------------------------------------------------------------------------------


async def test_seeding_is_idempotent_and_courses_list_by_name(app: App) -> None:
    added = await app.seed()(["Rust", "Go", "Python", "Go"])
    assert sorted(c.name for c in added) == ["Go", "Python", "Rust"]
    assert await app.seed()(["Go", " Python ", "Rust"]) == []
    assert [c.name for c in await app.seed()(["Go", "Zig"])] == ["Zig"]
    assert [c.name for c in await app.list_courses()()] == ["Go", "Python", "Rust", "Zig"]


async def test_seeding_refuses_a_bad_name_and_adds_nothing(app: App) -> None:
    with pytest.raises(Invalid) as caught:
        await app.seed()(["Go", ""])
    assert [v.field for v in caught.value.violations] == ["names.1"]
    assert await app.list_courses()() == []
