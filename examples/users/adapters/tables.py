"""The service's SQL tables (SQLAlchemy Core): what the SQL repositories read and write,
and what ``portside db revision --autogenerate`` compares the migrations with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

__all__ = ["NAME", "UtcDateTime", "courses", "metadata", "users"]


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC, read back with its time zone on every database.

    PostgreSQL keeps the instant (``timestamp with time zone``). SQLite and MariaDB have no
    such type: the UTC wall time is stored without an offset, with microseconds (MariaDB's
    ``DATETIME`` would drop them, and the page order relies on them), and UTC is attached
    when it is read. A time without a time zone is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"a time without a time zone cannot be stored: {value!r}")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Names are compared exactly on every store. MariaDB's default collations ignore case,
# accents and trailing spaces, which would make "Ada" and "ada" (or "José" and "Jose") one
# name there and two everywhere else; its binary collation compares as the others do.
NAME = String(64).with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", NAME, nullable=False),
    Column("department", String(64), nullable=True),
    Column("created", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("name", name="uq_users_name"),
    Index("ix_users_created_id", "created", "id"),
)

courses = Table(
    "courses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", NAME, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("name", name="uq_courses_name"),
)
