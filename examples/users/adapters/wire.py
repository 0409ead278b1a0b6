"""Domain objects as the contract's DTOs, for both entry adapters (HTTP, gRPC)."""

from __future__ import annotations

from users.contract import dtos
from users.domain import Course, User

__all__ = ["course_dto", "user_dto"]


def user_dto(user: User) -> dtos.User:
    return dtos.User(id=user.id, name=user.name, department=user.department, created=user.created)


def course_dto(course: Course) -> dtos.Course:
    return dtos.Course(id=course.id, name=course.name)
