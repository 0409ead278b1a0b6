"""The user cache on portside's cache port: one JSON entry per user."""

from __future__ import annotations

from datetime import datetime

from pydantic_core import from_json, to_json

from portside.cache import Cache
from users.domain import User

__all__ = ["CachedUsers"]

# The layout's version is part of the key: after a change of layout, entries written by
# the previous release are simply not found, instead of failing to parse.
KEY = "user:v1:"


class CachedUsers:
    """A :class:`~users.application.UserCache` over a :class:`~portside.cache.Cache`;
    ``ttl`` is seconds per entry (the cache's configured default when ``None``)."""

    def __init__(self, cache: Cache, ttl: float | None = None) -> None:
        self.cache, self.ttl = cache, ttl

    async def get(self, user_id: str, /) -> User | None:
        raw = await self.cache.get(KEY + user_id)
        if raw is None:
            return None
        data = from_json(raw)
        return User.restore(
            data["id"],
            data["name"],
            data["department"],
            datetime.fromisoformat(data["created"]),
            int(data["version"]),
        )

    async def put(self, user: User, /) -> None:
        data = {
            "id": user.id,
            "name": user.name,
            "department": user.department,
            "created": user.created.isoformat(),
            "version": user.version,
        }
        await self.cache.set(KEY + user.id, to_json(data), ttl=self.ttl)

    async def forget(self, *user_ids: str) -> None:
        await self.cache.delete(*(KEY + user_id for user_id in user_ids))
