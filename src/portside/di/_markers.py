"""Lifetimes and the ``Key`` marker used inside ``Annotated``."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Final, get_args, get_origin

__all__ = ["Key", "Lifetime", "service_key"]


class Lifetime(enum.Enum):
    """How long a resolved service lives."""

    SINGLETON = "singleton"
    """Created once per provider, shared by every scope."""
    SCOPED = "scoped"
    """Created once per scope."""
    TRANSIENT = "transient"
    """Created every time it is needed."""

    def __str__(self) -> str:
        return self.value


class Key:
    """Select a keyed registration: ``Annotated[Notifier, Key("email")]``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Key needs a non-empty string name, got {name!r}")
        self.name: Final = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other.name == self.name

    def __hash__(self) -> int:
        return hash((Key, self.name))


def service_key(annotation: Any) -> tuple[Any, str | None]:
    """The service and key an annotation names: ``(T, "name")`` for
    ``Annotated[T, Key("name")]`` (other metadata is ignored), ``(T, None)`` for
    ``Annotated[T, ...]`` without a key, and ``(annotation, None)`` for anything else."""
    if get_origin(annotation) is not Annotated:
        return annotation, None
    service, *metadata = get_args(annotation)
    keys = [m.name for m in metadata if isinstance(m, Key)]
    return service, keys[-1] if keys else None
