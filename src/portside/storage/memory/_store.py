"""An in-process document store with the same commit and rollback semantics as the real ones:
changes are staged in the unit of work, invisible to others until commit, and applied
atomically (all or nothing) under a lock."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from portside.storage._errors import ConcurrencyError, Conflict
from portside.storage._outbox import AlreadyProcessed, Claimed, EventEncoder
from portside.storage._staged import StagedUnitOfWork, Write

__all__ = ["MemoryOutbox", "MemoryStore", "MemoryUnitOfWork"]


@dataclass
class _Entry:
    message_id: str
    topic: str
    key: str | None
    body: str
    created: float
    sent: bool = False
    owner: str | None = None
    lease_until: float = 0.0
    attempts: int = 0
    error: str | None = None


Doc = tuple[str, int]  # (JSON text, version)


@dataclass
class MemoryStore:
    """The committed state, shared by every unit of work of a provider."""

    documents: dict[str, dict[str, Doc]] = field(default_factory=dict)
    unique: dict[tuple[str, str, str], str] = field(default_factory=dict)
    indexed: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    outbox: dict[int, _Entry] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)


class MemoryUnitOfWork(StagedUnitOfWork):
    """A unit of work over a :class:`MemoryStore`; it is a document store."""

    def __init__(self, store: MemoryStore, encoder: EventEncoder | None = None) -> None:
        super().__init__(encoder)
        self._store = store

    async def has_processed(self, group: str, message_id: str) -> bool:
        with self._store.lock:
            return (group, message_id) in self._store.inbox

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
            if self._inbox is not None and self._inbox in store.inbox:
                raise AlreadyProcessed(
                    f"group {self._inbox[0]!r} already processed {self._inbox[1]}"
                )
            for write in writes:
                _apply(write, documents, unique, indexed)
            store.documents, store.unique, store.indexed = documents, unique, indexed
            if self._inbox is not None:
                store.inbox.add(self._inbox)
            now = time.time()
            for record in self._records:
                store.outbox[next(store.sequence)] = _Entry(
                    record.message_id, record.topic, record.key, record.body, now
                )


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


class MemoryOutbox:
    """The relay's view of a :class:`MemoryStore`'s outbox."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def claim(self, *, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        now = time.time()
        claimed: list[Claimed] = []
        with self._store.lock:
            for number, entry in self._store.outbox.items():
                if len(claimed) >= limit:
                    break
                if entry.sent or (entry.owner is not None and entry.lease_until > now):
                    continue
                entry.owner, entry.lease_until = owner, now + lease_seconds
                claimed.append(
                    Claimed(
                        str(number),
                        entry.message_id,
                        entry.topic,
                        entry.key,
                        entry.body,
                        entry.attempts,
                    )
                )
        return claimed

    async def mark_sent(self, entries: Sequence[Claimed]) -> None:
        with self._store.lock:
            for claimed in entries:
                self._store.outbox.pop(int(claimed.id), None)

    async def release(self, entries: Sequence[Claimed], *, error: str) -> None:
        with self._store.lock:
            for claimed in entries:
                entry = self._store.outbox.get(int(claimed.id))
                if entry is not None:
                    entry.owner, entry.lease_until = None, 0.0
                    entry.attempts += 1
                    entry.error = error

    async def pending(self) -> tuple[int, float | None]:
        now = time.time()
        with self._store.lock:
            unsent = [e.created for e in self._store.outbox.values() if not e.sent]
        return len(unsent), (now - min(unsent)) if unsent else None
