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


def test_a_sql_repository_refuses_a_unit_of_work_of_another_store() -> None:
    """A repository written with SQLAlchemy names the store it needs and the one it got."""
    from portside.storage import StorageError
    from portside.storage.sql import SqlRepository

    class Orders(SqlRepository[object]):
        pass

    with pytest.raises(StorageError, match=r"needs the sql storage provider.*MemoryUnitOfWork"):
        Orders(MemoryUnitOfWork(MemoryStore()))
