"""An in-process document store with the same commit and rollback semantics as the real ones:
changes are staged in the unit of work, invisible to others until commit, and applied
atomically (all or nothing) under a lock."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from portside.storage._errors import ConcurrencyError, Conflict
from portside.storage._staged import StagedUnitOfWork, Write

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

Doc = tuple[str, int]  # (JSON text, version)


@dataclass
class MemoryStore:
    """The committed state, shared by every unit of work of a provider."""

    documents: dict[str, dict[str, Doc]] = field(default_factory=dict)
    unique: dict[tuple[str, str, str], str] = field(default_factory=dict)
    indexed: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MemoryUnitOfWork(StagedUnitOfWork):
    """A unit of work over a :class:`MemoryStore`; it is a document store."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store

    async def load(self, collection: str, key: str) -> tuple[dict[str, Any], int] | None:
        with self._store.lock:
            row = self._store.documents.get(collection, {}).get(key)
        if row is None:
            return None
        return json.loads(row[0]), row[1]

    async def find(self, collection: str, field: str, value: str) -> list[str]:
        with self._store.lock:
            owner = self._store.unique.get((collection, field, value))
            if owner is not None:
                return [owner]
            return sorted(self._store.indexed.get((collection, field, value), ()))

    async def _apply(self, writes: list[Write]) -> None:
        store = self._store
        with store.lock:
            documents = {c: dict(d) for c, d in store.documents.items()}
            unique = dict(store.unique)
            indexed = {k: set(v) for k, v in store.indexed.items()}
            for write in writes:
                _apply(write, documents, unique, indexed)
            store.documents, store.unique, store.indexed = documents, unique, indexed


def _unindex(
    collection: str,
    key: str,
    unique: dict[tuple[str, str, str], str],
    indexed: dict[tuple[str, str, str], set[str]],
) -> None:
    for (c, f, v), owner in list(unique.items()):
        if c == collection and owner == key:
            del unique[(c, f, v)]
    for (c, f, v), keys in list(indexed.items()):
        if c == collection and key in keys:
            keys.discard(key)
            if not keys:
                del indexed[(c, f, v)]


def _apply(
    write: Write,
    documents: dict[str, dict[str, Doc]],
    unique: dict[tuple[str, str, str], str],
    indexed: dict[tuple[str, str, str], set[str]],
) -> None:
    collection = documents.setdefault(write.collection, {})
    current = collection.get(write.key)
    if write.kind == "insert":
        if current is not None:
            raise Conflict(f"{write.collection} {write.key!r} already exists")
    elif current is None or current[1] != write.expected:
        raise ConcurrencyError(
            f"{write.collection} {write.key!r} changed since it was loaded "
            f"(expected version {write.expected}, found "
            f"{'none' if current is None else current[1]})"
        )
    if current is not None:
        _unindex(write.collection, write.key, unique, indexed)
    if write.kind == "delete":
        del collection[write.key]
        return
    for name, value in write.unique.items():
        owner = unique.get((write.collection, name, value))
        if owner is not None and owner != write.key:
            raise Conflict(f"{write.collection} {name} {value!r} is already taken")
        unique[(write.collection, name, value)] = write.key
    for name, value in write.indexed.items():
        indexed.setdefault((write.collection, name, value), set()).add(write.key)
    collection[write.key] = (write.body, (current[1] if current else 0) + 1)
