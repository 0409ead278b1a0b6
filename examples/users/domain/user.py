"""The user: a unique name, an optional department, and when it registered."""

from __future__ import annotations

import uuid
from datetime import datetime

from portside.errors import FieldViolation
from portside.storage import Aggregate

from .events import UserModified, UserRegistered, UserUnregistered
from .rules import check_created, clean_department, clean_name, raise_if

__all__ = ["User"]


class User(Aggregate):
    """A registered user. Names are unique across users (a rule across entities, kept by
    the use cases and the stores); every other rule is checked here."""

    id: str

    def __init__(self, id: str, name: str, department: str | None, created: datetime) -> None:
        self.id = id
        self.name, self.department = self.validate(name, department)
        self.created = check_created(created)

    @classmethod
    def restore(
        cls, id: str, name: str, department: str | None, created: datetime, version: int
    ) -> User:
        """A user exactly as this service saved it (``created`` in UTC), rebuilt without
        checking its fields again: they were checked when it was saved."""
        user = cls.__new__(cls)
        user.id, user.name, user.department, user.created = id, name, department, created
        user.version = version
        return user

    @staticmethod
    def validate(name: str, department: str | None) -> tuple[str, str | None]:
        """The cleaned ``(name, department)``, or :class:`~portside.errors.Invalid` naming
        every field that is wrong."""
        violations: list[FieldViolation] = []
        cleaned = clean_name(name, violations), clean_department(department, violations)
        raise_if(violations)
        return cleaned

    @classmethod
    def register(
        cls, name: str, department: str | None, *, now: datetime, id: str | None = None
    ) -> User:
        """A new user, registered at ``now``; records :class:`UserRegistered`."""
        user = cls(id or uuid.uuid4().hex, name, department, now)
        user.record(UserRegistered(user.id, user.name, user.department))
        return user

    def modify(self, name: str, department: str | None) -> bool:
        """Replace the name and department; records :class:`UserModified` and returns
        ``True`` when either changed. Invalid input changes nothing."""
        name, department = self.validate(name, department)
        if (name, department) == (self.name, self.department):
            return False
        self.name, self.department = name, department
        self.record(UserModified(self.id, self.name, self.department))
        return True

    def unregister(self) -> None:
        """Records :class:`UserUnregistered`; the repository removes the user."""
        self.record(UserUnregistered(self.id, self.name))

    def __repr__(self) -> str:
        return (
            f"User(id={self.id!r}, name={self.name!r}, department={self.department!r}, "
            f"created={self.created.isoformat()!r}, version={self.version})"
        )
