"""The user's and course's own rules: each invalid input names its field; events are
recorded for what happened; times are instants in UTC."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from portside.errors import Invalid
from portside.messaging import message_key, message_name, message_version
from users.domain import (
    Course,
    User,
    UserModified,
    UserRegistered,
    UserUnregistered,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def fields_of(error: Invalid) -> list[str]:
    return [v.field for v in error.violations]


def test_registering_cleans_the_input_and_records_the_event() -> None:
    user = User.register("  Ada Lovelace ", "  R&D ", now=NOW)
    assert (user.name, user.department, user.created) == ("Ada Lovelace", "R&D", NOW)
    assert len(user.id) == 32
    assert user.pending_events == (UserRegistered(user.id, "Ada Lovelace", "R&D"),)


def test_a_blank_department_is_no_department() -> None:
    assert User.register("ada", "   ", now=NOW).department is None
    assert User.register("ada", None, now=NOW).department is None


def test_ids_are_unique() -> None:
    assert len({User.register("ada", None, now=NOW).id for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "name", ["Zoë Ñúñez", "艾达", "Ada 🚀 Lovelace", "O'Brien-Smith", "a\u00a0b", "x" * 64]
)
def test_any_printable_text_is_a_name(name: str) -> None:
    assert User.register(name, "Ré & D", now=NOW).name == name


@pytest.mark.parametrize(
    ("name", "department", "fields"),
    [
        ("", None, ["name"]),
        ("   ", None, ["name"]),
        ("x" * 65, None, ["name"]),
        (None, None, ["name"]),
        ("ada", "d" * 65, ["department"]),
        ("ada", 7, ["department"]),
        ("", "d" * 65, ["name", "department"]),
        ("a\x00b", None, ["name"]),
        ("ada\nlovelace", None, ["name"]),
        ("ada", "r\x00d", ["department"]),
        ("\udb27ada", "\x1b[31m", ["name", "department"]),
        ("ada\x7f", "r\x85d", ["name", "department"]),  # DEL, and a C1 control (NEL)
    ],
)
def test_each_invalid_input_names_its_field(
    name: object, department: object, fields: list[str]
) -> None:
    with pytest.raises(Invalid) as caught:
        User.register(name, department, now=NOW)  # type: ignore[arg-type]
    assert fields_of(caught.value) == fields


def test_any_script_and_astral_characters_are_names() -> None:
    for name in ("Zoë Ångström", "李小龙", "Ada 🚀", "Ada\u00a0Byron"):
        assert User.register(name, None, now=NOW).name == name


def test_the_limits_themselves_are_allowed() -> None:
    user = User.register("x" * 64, "d" * 64, now=NOW)
    assert (len(user.name), len(user.department or "")) == (64, 64)


def test_a_time_without_a_time_zone_or_a_date_alone_is_refused() -> None:
    for created in (datetime(2026, 1, 2, 3, 4, 5), date(2026, 1, 2)):
        with pytest.raises(Invalid) as caught:
            User("u1", "ada", None, created)  # type: ignore[arg-type]
        assert fields_of(caught.value) == ["created"]


def test_a_time_in_another_zone_is_kept_as_the_same_instant_in_utc() -> None:
    local = datetime(2026, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    user = User("u1", "ada", None, local)
    assert user.created == NOW
    assert user.created.utcoffset() == timedelta(0)


def test_modifying_records_an_event_only_when_something_changed() -> None:
    user = User("u1", "ada", "R&D", NOW)
    assert user.modify("ada", " R&D ") is False
    assert not user.pending_events
    assert user.modify("Ada", None) is True
    assert (user.name, user.department) == ("Ada", None)
    assert user.pending_events == (UserModified("u1", "Ada", None),)


def test_invalid_changes_leave_the_user_as_it_was() -> None:
    user = User("u1", "ada", "R&D", NOW)
    with pytest.raises(Invalid) as caught:
        user.modify("", "d" * 65)
    assert fields_of(caught.value) == ["name", "department"]
    assert (user.name, user.department, user.pending_events) == ("ada", "R&D", ())


def test_a_restored_user_is_as_saved_and_has_recorded_nothing() -> None:
    saved = User.register("Ada", "R&D", now=NOW)
    saved.version = 3
    restored = User.restore(saved.id, saved.name, saved.department, saved.created, 3)
    assert (restored.id, restored.name, restored.department, restored.created) == (
        saved.id,
        "Ada",
        "R&D",
        NOW,
    )
    assert restored.version == 3
    assert restored.pending_events == ()
    assert restored.modify("Ada L", None)
    assert [type(e).__name__ for e in restored.pull_events()] == ["UserModified"]


def test_unregistering_records_the_event() -> None:
    user = User("u1", "ada", None, NOW)
    user.unregister()
    assert user.pending_events == (UserUnregistered("u1", "ada"),)


def test_events_are_messages_keyed_by_the_user() -> None:
    events = [
        UserRegistered("u1", "ada", None),
        UserModified("u1", "ada", "R&D"),
        UserUnregistered("u1", "ada"),
    ]
    assert [message_name(type(e)) for e in events] == [
        "users.UserRegistered",
        "users.UserModified",
        "users.UserUnregistered",
    ]
    assert {message_version(type(e)) for e in events} == {1}
    assert {message_key(e) for e in events} == {"u1"}


def test_a_course_needs_a_name() -> None:
    assert Course.create("  Go ").name == "Go"
    for name in ("", " ", "x" * 65):
        with pytest.raises(Invalid) as caught:
            Course.create(name)
        assert fields_of(caught.value) == ["name"]


def test_the_domain_imports_no_adapter_framework_or_driver() -> None:
    probe = (
        "import sys, users.domain; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} "
        "| {m for m in sys.modules if m.startswith(('users.', 'portside.'))})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(result.stdout.split())
    assert "users.domain" in loaded
    forbidden = {
        "sqlalchemy",
        "redis",
        "fastapi",
        "grpc",
        "aio_pika",
        "nats",
        "users.application",
        "users.adapters",
        "portside.storage.sql",
        "portside.http",
        "portside.grpc",
    }
    assert loaded & forbidden == set()
