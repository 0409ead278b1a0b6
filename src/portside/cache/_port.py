"""The cache port and its errors."""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

__all__ = ["Cache", "CacheError", "CacheUnavailable", "check_entry"]


class CacheError(Exception):
    """Base class of cache errors."""


class CacheUnavailable(CacheError):  # noqa: N818 - reads as the outcome, like StorageUnavailable
    """The cache cannot be reached or did not answer in time; callers fall back to the
    source of truth."""


@runtime_checkable
class Cache(Protocol):
    """Bytes by key, each with a time to live, in a namespace of its own.

    A cache is an optimisation: a use case must stay correct when an entry is missing,
    expired, evicted or the cache is unreachable (:class:`CacheUnavailable`).
    """

    async def get(self, key: str) -> bytes | None:
        """The value stored under ``key``, or ``None`` if there is none (or it expired)."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (the configured default when
        ``None``), replacing any value and renewing its time to live."""
        ...

    async def delete(self, *keys: str) -> None:
        """Remove the entries of ``keys``; missing keys are not an error."""
        ...


def check_entry(key: str, value: bytes, ttl: float) -> None:
    """Refuse what no provider can store faithfully, the same way on every provider."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"a cache key is a non-empty str, got {key!r}")
    if not isinstance(value, bytes):
        raise TypeError(f"a cache value is bytes, got {type(value).__name__}")
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"a time to live is a positive number of seconds, got {ttl!r}")
