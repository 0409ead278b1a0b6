"""The user cache on portside's cache port: one JSON entry per user."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, TypeAdapter

from portside.cache import Cache
from users.domain import User

from ._kept import keep

__all__ = ["CachedUsers"]

# The layout's version is part of the key: after a change of layout, entries written by
# the previous release are simply not found, instead of failing to parse.
KEY = "user:v2:"

# An entry is ``[id, name, department, created, version]``: read in one pass by a compiled
# validator, which also parses the timestamp (and refuses one without an offset).
Entry = tuple[str, str, str | None, datetime, int]
_ENTRY = TypeAdapter(tuple[str, str, str | None, AwareDatetime, int])
_read, _write = _ENTRY.validator.validate_json, _ENTRY.serializer.to_json

DECODED_MAX = 4096
"""Parsed entries kept by :class:`CachedUsers`, by their bytes."""


class CachedUsers:
    """A :class:`~users.application.UserCache` over a :class:`~portside.cache.Cache`;
    ``ttl`` is seconds per entry (the cache's configured default when ``None``).

    An entry read again is not parsed again: the fields of the last :data:`DECODED_MAX`
    entries parsed are kept by the entry's bytes. The bytes decide the fields, so a kept
    one is never stale (a changed or removed entry comes back as other bytes, or not at
    all), and every read still gets a domain object of its own. Parsing was most of the
    cost of a hit.
    """

    def __init__(self, cache: Cache, ttl: float | None = None) -> None:
        self.cache, self.ttl = cache, ttl
        self._decoded: dict[bytes, Entry] = {}

    async def get(self, user_id: str, /) -> User | None:
        raw = await self.cache.get(KEY + user_id)
        if raw is None:
            return None
        fields = self._decoded.get(raw) or self._parse(raw)
        return User.restore(*fields)

    def _parse(self, raw: bytes) -> Entry:
        user_id, name, department, created, version = _read(raw)
        # In the standard library's UTC, as the domain keeps it: the parser's own zone
        # object is equal but not the same, and every comparison of two instants then
        # asks both zones for their offsets instead of comparing the fields.
        fields: Entry = (user_id, name, department, created.astimezone(UTC), version)
        return keep(self._decoded, raw, fields, DECODED_MAX)

    async def put(self, user: User, /) -> None:
        entry: Entry = (
            user.id,
            user.name,
            user.department,
            user.created,
            user.version,
        )
        await self.cache.set(KEY + user.id, _write(entry), ttl=self.ttl)

    async def forget(self, *user_ids: str) -> None:
        await self.cache.delete(*(KEY + user_id for user_id in user_ids))
