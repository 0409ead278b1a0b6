"""An in-process cache: least recently used entries make room, entries expire by a
monotonic clock (which tests replace, so no test sleeps)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from portside.cache._port import check_entry

__all__ = ["MemoryCache"]


class MemoryCache:
    """A :class:`~portside.cache.Cache` in this process, for one service.

    ``clock`` returns seconds from a monotonic origin (``time.monotonic`` by default); the
    wall clock would let a clock adjustment expire or revive entries.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries is at least 1, got {max_entries}")
        check_entry("-", b"", ttl)
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped included."""
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        seconds = self.ttl if ttl is None else ttl
        check_entry(key, value, seconds)
        self._entries[key] = (value, self._clock() + seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)
