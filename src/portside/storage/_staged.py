"""Units of work that stage document writes and apply them all at commit (memory, Redis)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._uow import UnitOfWork

__all__ = ["StagedUnitOfWork", "Write"]


@dataclass(frozen=True)
class Write:
    """One staged change of a document."""

    kind: str  # insert | update | delete
    collection: str
    key: str
    body: str = ""
    unique: Mapping[str, str] = field(default_factory=dict)
    indexed: Mapping[str, str] = field(default_factory=dict)
    expected: int = 0


class StagedUnitOfWork(UnitOfWork):
    """The writing half of a document store: ``insert``, ``update`` and ``delete`` stage a
    :class:`Write`; ``_apply`` applies them all or none when the unit of work commits."""

    def __init__(self) -> None:
        super().__init__()
        self._writes: list[Write] = []

    async def _begin(self) -> None:
        self._writes = []

    async def _rollback(self) -> None:
        self._writes = []

    async def _commit(self) -> None:
        if self._writes:
            await self._apply(self._writes)
        self._writes = []

    async def _apply(self, writes: list[Write]) -> None:
        raise NotImplementedError

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
        body = json.dumps(document)
        self._writes.append(Write("insert", collection, key, body, dict(unique), dict(indexed)))

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
        body = json.dumps(document)
        self._writes.append(
            Write("update", collection, key, body, dict(unique), dict(indexed), expected)
        )

    async def delete(self, collection: str, key: str, *, expected: int) -> None:
        self.require_active()
        self._writes.append(Write("delete", collection, key, expected=expected))
