"""What the use cases need from the outside, as protocols; adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from users.domain import Course, User

__all__ = ["Clock", "CourseRepository", "Position", "UserCache", "UserRepository"]


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the stable order of users, ``(created, id)``: a page continues after it."""

    created: datetime
    id: str


class UserRepository(Protocol):
    """Users in the unit of work's transaction. Changes to a user loaded through it are
    written when the unit of work commits; it never commits itself."""

    async def add(self, user: User, /) -> None: ...

    async def get(self, user_id: str, /) -> User | None: ...

    async def get_by_name(self, name: str, /) -> User | None:
        """The user whose name is ``name`` as this unit of work sees it, or ``None``."""
        ...

    async def list(self, limit: int, after: Position | None = None, /) -> list[User]:
        """Up to ``limit`` users in ``(created, id)`` order, starting after ``after``."""
        ...

    async def remove(self, user: User, /) -> None: ...


class CourseRepository(Protocol):
    async def add(self, course: Course, /) -> None: ...

    async def list(self) -> list[Course]:
        """Every course, by name."""
        ...


class UserCache(Protocol):
    """Users by id, kept for a while; any method may raise when the cache is unavailable,
    and the use cases then do without it."""

    async def get(self, user_id: str, /) -> User | None: ...

    async def put(self, user: User, /) -> None: ...

    async def forget(self, *user_ids: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, with a time zone."""
        ...
