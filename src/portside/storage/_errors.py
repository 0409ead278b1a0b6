"""Storage errors a use case can handle without importing a driver."""

from __future__ import annotations

__all__ = ["ConcurrencyError", "Conflict", "NotFound", "StorageError", "StorageUnavailable"]


class StorageError(Exception):
    """Base class of storage errors."""


class NotFound(StorageError):  # noqa: N818 - reads as the outcome, like HTTP's 404
    """The aggregate asked for does not exist."""


class Conflict(StorageError):  # noqa: N818 - a unique value is taken
    """A unique value (a name, an e-mail address) is already taken."""


class ConcurrencyError(StorageError):
    """The aggregate changed since it was loaded: a stale update was refused."""


class StorageUnavailable(StorageError):  # noqa: N818 - the store cannot be reached
    """The store cannot be reached or refused the connection; try again later."""
