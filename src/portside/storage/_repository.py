"""Repositories: ``add``, ``get``, ``remove`` and what a service defines; they never commit."""

from __future__ import annotations

import json
import typing
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from ._aggregate import Aggregate
from ._errors import NotFound, StorageError
from ._uow import UnitOfWork

__all__ = ["DocumentRepository", "DocumentStore", "Repository"]

A = TypeVar("A", bound=Aggregate)
_DOCUMENT_STORES: dict[type, bool] = {}


class Repository(Generic[A]):
    """Base class of a service's repositories, bound to one unit of work.

    A store-specific base implements ``_load``, ``_insert``, ``_update`` (which raises
    :class:`ConcurrencyError` when the stored version is not ``expected``) and ``_delete``.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def add(self, aggregate: A) -> None:
        """Add a new aggregate; it is written when the unit of work commits."""
        self.uow.track_new(self, aggregate)

    async def get(self, aggregate_id: Any) -> A | None:
        """The aggregate with this id, or ``None``; it is tracked for changes."""
        self.uow.require_active()
        entry = self.uow.tracked(self, aggregate_id)
        if entry is not None:
            return None if entry.state == "removed" else entry.aggregate  # type: ignore[return-value]
        aggregate = await self._load(aggregate_id)
        if aggregate is not None:
            self.uow.track_loaded(self, aggregate)
        return aggregate

    async def require(self, aggregate_id: Any) -> A:
        """Like :meth:`get`, but a missing aggregate raises :class:`NotFound`."""
        aggregate = await self.get(aggregate_id)
        if aggregate is None:
            raise NotFound(f"{self._kind()} {aggregate_id!r} does not exist")
        return aggregate

    async def remove(self, aggregate: A) -> None:
        """Remove the aggregate when the unit of work commits."""
        self.uow.track_removed(self, aggregate)

    def _kind(self) -> str:
        """The aggregate's name, from ``class Users(DocumentRepository[User])``."""
        for klass in type(self).__mro__:
            for base in getattr(klass, "__orig_bases__", ()):
                args = typing.get_args(base)
                if args and isinstance(args[0], type):
                    return args[0].__name__
        return type(self).__name__.removesuffix("Repository") or "aggregate"

    def _track(self, aggregate: A) -> A:
        """Return the tracked instance for ``aggregate.id``, tracking this one if new."""
        entry = self.uow.tracked(self, aggregate.id)
        if entry is not None:
            return entry.aggregate  # type: ignore[return-value]
        self.uow.track_loaded(self, aggregate)
        return aggregate

    @abstractmethod
    async def _load(self, aggregate_id: Any) -> A | None: ...

    @abstractmethod
    async def _insert(self, aggregate: A) -> None: ...

    @abstractmethod
    async def _update(self, aggregate: A, expected: int) -> None: ...

    @abstractmethod
    async def _delete(self, aggregate: A, expected: int) -> None: ...


@runtime_checkable
class DocumentStore(Protocol):
    """What a unit of work offers document repositories (memory, SQL, Redis).

    Keys are plain strings; ``unique`` and ``indexed`` map a field name to the value the
    document has for it. Writes happen when the unit of work commits.
    """

    async def load(self, collection: str, key: str) -> tuple[dict[str, Any], int] | None: ...

    async def find(self, collection: str, field: str, value: str) -> list[str]: ...

    async def insert(
        self,
        collection: str,
        key: str,
        document: dict[str, Any],
        *,
        unique: Mapping[str, str],
        indexed: Mapping[str, str],
    ) -> None: ...

    async def update(
        self,
        collection: str,
        key: str,
        document: dict[str, Any],
        *,
        unique: Mapping[str, str],
        indexed: Mapping[str, str],
        expected: int,
    ) -> None: ...

    async def delete(self, collection: str, key: str, *, expected: int) -> None: ...


class DocumentRepository(Repository[A]):
    """A repository that stores one JSON document per aggregate.

    The same subclass runs on every store whose unit of work is a :class:`DocumentStore`
    (memory, SQL, Redis). ``unique`` fields are enforced (:class:`Conflict`); ``indexed``
    fields can be searched with :meth:`find`.
    """

    collection: ClassVar[str]
    unique: ClassVar[tuple[str, ...]] = ()
    indexed: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def to_document(self, aggregate: A) -> dict[str, Any]:
        """The aggregate as a JSON-compatible dict (without ``version``)."""

    @abstractmethod
    def from_document(self, document: dict[str, Any]) -> A:
        """The aggregate from its document."""

    @property
    def store(self) -> DocumentStore:
        self.uow.require_active()
        kind = type(self.uow)
        known = _DOCUMENT_STORES.get(kind)
        if known is None:  # isinstance against a Protocol is slow: decide once per type
            known = _DOCUMENT_STORES[kind] = isinstance(self.uow, DocumentStore)
        if not known:
            raise StorageError(
                f"{type(self).__name__} needs a unit of work that stores documents; "
                f"{type(self.uow).__name__} does not"
            )
        return self.uow  # type: ignore[return-value]

    def _keys(self, document: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, str]:
        return {f: _text(document[f]) for f in fields if document.get(f) is not None}

    async def find(self, field: str, value: Any) -> list[A]:
        """Aggregates whose indexed or unique ``field`` equals ``value``."""
        if field not in self.unique and field not in self.indexed:
            raise StorageError(
                f"{type(self).__name__} cannot search by {field!r}: list it in `unique` or "
                "`indexed`"
            )
        found = []
        for key in await self.store.find(self.collection, field, _text(value)):
            aggregate = await self.get(key)
            if aggregate is not None:
                found.append(aggregate)
        return found

    async def find_one(self, field: str, value: Any) -> A | None:
        found = await self.find(field, value)
        return found[0] if found else None

    async def _load(self, aggregate_id: Any) -> A | None:
        row = await self.store.load(self.collection, _text(aggregate_id))
        if row is None:
            return None
        document, version = row
        aggregate = self.from_document(document)
        aggregate.version = version
        return aggregate

    async def _insert(self, aggregate: A) -> None:
        document = self.to_document(aggregate)
        await self.store.insert(
            self.collection,
            _text(aggregate.id),
            document,
            unique=self._keys(document, self.unique),
            indexed=self._keys(document, self.indexed),
        )

    async def _update(self, aggregate: A, expected: int) -> None:
        document = self.to_document(aggregate)
        await self.store.update(
            self.collection,
            _text(aggregate.id),
            document,
            unique=self._keys(document, self.unique),
            indexed=self._keys(document, self.indexed),
            expected=expected,
        )

    async def _delete(self, aggregate: A, expected: int) -> None:
        await self.store.delete(self.collection, _text(aggregate.id), expected=expected)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
