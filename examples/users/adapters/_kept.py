"""A bounded store of values made from their keys, for the adapters' conversions."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["keep"]

K = TypeVar("K")
V = TypeVar("V")


def keep(kept: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``value`` under ``key`` in ``kept`` and return it; when ``kept`` already
    holds ``limit`` values, the oldest stored goes first."""
    if len(kept) >= limit:
        del kept[next(iter(kept))]
    kept[key] = value
    return value
