"""Storage ports: the unit of work, repositories, aggregates and the errors use cases see.

Providers (``[storage] provider = ...``): ``sql`` (SQLite, PostgreSQL, MariaDB/MySQL through
SQLAlchemy), ``memory``. Every provider's unit of work is also a document store, so a
:class:`DocumentRepository` runs unchanged on each of them.
"""

from ._aggregate import Aggregate
from ._errors import ConcurrencyError, Conflict, NotFound, StorageError, StorageUnavailable
from ._outbox import (
    AlreadyProcessed,
    Claimed,
    EventEncoder,
    Outbox,
    OutboxRecord,
    active_unit_of_work,
    current_delivery,
)
from ._repository import DocumentRepository, DocumentStore, Repository
from ._uow import UnitOfWork

__all__ = [
    "Aggregate",
    "AlreadyProcessed",
    "Claimed",
    "ConcurrencyError",
    "Conflict",
    "DocumentRepository",
    "DocumentStore",
    "EventEncoder",
    "NotFound",
    "Outbox",
    "OutboxRecord",
    "Repository",
    "StorageError",
    "StorageUnavailable",
    "UnitOfWork",
    "active_unit_of_work",
    "current_delivery",
]
