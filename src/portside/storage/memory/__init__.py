"""The ``memory`` storage provider: in-process, for unit tests and demos.

It passes the same contract suite as the databases: changes are invisible until commit,
discarded on rollback, unique values and versions are enforced at commit.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from portside.config import NoSettings, Provider
from portside.di import Module
from portside.storage._outbox import Outbox
from portside.storage._uow import UnitOfWork

from ._store import MemoryOutbox, MemoryStore, MemoryUnitOfWork

__all__ = ["MemoryOutbox", "MemoryStore", "MemoryUnitOfWork", "memory_module", "provider"]


class MemoryHealth:
    """Always up: the store is in this process."""

    name = "storage.memory"

    async def check(self) -> None:
        return None


def memory_module(settings: BaseModel | None = None) -> Module:
    """Registers the store (one per container) and its unit of work (one per scope)."""
    from portside.host import HealthCheck

    module = Module("storage.memory")
    module.add_singleton(MemoryStore)
    module.add_scoped(UnitOfWork, MemoryUnitOfWork)
    module.add_singleton(Outbox, MemoryOutbox)
    module.add_singleton(HealthCheck, MemoryHealth)
    return module


def _module(settings: Any) -> Module:
    return memory_module(settings)


provider = Provider(
    "storage",
    "memory",
    _module,
    NoSettings,
    description="in-process document store, for tests and demos",
)
