"""The users service's wire types, shared by its HTTP adapter (so the OpenAPI document is
the contract), its gRPC adapter's conversions and both typed clients."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["Course", "NewUser", "User", "UserChanges", "UserPage"]

NAME_MAX = 64
DEPARTMENT_MAX = 64
# Text without control characters (C0, DEL, C1); the service also refuses unpaired
# surrogates and names that are blank once trimmed.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewUser(_Wire):
    """``POST /users``: a user to register."""

    name: str = Field(
        min_length=1, max_length=NAME_MAX, pattern=PRINTABLE, examples=["Ada Lovelace"]
    )
    department: str | None = Field(
        default=None, max_length=DEPARTMENT_MAX, pattern=PRINTABLE, examples=["R&D"]
    )


class UserChanges(_Wire):
    """``PUT /users/{id}``: the user's new name and department (both replaced)."""

    name: str = Field(min_length=1, max_length=NAME_MAX, pattern=PRINTABLE)
    department: str | None = Field(default=None, max_length=DEPARTMENT_MAX, pattern=PRINTABLE)


class User(_Wire):
    """A registered user; ``created`` is an ISO 8601 timestamp with its UTC offset."""

    id: str
    name: str
    department: str | None
    created: AwareDatetime

    @property
    def created_at(self) -> datetime:
        return self.created


class UserPage(_Wire):
    """One page of ``GET /users``; pass ``next_cursor`` back for the next page (null at
    the end)."""

    items: list[User]
    next_cursor: str | None


class Course(_Wire):
    id: str
    name: str
