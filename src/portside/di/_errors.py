"""The errors the container raises. Every one derives from :class:`DIError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AsyncResolutionError",
    "CircularDependencyError",
    "DIError",
    "LifetimeError",
    "MissingContextError",
    "MissingServiceError",
    "RegistrationError",
    "ScopeClosedError",
]


class DIError(Exception):
    """Base class of every error raised by :mod:`portside.di`."""


class RegistrationError(DIError):
    """An ``add_*`` call is wrong in itself (raised at the call, not at build)."""


class _GraphError(DIError):
    """An error about a service and the chain of dependencies that led to it."""

    def __init__(self, message: str, *, service: Any = None, chain: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.service = service
        self.chain: tuple[Any, ...] = tuple(chain)


class MissingServiceError(_GraphError):
    """A service, or a dependency of one, has no registration the container can use."""


class CircularDependencyError(_GraphError):
    """Services depend on each other in a cycle."""


class LifetimeError(_GraphError):
    """A lifetime rule is broken: a captive dependency, or a scoped service asked of the root."""


class MissingContextError(_GraphError):
    """A context value was needed but not handed to the scope."""


class AsyncResolutionError(_GraphError):
    """``get`` was used for a service whose graph has an async factory; ``aget`` is needed."""


class ScopeClosedError(DIError):
    """A scope or provider was used after it was closed."""
