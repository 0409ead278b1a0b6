"""A course users can enrol in; course names are unique."""

from __future__ import annotations

import uuid

from portside.errors import FieldViolation
from portside.storage import Aggregate

from .rules import clean_name, raise_if

__all__ = ["Course"]


class Course(Aggregate):
    id: str

    def __init__(self, id: str, name: str) -> None:
        violations: list[FieldViolation] = []
        self.id = id
        self.name = clean_name(name, violations)
        raise_if(violations)

    @classmethod
    def create(cls, name: str) -> Course:
        return cls(uuid.uuid4().hex, name)

    def __repr__(self) -> str:
        return f"Course(id={self.id!r}, name={self.name!r})"
