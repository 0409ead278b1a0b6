"""Fixtures of the users tests: the use cases on the memory store, with a fixed clock."""

from __future__ import annotations

import pytest

from portside.cache.memory import MemoryCache
from portside.storage import UnitOfWork
from portside.storage.memory import MemoryOutbox, MemoryStore, MemoryUnitOfWork
from users.adapters.cache import CachedUsers
from users.adapters.documents import DocumentCourses, DocumentUsers

from .support import START, App, FixedClock, encoder


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def outbox(store: MemoryStore) -> MemoryOutbox:
    return MemoryOutbox(store)


@pytest.fixture
def cache() -> MemoryCache:
    return MemoryCache()


@pytest.fixture
def app(store: MemoryStore, cache: MemoryCache, clock: FixedClock) -> App:
    encode = encoder()

    def new_uow() -> UnitOfWork:
        return MemoryUnitOfWork(store, encode)

    return App(new_uow, DocumentUsers, DocumentCourses, CachedUsers(cache), clock)
