"""Conversions between the gRPC messages and the contract's DTOs, used by the service's
gRPC adapter and by the typed gRPC client, so both read the wire the same way."""

from __future__ import annotations

from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp

from .dtos import Course, User, UserPage
from .proto import users_pb2 as pb

__all__ = ["course_from_pb", "course_to_pb", "page_from_pb", "user_from_pb", "user_to_pb"]


def user_to_pb(user: User) -> pb.User:
    created = Timestamp()
    created.FromDatetime(user.created)
    message = pb.User(id=user.id, name=user.name, created=created)
    if user.department is not None:
        message.department = user.department
    return message


def user_from_pb(message: pb.User) -> User:
    return User(
        id=message.id,
        name=message.name,
        department=message.department if message.HasField("department") else None,
        created=message.created.ToDatetime(tzinfo=UTC),
    )


def page_from_pb(message: pb.ListUsersResponse) -> UserPage:
    return UserPage(
        items=[user_from_pb(item) for item in message.items],
        next_cursor=message.next_cursor or None,
    )


def course_to_pb(course: Course) -> pb.Course:
    return pb.Course(id=course.id, name=course.name)


def course_from_pb(message: pb.Course) -> Course:
    return Course(id=message.id, name=message.name)
