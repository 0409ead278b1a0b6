"""The memory provider passes the storage contract."""

import pytest

from portside.storage import UnitOfWork
from portside.storage.memory import MemoryOutbox, MemoryStore, MemoryUnitOfWork
from portside.testing.storage import StorageContract


class TestMemoryStore(StorageContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()

    @pytest.fixture
    def new_uow(self, store: MemoryStore):  # type: ignore[no-untyped-def]
        def new(encoder=None) -> UnitOfWork:  # type: ignore[no-untyped-def]
            return MemoryUnitOfWork(store, encoder)

        return new

    @pytest.fixture
    def outbox(self, store: MemoryStore) -> MemoryOutbox:
        return MemoryOutbox(store)
