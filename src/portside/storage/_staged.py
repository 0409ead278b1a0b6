"""Units of work that stage document writes and apply them all at commit (memory, Redis)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._outbox import EventEncoder, OutboxRecord
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

    def __init__(self, encoder: EventEncoder | None = None) -> None:
        super().__init__(encoder)
        self._writes: list[Write] = []
        self._records: list[OutboxRecord] = []
        self._inbox: tuple[str, str] | None = None

    async def _begin(self) -> None:
        self._clear()

    async def _rollback(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._writes, self._records, self._inbox = [], [], None

    async def _commit(self) -> None:
        if self._writes or self._records or self._inbox:
            await self._apply(self._writes)
        self._clear()

    async def _write_outbox(self, records: list[OutboxRecord]) -> None:
        self._records.extend(records)

    async def _write_inbox(self, group: str, message_id: str) -> None:
        self._inbox = (group, message_id)

    async def _apply(self, writes: list[Write]) -> None:
        """Apply ``writes``, ``self._records`` and ``self._inbox`` all or none."""
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
