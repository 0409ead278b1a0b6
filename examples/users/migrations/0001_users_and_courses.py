"""create users and courses

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A revision spells its types out instead of importing the service's, so that it keeps
# describing what it created when the service's code moves on. This is what
# users.adapters.tables.UtcDateTime stores: an instant on PostgreSQL, UTC with microseconds
# on MariaDB (whose DATETIME drops them otherwise) and SQLite.
# Names compare exactly, as on the other stores, not by MariaDB's case- and
# accent-insensitive default collation.
NAME = sa.String(64).with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_index("ix_users_created_id", "users", ["created", "id"])
    op.create_table(
        "courses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("name", name="uq_courses_name"),
    )


def downgrade() -> None:
    op.drop_table("courses")
    op.drop_index("ix_users_created_id", table_name="users")
    op.drop_table("users")
