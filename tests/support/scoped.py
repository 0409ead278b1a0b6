"""A scoped resource whose opening and closing a ledger records: what the entry adapters'
tests use to see one DI scope per call or delivery, closed with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator


class Ledger:
    """The ids of the per-call resources, as they were opened and closed."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.closed: list[str] = []


class Resource:
    """A scoped dependency: one per call."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex


def open_resource(ledger: Ledger) -> Iterator[Resource]:
    resource = Resource()
    ledger.opened.append(resource.id)
    yield resource
    ledger.closed.append(resource.id)
