"""Domain objects as the contract's DTOs, for both entry adapters (HTTP, gRPC)."""

from __future__ import annotations

from users.contract import dtos
from users.domain import Course, User

__all__ = ["course_dto", "user_dto"]

# The DTO's compiled validator reads the user's attributes itself (one call, no keyword
# arguments built in between); it checks them as the DTO's constructor would.
_user_from = dtos.User.__pydantic_validator__.validate_python


def user_dto(user: User) -> dtos.User:
    dto: dtos.User = _user_from(user, from_attributes=True)
    return dto


def course_dto(course: Course) -> dtos.Course:
    return dtos.Course(id=course.id, name=course.name)
