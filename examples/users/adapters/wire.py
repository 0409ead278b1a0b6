"""Domain objects as the contract's DTOs, for both entry adapters (HTTP, gRPC)."""

from __future__ import annotations

from datetime import UTC, datetime

from users.contract import dtos
from users.domain import Course, User

from ._kept import keep

__all__ = ["DTOS_MAX", "UserKey", "course_dto", "user_dto", "user_key"]

# The DTO's compiled validator, given the fields as a dict: it checks them as the DTO's
# constructor would, without the constructor's keyword arguments. (Reading the domain
# object's attributes itself, with from_attributes, the validator first asks whether the
# object is a Mapping: an isinstance check against an ABC, run in Python, per call.)
_user_from = dtos.User.__pydantic_validator__.validate_python

DTOS_MAX = 4096
"""User DTOs kept by :func:`user_dto`, by their fields."""

UserKey = tuple[str, str, str | None, datetime]
"""What decides a user's DTO and reply message: its id, name, department and ``created``
(compared as an instant)."""

_made: dict[UserKey, dtos.User] = {}


def user_key(user: User) -> UserKey:
    """The fields a user is shown with, as a key of the conversions' kept results."""
    return (user.id, user.name, user.department, user.created)


def user_dto(user: User) -> dtos.User:
    """The contract's view of ``user``, its ``created`` in UTC.

    DTOs are frozen, so the last :data:`DTOS_MAX` made are kept by their fields and handed
    out again: a user read again is not validated into a DTO again (most of what serving
    a cached user cost). The fields decide the DTO, so a kept one is never stale: a
    changed user has other fields. (``created`` is compared as an instant, which is why
    the DTO always shows it in UTC.)
    """
    key = user_key(user)
    dto = _made.get(key)
    if dto is None:
        fields = {
            "id": user.id,
            "name": user.name,
            "department": user.department,
            "created": user.created.astimezone(UTC),
        }
        dto = keep(_made, key, _user_from(fields), DTOS_MAX)
    return dto


def course_dto(course: Course) -> dtos.Course:
    return dtos.Course(id=course.id, name=course.name)
