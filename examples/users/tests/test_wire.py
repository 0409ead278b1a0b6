"""The conversions from domain objects to the contract's DTOs."""

from datetime import UTC, datetime, timedelta, timezone

from users.adapters.wire import course_dto, user_dto
from users.contract import dtos
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
