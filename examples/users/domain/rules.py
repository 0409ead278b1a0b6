"""The rules for one user's or course's fields, shared by the entities."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portside.errors import FieldViolation, Invalid

__all__ = [
    "DEPARTMENT_MAX",
    "NAME_MAX",
    "check_created",
    "clean_department",
    "clean_name",
    "raise_if",
]

NAME_MAX = 64
DEPARTMENT_MAX = 64
UNPRINTABLE = "must not contain control characters or unpaired surrogates"

# What a name never needs: the control characters (Unicode category Cc: NUL, newlines,
# escapes) and surrogates (Cs), which are not characters and cannot be stored as UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> bool:
    """Whether ``text`` has no control characters and no unpaired surrogates."""
    return _UNPRINTABLE.search(text) is None


def clean_name(name: object, violations: list[FieldViolation], field: str = "name") -> str:
    """``name`` without surrounding spaces; a violation is added when it is not 1 to
    ``NAME_MAX`` characters of text."""
    if not isinstance(name, str):
        violations.append(FieldViolation(field, "must be text"))
        return ""
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= NAME_MAX:
        violations.append(FieldViolation(field, f"must be 1 to {NAME_MAX} characters"))
    elif not printable(cleaned):
        violations.append(FieldViolation(field, UNPRINTABLE))
    return cleaned


def clean_department(department: object, violations: list[FieldViolation]) -> str | None:
    """``department`` without surrounding spaces, ``None`` when blank; a violation is added
    when it is longer than ``DEPARTMENT_MAX`` characters or not text."""
    if department is None:
        return None
    if not isinstance(department, str):
        violations.append(FieldViolation("department", "must be text or null"))
        return None
    cleaned = department.strip()
    if not printable(cleaned):
        violations.append(FieldViolation("department", UNPRINTABLE))
    if len(cleaned) > DEPARTMENT_MAX:
        violations.append(
            FieldViolation("department", f"must be at most {DEPARTMENT_MAX} characters")
        )
    # A blank department and no department mean the same; storing one form keeps
    # comparisons and events unambiguous.
    return cleaned or None


def check_created(created: object) -> datetime:
    """``created`` in UTC; a time without a time zone is refused, because it names no
    instant (and a date alone is not a time)."""
    if not isinstance(created, datetime) or created.utcoffset() is None:
        raise Invalid.field("created", "must be a date and time with a time zone")
    return created.astimezone(UTC)


def raise_if(violations: list[FieldViolation]) -> None:
    if violations:
        raise Invalid(violations)
