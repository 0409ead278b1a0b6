"""The memory provider passes the storage contract."""

import pytest

from portside.storage import UnitOfWork
from portside.storage.memory import MemoryStore, MemoryUnitOfWork
from portside.testing.storage import StorageContract


class TestMemoryStore(StorageContract):
    @pytest.fixture
    def new_uow(self):  # type: ignore[no-untyped-def]
        store = MemoryStore()

        def new() -> UnitOfWork:
            return MemoryUnitOfWork(store)

        return new
