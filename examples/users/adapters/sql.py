"""The repositories on SQL databases (SQLite, PostgreSQL, MariaDB), written with
SQLAlchemy Core against the service's own tables; ``users.migrations`` creates them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update

from portside.storage import ConcurrencyError
from portside.storage.sql import SqlRepository
from users.application.ports import Position
from users.domain import Course, User

from .tables import courses, users

__all__ = ["SqlCourses", "SqlUsers"]


class SqlUsers(SqlRepository[User]):
    """Users in the ``users`` table; a taken name is the table's unique key."""

    def _user(self, row: Any) -> User:
        user = User(row.id, row.name, row.department, row.created)
        user.version = row.version
        return user

    def _visible(self, row: Any) -> User | None:
        """The instance this unit of work holds for the row (tracking it if new), or
        ``None`` when the unit of work removed it."""
        entry = self.uow.tracked(self, row.id)
        if entry is None:
            user = self._user(row)
            self.uow.track_loaded(self, user)
            return user
        return None if entry.state == "removed" else entry.aggregate  # type: ignore[return-value]

    async def _load(self, aggregate_id: Any) -> User | None:
        row = (await self.execute(select(users).where(users.c.id == aggregate_id))).first()
        return None if row is None else self._user(row)

    async def _insert(self, aggregate: User) -> None:
        await self.execute(
            insert(users).values(
                id=aggregate.id,
                name=aggregate.name,
                department=aggregate.department,
                created=aggregate.created,
                version=1,
            )
        )

    async def _update(self, aggregate: User, expected: int) -> None:
        statement = (
            update(users)
            .where(users.c.id == aggregate.id, users.c.version == expected)
            .values(name=aggregate.name, department=aggregate.department, version=expected + 1)
        )
        if (await self.execute(statement)).rowcount != 1:
            raise ConcurrencyError(f"user {aggregate.id!r} changed since it was loaded")

    async def _delete(self, aggregate: User, expected: int) -> None:
        statement = delete(users).where(users.c.id == aggregate.id, users.c.version == expected)
        if (await self.execute(statement)).rowcount != 1:
            raise ConcurrencyError(f"user {aggregate.id!r} changed since it was loaded")

    async def get_by_name(self, name: str, /) -> User | None:
        row = (await self.execute(select(users).where(users.c.name == name))).first()
        user = None if row is None else self._visible(row)
        # The table holds committed names; a user renamed in this unit of work no longer
        # has the name it was found by.
        return user if user is not None and user.name == name else None

    async def list(self, limit: int, after: Position | None = None, /) -> list[User]:
        query = select(users).order_by(users.c.created, users.c.id).limit(limit)
        if after is not None:
            query = query.where(
                or_(
                    users.c.created > after.created,
                    and_(users.c.created == after.created, users.c.id > after.id),
                )
            )
        rows = await self.execute(query)
        return [user for row in rows if (user := self._visible(row)) is not None]


class SqlCourses(SqlRepository[Course]):
    """Courses in the ``courses`` table."""

    def _course(self, row: Any) -> Course:
        course = Course(row.id, row.name)
        course.version = row.version
        return course

    async def _load(self, aggregate_id: Any) -> Course | None:
        row = (await self.execute(select(courses).where(courses.c.id == aggregate_id))).first()
        return None if row is None else self._course(row)

    async def _insert(self, aggregate: Course) -> None:
        await self.execute(insert(courses).values(id=aggregate.id, name=aggregate.name, version=1))

    async def _update(self, aggregate: Course, expected: int) -> None:
        statement = (
            update(courses)
            .where(courses.c.id == aggregate.id, courses.c.version == expected)
            .values(name=aggregate.name, version=expected + 1)
        )
        if (await self.execute(statement)).rowcount != 1:
            raise ConcurrencyError(f"course {aggregate.id!r} changed since it was loaded")

    async def _delete(self, aggregate: Course, expected: int) -> None:
        statement = delete(courses).where(
            courses.c.id == aggregate.id, courses.c.version == expected
        )
        if (await self.execute(statement)).rowcount != 1:
            raise ConcurrencyError(f"course {aggregate.id!r} changed since it was loaded")

    async def list(self) -> list[Course]:
        rows = await self.execute(select(courses).order_by(courses.c.name))
        return [self._track(self._course(row)) for row in rows]
