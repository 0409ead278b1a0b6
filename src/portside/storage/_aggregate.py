"""Aggregates: an identity, a version for optimistic concurrency, and the domain events
they raised, which the unit of work collects when it commits."""

from __future__ import annotations

from typing import Any

__all__ = ["Aggregate"]


class Aggregate:
    """Base class for aggregates stored through a :class:`~portside.storage.Repository`.

    ``id`` identifies it; ``version`` is managed by the store (0 until first saved, then
    increased by every committed change); ``record(event)`` remembers a domain event.
    """

    id: Any
    version: int = 0

    def record(self, event: object) -> None:
        """Remember a domain event; the unit of work collects it on commit."""
        events: list[object] | None = self.__dict__.get("_events")
        if events is None:
            events = self.__dict__["_events"] = []
        events.append(event)

    def pull_events(self) -> list[object]:
        """The events recorded since the last pull, oldest first (and forget them)."""
        events: list[object] = self.__dict__.pop("_events", None) or []
        return events

    @property
    def pending_events(self) -> tuple[object, ...]:
        return tuple(self.__dict__.get("_events") or ())
