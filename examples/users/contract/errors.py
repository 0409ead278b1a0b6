"""What the typed clients raise: one exception per outcome a caller handles differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FieldProblem",
    "InvalidUser",
    "ServiceUnavailable",
    "UnexpectedResponse",
    "UserAlreadyExists",
    "UserNotFound",
    "UsersError",
]


class UsersError(Exception):
    """Base class of the users client's errors; ``correlation_id`` identifies the call in
    the service's logs."""

    def __init__(self, message: str, *, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.correlation_id = correlation_id


class UserAlreadyExists(UsersError):  # noqa: N818 - reads as the outcome
    """The name is taken by another user."""


class UserNotFound(UsersError):  # noqa: N818 - reads as the outcome
    """No user has that id (or name)."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    problem: str


class InvalidUser(UsersError):  # noqa: N818 - reads as the outcome
    """The request was refused; ``problems`` names each invalid field."""

    def __init__(
        self,
        message: str,
        problems: Sequence[FieldProblem] = (),
        *,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.problems = tuple(problems)

    @property
    def fields(self) -> set[str]:
        return {p.field for p in self.problems}


class ServiceUnavailable(UsersError):  # noqa: N818 - reads as the outcome
    """The service could not be reached or answered that it is unavailable, after the
    retries the call allowed."""


class UnexpectedResponse(UsersError):  # noqa: N818 - reads as the outcome
    """The service answered something the contract does not describe (e.g. a 500)."""

    def __init__(self, message: str, status: int, *, correlation_id: str | None = None) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.status = status
