"""The repository contract: the users and courses repositories behave the same on every
store: memory and Redis (document repositories), SQLite, PostgreSQL and MariaDB (SQLAlchemy
repositories on tables made by the service's migrations). Times come back as the same
instant, in UTC, with microseconds, on each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from portside.storage import ConcurrencyError, Conflict, UnitOfWork
from portside.storage.memory import MemoryStore, MemoryUnitOfWork
from portside.storage.redis._uow import RedisUnitOfWork
from portside.storage.sql._uow import SqlUnitOfWork
from portside.testing.servers import require_server
from users.adapters.documents import DocumentCourses, DocumentUsers
from users.adapters.sql import SqlCourses, SqlUsers
from users.application import CourseRepository, Position, UserRepository
from users.domain import Course, User

from .support import migrated_server, migrated_sqlite

NewUow = Callable[[], UnitOfWork]
Users = Callable[[UnitOfWork], UserRepository]
Courses = Callable[[UnitOfWork], CourseRepository]

T0 = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


class RepositoryContract:
    """Subclasses provide ``new_uow``, ``users`` and ``courses``."""

    @pytest.fixture
    def new_uow(self) -> NewUow:
        raise NotImplementedError

    @pytest.fixture
    def users(self) -> Users:
        raise NotImplementedError

    @pytest.fixture
    def courses(self) -> Courses:
        raise NotImplementedError

    async def add(self, new_uow: NewUow, users: Users, *items: User) -> None:
        uow = new_uow()
        async with uow:
            for user in items:
                await users(uow).add(user)
            await uow.commit()

    async def read(self, new_uow: NewUow, users: Users, user_id: str) -> User | None:
        uow = new_uow()
        async with uow:
            return await users(uow).get(user_id)

    async def test_a_user_comes_back_as_stored_with_its_instant_in_utc(
        self, new_uow: NewUow, users: Users
    ) -> None:
        local = T0.astimezone(timezone(timedelta(hours=-7, minutes=-30)))
        await self.add(new_uow, users, User("u1", "ada", "R&D", local))
        await self.add(new_uow, users, User("u2", "grace", None, T0))
        ada = await self.read(new_uow, users, "u1")
        grace = await self.read(new_uow, users, "u2")
        assert ada is not None
        assert grace is not None
        assert (ada.id, ada.name, ada.department, ada.version) == ("u1", "ada", "R&D", 1)
        assert ada.created == T0
        assert ada.created.utcoffset() == timedelta(0)
        assert ada.created.microsecond == 891011
        assert grace.department is None
        assert await self.read(new_uow, users, "nobody") is None

    async def test_a_user_is_found_by_name(self, new_uow: NewUow, users: Users) -> None:
        await self.add(new_uow, users, User("u1", "ada", None, T0), User("u2", "grace", None, T0))
        uow = new_uow()
        async with uow:
            repository = users(uow)
            found = await repository.get_by_name("grace")
            assert found is not None
            assert found.id == "u2"
            assert await repository.get("u2") is found  # one instance per unit of work
            assert await repository.get_by_name("nobody") is None

    async def test_a_taken_name_is_a_conflict(self, new_uow: NewUow, users: Users) -> None:
        await self.add(new_uow, users, User("u1", "ada", None, T0))
        with pytest.raises(Conflict):
            await self.add(new_uow, users, User("u2", "ada", None, T0))
        assert await self.read(new_uow, users, "u2") is None

    async def test_names_differing_in_case_or_accents_are_different_names(
        self, new_uow: NewUow, users: Users
    ) -> None:
        names = ["ada", "Ada", "ADA", "José", "Jose"]
        await self.add(
            new_uow, users, *(User(f"u{n}", name, None, T0) for n, name in enumerate(names))
        )
        uow = new_uow()
        async with uow:
            for n, name in enumerate(names):
                assert (await users(uow).get_by_name(name)).id == f"u{n}"  # type: ignore[union-attr]

    async def test_a_change_is_saved_with_a_new_version_and_a_stale_one_refused(
        self, new_uow: NewUow, users: Users
    ) -> None:
        await self.add(new_uow, users, User("u1", "ada", None, T0))
        first, second = new_uow(), new_uow()
        async with first, second:
            one = await users(first).get("u1")
            two = await users(second).get("u1")
            assert one is not None
            assert two is not None
            one.modify("Ada", "R&D")
            await first.commit()
            two.modify("Ada B.", None)
            with pytest.raises(ConcurrencyError):
                await second.commit()
        stored = await self.read(new_uow, users, "u1")
        assert stored is not None
        assert (stored.name, stored.department, stored.version, stored.created) == (
            "Ada",
            "R&D",
            2,
            T0,
        )

    async def test_a_renamed_user_frees_its_old_name(self, new_uow: NewUow, users: Users) -> None:
        await self.add(new_uow, users, User("u1", "ada", None, T0))
        uow = new_uow()
        async with uow:
            user = await users(uow).get("u1")
            assert user is not None
            user.modify("Ada", None)
            # Renamed in this unit of work: the old name no longer names it.
            assert await users(uow).get_by_name("ada") is None
            await uow.commit()
        await self.add(new_uow, users, User("u2", "ada", None, T0))
        uow = new_uow()
        async with uow:
            assert (await users(uow).get_by_name("ada")).id == "u2"  # type: ignore[union-attr]
            assert (await users(uow).get_by_name("Ada")).id == "u1"  # type: ignore[union-attr]

    async def test_a_removed_user_is_gone_and_its_name_free(
        self, new_uow: NewUow, users: Users
    ) -> None:
        await self.add(new_uow, users, User("u1", "ada", None, T0))
        uow = new_uow()
        async with uow:
            user = await users(uow).get("u1")
            assert user is not None
            await users(uow).remove(user)
            assert await users(uow).get_by_name("ada") is None
            await uow.commit()
        assert await self.read(new_uow, users, "u1") is None
        await self.add(new_uow, users, User("u2", "ada", None, T0))
        uow = new_uow()
        async with uow:
            assert [u.id for u in await users(uow).list(10)] == ["u2"]

    async def test_list_pages_in_created_then_id_order(self, new_uow: NewUow, users: Users) -> None:
        # Inserted out of order; three share a creation time (one of them a microsecond
        # apart), so the id decides among them.
        later = T0 + timedelta(seconds=1)
        await self.add(
            new_uow,
            users,
            User("c", "c", None, later),
            User("b", "b", None, T0),
            User("e", "e", None, T0 - timedelta(days=1)),
            User("a", "a", None, T0),
            User("d", "d", None, T0 + timedelta(microseconds=1)),
            User("f", "f", None, T0),
        )
        uow = new_uow()
        async with uow:
            repository = users(uow)
            assert [u.id for u in await repository.list(100)] == ["e", "a", "b", "f", "d", "c"]
            assert [u.id for u in await repository.list(2)] == ["e", "a"]
            assert [u.id for u in await repository.list(2, Position(T0, "a"))] == ["b", "f"]
            assert [u.id for u in await repository.list(9, Position(T0, "f"))] == ["d", "c"]
            assert await repository.list(5, Position(later, "c")) == []
            # A position between stored times, in another time zone, is the same instant.
            between = Position(T0.astimezone(timezone(timedelta(hours=9))), "bb")
            assert [u.id for u in await repository.list(9, between)] == ["f", "d", "c"]

    async def test_courses_list_by_name_and_names_are_unique(
        self, new_uow: NewUow, courses: Courses
    ) -> None:
        uow = new_uow()
        async with uow:
            for name in ("Rust", "Go", "Python"):
                await courses(uow).add(Course.create(name))
            await uow.commit()
        async with uow:
            await courses(uow).add(Course.create("Go"))
            with pytest.raises(Conflict):
                await uow.commit()
        async with uow:
            assert [c.name for c in await courses(uow).list()] == ["Go", "Python", "Rust"]


class TestMemory(RepositoryContract):
    @pytest.fixture
    def new_uow(self) -> NewUow:
        store = MemoryStore()
        return lambda: MemoryUnitOfWork(store)

    @pytest.fixture
    def users(self) -> Users:
        return DocumentUsers

    @pytest.fixture
    def courses(self) -> Courses:
        return DocumentCourses


@pytest.mark.redis
class TestRedis(RepositoryContract):
    @pytest.fixture
    async def new_uow(self) -> AsyncIterator[NewUow]:
        require_server("Redis", "127.0.0.1", 6379)
        prefix = f"t{uuid.uuid4().hex[:12]}"
        client = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
        try:
            yield lambda: RedisUnitOfWork(client, prefix)
        finally:
            keys = [key async for key in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    @pytest.fixture
    def users(self) -> Users:
        return DocumentUsers

    @pytest.fixture
    def courses(self) -> Courses:
        return DocumentCourses


class _Sql(RepositoryContract):
    @pytest.fixture
    def new_uow(self, engine: AsyncEngine) -> NewUow:
        return lambda: SqlUnitOfWork(engine)

    @pytest.fixture
    def users(self) -> Users:
        return SqlUsers

    @pytest.fixture
    def courses(self) -> Courses:
        return SqlCourses


class TestSqlite(_Sql):
    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
        engine = await migrated_sqlite(tmp_path / "users.db")
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.mark.postgres
class TestPostgres(_Sql):
    @pytest.fixture
    async def engine(self) -> AsyncIterator[AsyncEngine]:
        async with migrated_server("postgres") as engine:
            yield engine


@pytest.mark.mariadb
class TestMariaDB(_Sql):
    @pytest.fixture
    async def engine(self) -> AsyncIterator[AsyncEngine]:
        async with migrated_server("mariadb") as engine:
            yield engine
