"""The conversions from domain objects to the contract's DTOs."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from users.adapters import grpc as grpc_adapter
from users.adapters import wire
from users.adapters.wire import course_dto, user_dto
from users.contract import dtos
from users.contract.convert import user_to_pb
from users.contract.proto import users_pb2 as pb
from users.domain import Course, User

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_a_user_dto_is_the_dto_validation_would_build() -> None:
    user = User.register(" Ada ", None, now=NOW.astimezone(timezone(timedelta(hours=2))))
    built = user_dto(user)
    assert built == dtos.User(id=user.id, name="Ada", department=None, created=NOW)
    assert dtos.User.model_validate_json(built.model_dump_json()) == built
    assert built.model_dump_json().endswith('"created":"2026-03-01T12:30:15.123456Z"}')


def test_a_course_dto_names_the_course() -> None:
    course = Course.create("Rust")
    assert course_dto(course) == dtos.Course(id=course.id, name="Rust")


def test_a_user_read_again_gets_the_dto_made_for_the_same_fields() -> None:
    user = User.restore("u1", "ada", "R&D", NOW, 1)
    first = user_dto(user)
    assert user_dto(User.restore("u1", "ada", "R&D", NOW, 1)) is first  # DTOs are frozen
    user.modify("Ada L.", "R&D")
    changed = user_dto(user)
    assert changed is not first
    assert (changed.name, first.name) == ("Ada L.", "ada")


def test_a_kept_dto_shows_created_in_utc_whatever_offset_the_user_came_with() -> None:
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-5)))
    from_elsewhere = user_dto(User.restore("u2", "bob", None, elsewhere, 1))
    from_utc = user_dto(User.restore("u2", "bob", None, NOW, 1))  # the same instant
    assert from_utc is from_elsewhere
    assert from_utc.created.utcoffset() == timedelta(0)
    assert from_utc.model_dump_json().endswith('"created":"2026-03-01T12:30:15.123456Z"}')


def test_the_dtos_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "DTOS_MAX", 3)
    monkeypatch.setattr(wire, "_made", {})
    users = [User.restore(f"u{n}", f"user {n}", None, NOW, 1) for n in range(5)]
    made = [user_dto(user) for user in users]
    assert len(wire._made) == 3
    assert sorted(dto.name for dto in wire._made.values()) == ["user 2", "user 3", "user 4"]
    assert user_dto(users[4]) is made[4]
    assert user_dto(users[0]) is not made[0]  # made again after it made room


# -- reply messages of the gRPC adapter -------------------------------------------------------


def test_a_user_message_is_the_dtos_conversion_and_is_kept_by_the_users_fields() -> None:
    user = User.restore("m1", "ada", "R&D", NOW, 1)
    message = grpc_adapter.user_message(user)
    assert message == user_to_pb(user_dto(user))
    assert message.created.ToDatetime(tzinfo=UTC) == NOW
    assert grpc_adapter.user_message(User.restore("m1", "ada", "R&D", NOW, 1)) is message
    elsewhere = NOW.astimezone(timezone(timedelta(hours=3)))  # the same instant
    assert grpc_adapter.user_message(User.restore("m1", "ada", "R&D", elsewhere, 1)) is message
    user.modify("Ada L.", None)
    changed = grpc_adapter.user_message(user)
    assert (changed.name, changed.HasField("department")) == ("Ada L.", False)
    assert (message.name, message.department) == ("ada", "R&D")  # the kept one is untouched


def test_a_page_holds_copies_of_the_kept_messages() -> None:
    kept = grpc_adapter.user_message(User.restore("m2", "bob", None, NOW, 1))
    page = pb.ListUsersResponse(items=[kept])
    page.items[0].name = "changed"
    assert kept.name == "bob"
    assert grpc_adapter.user_message(User.restore("m2", "bob", None, NOW, 1)).name == "bob"


def test_the_messages_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grpc_adapter, "MESSAGES_MAX", 2)
    monkeypatch.setattr(grpc_adapter, "_sent", {})
    users = [User.restore(f"k{n}", f"user {n}", None, NOW, 1) for n in range(4)]
    sent = [grpc_adapter.user_message(user) for user in users]
    assert sorted(m.name for m in grpc_adapter._sent.values()) == ["user 2", "user 3"]
    assert grpc_adapter.user_message(users[3]) is sent[3]
    assert grpc_adapter.user_message(users[0]) is not sent[0]
