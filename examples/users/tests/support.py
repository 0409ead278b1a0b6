"""Doubles and helpers the users tests share."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from portside.cache import CacheUnavailable
from portside.messaging import Codec, Envelope
from portside.storage import EventEncoder, Outbox, UnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._migrations import migrate
from portside.testing.sql import SERVERS, isolated_schema
from users.application import (
    Clock,
    CourseRepository,
    GetUser,
    ListCourses,
    ListUsers,
    ModifyAndUnregister,
    ModifyUser,
    RegisterUser,
    SeedCourses,
    UnregisterUser,
    UserCache,
    UserRepository,
)
from users.domain import User

START = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
"""The fixed clock's time: microseconds included, to show they survive every store."""


class FixedClock:
    """A clock that tells the time it is set to; ``step`` moves it after every reading."""

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        self.current, self.step = start, step

    def now(self) -> datetime:
        now = self.current
        self.current += self.step
        return now


@dataclass
class FailingCache:
    """A user cache whose every call fails as an unreachable server would; it counts calls."""

    calls: list[str] = field(default_factory=list)

    async def get(self, user_id: str, /) -> User | None:
        self.calls.append("get")
        raise CacheUnavailable("the cache is down")

    async def put(self, user: User, /) -> None:
        self.calls.append("put")
        raise CacheUnavailable("the cache is down")

    async def forget(self, *user_ids: str) -> None:
        self.calls.append("forget")
        raise CacheUnavailable("the cache is down")


def encoder() -> EventEncoder:
    """The encoder the messaging module gives a service's units of work."""
    return Codec().encoder(lambda name: name)


@dataclass(frozen=True)
class Published:
    type: str
    key: str | None
    payload: dict[str, Any]


async def drain(outbox: Outbox) -> list[Published]:
    """The events committed to the outbox since the last drain, oldest first."""
    claimed = await outbox.claim(owner="test", limit=10_000, lease_seconds=60)
    await outbox.mark_sent(claimed)
    published = []
    for entry in claimed:
        envelope = Envelope.from_json(entry.body)
        published.append(Published(envelope.type, entry.key, dict(envelope.payload)))
    return published


@dataclass
class App:
    """The use cases over one store, each built with a fresh unit of work, as one DI scope
    per call builds them."""

    new_uow: Callable[[], UnitOfWork]
    users: Callable[[UnitOfWork], UserRepository]
    courses: Callable[[UnitOfWork], CourseRepository]
    cache: UserCache
    clock: Clock

    def register(self) -> RegisterUser:
        uow = self.new_uow()
        return RegisterUser(uow, self.users(uow), self.clock)

    def get(self) -> GetUser:
        uow = self.new_uow()
        return GetUser(uow, self.users(uow), self.cache)

    def list_users(self, page_size: int = 20) -> ListUsers:
        uow = self.new_uow()
        return ListUsers(uow, self.users(uow), page_size=page_size)

    def modify(self) -> ModifyUser:
        uow = self.new_uow()
        return ModifyUser(uow, self.users(uow), self.cache)

    def unregister(self) -> UnregisterUser:
        uow = self.new_uow()
        return UnregisterUser(uow, self.users(uow), self.cache)

    def modify_and_unregister(self) -> ModifyAndUnregister:
        uow = self.new_uow()
        return ModifyAndUnregister(uow, self.users(uow), self.cache)

    def list_courses(self) -> ListCourses:
        uow = self.new_uow()
        return ListCourses(uow, self.courses(uow))

    def seed(self) -> SeedCourses:
        uow = self.new_uow()
        return SeedCourses(uow, self.courses(uow))

    async def stored(self, user_id: str) -> User | None:
        """The user as committed, read in a unit of work of its own."""
        uow = self.new_uow()
        async with uow:
            return await self.users(uow).get(user_id)

    async def names(self) -> list[str]:
        uow = self.new_uow()
        async with uow:
            return sorted(u.name for u in await self.users(uow).list(1000))


async def migrated_sqlite(path: Path) -> AsyncEngine:
    """An engine on a new SQLite file, upgraded by the service's migrations."""
    engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{path}"))
    await migrate(engine, "users", "users.migrations", "upgrade")
    return engine


@contextlib.asynccontextmanager
async def migrated_server(server: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose tables live in a fresh schema (PostgreSQL) or database (MariaDB),
    upgraded by the service's migrations, and dropped afterwards."""
    async with isolated_schema(server) as schema:
        engine = make_engine(SqlSettings(url=SERVERS[server].url, schema_name=schema))
        try:
            await migrate(engine, "users", "users.migrations", "upgrade")
            yield engine
        finally:
            await engine.dispose()


def types_of(published: Sequence[Published]) -> list[str]:
    return [p.type for p in published]
