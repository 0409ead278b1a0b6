"""Domain objects as the contract's DTOs, for both entry adapters (HTTP, gRPC)."""

from __future__ import annotations

from users.contract import dtos
from users.domain import Course, User

__all__ = ["course_dto", "user_dto"]

# The DTO's compiled validator, given the fields as a dict: it checks them as the DTO's
# constructor would, without the constructor's keyword arguments. (Reading the domain
# object's attributes itself, with from_attributes, the validator first asks whether the
# object is a Mapping: an isinstance check against an ABC, run in Python, per call.)
_user_from = dtos.User.__pydantic_validator__.validate_python


def user_dto(user: User) -> dtos.User:
    fields = {
        "id": user.id,
        "name": user.name,
        "department": user.department,
        "created": user.created,
    }
    dto: dtos.User = _user_from(fields)
    return dto


def course_dto(course: Course) -> dtos.Course:
    return dtos.Course(id=course.id, name=course.name)
