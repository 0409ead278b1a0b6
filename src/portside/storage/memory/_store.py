"""An in-process document store with the same commit and rollback semantics as the real ones:
changes are staged in the unit of work, invisible to others until commit, and applied
atomically (all or nothing) under a lock."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portside.storage._errors import ConcurrencyError, Conflict
from portside.storage._uow import UnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

Doc = tuple[str, int]  # (JSON text, version)


@dataclass
class MemoryStore:
    """The committed state, shared by every unit of work of a provider."""

    documents: dict[str, dict[str, Doc]] = field(default_factory=dict)
    unique: dict[tuple[str, str, str], str] = field(default_factory=dict)
    indexed: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Write:
    kind: str  # insert | update | delete
    collection: str
    key: str
    document: str | None = None
    unique: Mapping[str, str] = field(default_factory=dict)
    indexed: Mapping[str, str] = field(default_factory=dict)
    expected: int = 0


class MemoryUnitOfWork(UnitOfWork):
    """A unit of work over a :class:`MemoryStore`; it is a document store."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store
        self._writes: list[_Write] = []

    async def _begin(self) -> None:
        self._writes = []

    async def _rollback(self) -> None:
        self._writes = []

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

    async def insert(
        self,
        collection: str,
        key: str,
        document: dict[str, Any],
        *,
        unique: Mapping[str, str],
        indexed: Mapping[str, str],
    ) -> None:
        self.require_active()
        text = json.dumps(document)
        self._writes.append(_Write("insert", collection, key, text, dict(unique), dict(indexed)))

    async def update(
        self,
        collection: str,
        key: str,
        document: dict[str, Any],
        *,
        unique: Mapping[str, str],
        indexed: Mapping[str, str],
        expected: int,
    ) -> None:
        self.require_active()
        text = json.dumps(document)
        self._writes.append(
            _Write("update", collection, key, text, dict(unique), dict(indexed), expected)
        )

    async def delete(self, collection: str, key: str, *, expected: int) -> None:
        self.require_active()
        self._writes.append(_Write("delete", collection, key, expected=expected))

    async def _commit(self) -> None:
        store = self._store
        with store.lock:
            documents = {c: dict(d) for c, d in store.documents.items()}
            unique = dict(store.unique)
            indexed = {k: set(v) for k, v in store.indexed.items()}
            for write in self._writes:
                _apply(write, documents, unique, indexed)
            store.documents, store.unique, store.indexed = documents, unique, indexed
        self._writes = []


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
    write: _Write,
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
    collection[write.key] = (write.document or "{}", (current[1] if current else 0) + 1)
