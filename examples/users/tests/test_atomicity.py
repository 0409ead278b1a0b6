"""ModifyAndUnregister changes two users in one unit of work: when the second step fails,
the first is not stored either, and no event of either reaches the outbox. Proved on the
memory store and on SQLite, where the failure comes after the first step's UPDATE ran in
the database transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from portside.cache.memory import MemoryCache
from portside.storage import NotFound, Outbox, UnitOfWork
from portside.storage.memory import MemoryOutbox, MemoryStore, MemoryUnitOfWork
from portside.storage.sql._uow import SqlOutbox, SqlUnitOfWork
from users.adapters.cache import CachedUsers
from users.adapters.documents import DocumentCourses, DocumentUsers
from users.adapters.sql import SqlCourses, SqlUsers
from users.application import UserRepository
from users.domain import User

from .support import START, App, FixedClock, Published, drain, encoder, migrated_sqlite


class InjectedError(Exception):
    """The failure a test injects into the second step."""


def failing_on_delete(base: type[Any]) -> Callable[[UnitOfWork], UserRepository]:
    """``base`` whose removals fail when written, at commit: by then the first step's
    change has been written in the same transaction."""

    class Failing(base):  # type: ignore[misc]
        async def _delete(self, aggregate: User, expected: int) -> None:
            raise InjectedError(f"cannot delete {aggregate.name}")

    return Failing


@dataclass
class Store:
    app: App
    outbox: Outbox
    users: type[Any]


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    encode = encoder()
    cache = CachedUsers(MemoryCache())
    clock = FixedClock(START)
    if request.param == "memory":
        memory = MemoryStore()

        def new_memory_uow() -> UnitOfWork:
            return MemoryUnitOfWork(memory, encode)

        app = App(new_memory_uow, DocumentUsers, DocumentCourses, cache, clock)
        yield Store(app, MemoryOutbox(memory), DocumentUsers)
        return
    engine = await migrated_sqlite(tmp_path / "users.db")

    def new_sql_uow() -> UnitOfWork:
        return SqlUnitOfWork(engine, encode)

    try:
        app = App(new_sql_uow, SqlUsers, SqlCourses, cache, clock)
        yield Store(app, SqlOutbox(engine), SqlUsers)
    finally:
        await engine.dispose()


async def two_users(store: Store) -> tuple[User, User]:
    ada = await store.app.register()("ada", "R&D")
    grace = await store.app.register()("grace", None)
    await store.app.get()(ada.id)  # cached, to show the cache is left alone on failure
    await drain(store.outbox)
    return ada, grace


async def assert_unchanged(store: Store, ada: User) -> None:
    stored = await store.app.stored(ada.id)
    assert stored is not None
    assert (stored.name, stored.department, stored.version) == ("ada", "R&D", 1)
    assert await store.app.names() == ["ada", "grace"]
    assert await drain(store.outbox) == []


async def test_both_steps_commit_together(store: Store) -> None:
    ada, grace = await two_users(store)
    done = await store.app.modify_and_unregister()(ada.id, "Ada L.", None, "grace")
    assert (done.modified.id, done.unregistered.id) == (ada.id, grace.id)
    assert await store.app.names() == ["Ada L."]
    assert (await store.app.get()(ada.id)).name == "Ada L."  # the cached copy was dropped
    assert await drain(store.outbox) == [
        Published(
            "users.UserModified", ada.id, {"user_id": ada.id, "name": "Ada L.", "department": None}
        ),
        Published("users.UserUnregistered", grace.id, {"user_id": grace.id, "name": "grace"}),
    ]


async def test_an_unknown_second_user_leaves_the_first_unchanged(store: Store) -> None:
    ada, _ = await two_users(store)
    with pytest.raises(NotFound, match="'nobody'"):
        await store.app.modify_and_unregister()(ada.id, "Ada L.", None, "nobody")
    await assert_unchanged(store, ada)


async def test_an_injected_failure_at_commit_rolls_the_first_step_back(store: Store) -> None:
    ada, _ = await two_users(store)
    store.app.users = failing_on_delete(store.users)
    with pytest.raises(InjectedError):
        await store.app.modify_and_unregister()(ada.id, "Ada L.", None, "grace")
    await assert_unchanged(store, ada)
    assert (await store.app.get()(ada.id)).name == "ada"


async def test_modifying_and_unregistering_one_user_publishes_both_events(store: Store) -> None:
    ada, _ = await two_users(store)
    # The new name is found in the unit of work, although the store does not know it yet.
    await store.app.modify_and_unregister()(ada.id, "Ada L.", None, "Ada L.")
    assert await store.app.names() == ["grace"]
    assert [(p.type, p.payload["name"]) for p in await drain(store.outbox)] == [
        ("users.UserModified", "Ada L."),
        ("users.UserUnregistered", "Ada L."),
    ]


async def test_the_old_name_of_a_user_just_renamed_names_nobody(store: Store) -> None:
    ada, _ = await two_users(store)
    with pytest.raises(NotFound):
        await store.app.modify_and_unregister()(ada.id, "Ada L.", None, "ada")
    await assert_unchanged(store, ada)
