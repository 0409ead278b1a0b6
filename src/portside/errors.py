"""Errors a use case raises that every entry adapter (HTTP, gRPC, messaging) understands.

The storage errors (:class:`~portside.storage.NotFound`, :class:`~portside.storage.Conflict`
...) live with the storage ports; :class:`Invalid` is for input a use case or an entity
refuses, naming each field that was wrong::

    raise Invalid([FieldViolation("name", "must be 1 to 64 characters")])

HTTP answers it with 422 and an ``errors`` list; gRPC with INVALID_ARGUMENT and
``google.rpc.BadRequest`` field violations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FieldViolation", "Invalid"]


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One wrong field: a dotted path (``"items.0.name"``) and what is wrong with it."""

    field: str
    description: str


class Invalid(ValueError):  # noqa: N818 - reads as the outcome: the input is invalid
    """Input was refused; ``violations`` names each field and its problem."""

    def __init__(self, violations: Iterable[FieldViolation], message: str | None = None) -> None:
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        if not self.violations and message is None:
            raise ValueError("Invalid needs at least one FieldViolation or a message")
        text = message or "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(text)

    @classmethod
    def field(cls, field: str, description: str) -> Invalid:
        """An :class:`Invalid` for a single field."""
        return cls([FieldViolation(field, description)])
