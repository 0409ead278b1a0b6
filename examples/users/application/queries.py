"""Use cases that read."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from portside.errors import Invalid
from portside.storage import NotFound, UnitOfWork
from users.domain import Course, User

from .cursor import decode_cursor, encode_cursor
from .ports import CourseRepository, Position, UserCache, UserRepository

__all__ = ["MAX_PAGE", "GetUser", "ListCourses", "ListUsers", "UserPage"]

log = logging.getLogger("users")

MAX_PAGE = 100


class GetUser:
    """A user by id, read through the cache: a hit is served from it, a miss is loaded
    from the store and cached. A cache that fails is logged and bypassed."""

    def __init__(self, uow: UnitOfWork, users: UserRepository, cache: UserCache) -> None:
        self.uow, self.users, self.cache = uow, users, cache

    async def __call__(self, user_id: str) -> User:
        cache_works = True
        try:
            cached = await self.cache.get(user_id)
        except Exception:
            log.warning("user cache failed; reading user %r from the store", user_id, exc_info=True)
            cached, cache_works = None, False
        if cached is not None:
            return cached
        async with self.uow:
            user = await self.users.get(user_id)
        if user is None:
            raise NotFound(f"user {user_id!r} does not exist")
        if cache_works:  # a cache that just failed would only make this call wait again
            try:
                await self.cache.put(user)
            except Exception:
                log.warning("user cache failed; user %r not cached", user_id, exc_info=True)
        return user


@dataclass(frozen=True, slots=True)
class UserPage:
    """Users in ``(created, id)`` order; ``next_cursor`` asks for the page after this one
    and is ``None`` on the last page."""

    items: list[User]
    next_cursor: str | None


class ListUsers:
    """Users page by page. A cursor is a position in the order, not an offset: users
    registered or removed meanwhile never make a page repeat or skip another user."""

    def __init__(self, uow: UnitOfWork, users: UserRepository, *, page_size: int = 20) -> None:
        self.uow, self.users = uow, users
        self.page_size = self._limit(page_size)

    @staticmethod
    def _limit(limit: object) -> int:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise Invalid.field("limit", f"must be a whole number from 1 to {MAX_PAGE}")
        return limit

    async def __call__(self, limit: int | None = None, cursor: str | None = None) -> UserPage:
        size = self.page_size if limit is None else self._limit(limit)
        after = decode_cursor(cursor) if cursor else None  # "" is the first page, like None
        async with self.uow:
            found = await self.users.list(size + 1, after)  # one more tells if more follow
        items = found[:size]
        more = len(found) > size
        last = items[-1] if more else None
        next_cursor = encode_cursor(Position(last.created, last.id)) if last else None
        return UserPage(items, next_cursor)


class ListCourses:
    """Every course, by name."""

    def __init__(self, uow: UnitOfWork, courses: CourseRepository) -> None:
        self.uow, self.courses = uow, courses

    async def __call__(self) -> list[Course]:
        async with self.uow:
            return await self.courses.list()
