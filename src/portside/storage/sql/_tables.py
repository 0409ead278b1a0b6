"""portside's own tables: documents with their unique and secondary keys."""

from __future__ import annotations

from sqlalchemy import Column, Double, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

__all__ = ["documents", "inbox", "indexed", "metadata", "outbox", "unique"]

metadata = MetaData()

documents = Table(
    "portside_documents",
    metadata,
    Column("collection", String(100), nullable=False),
    Column("key", String(191), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    PrimaryKeyConstraint("collection", "key", name="pk_portside_documents"),
)

unique = Table(
    "portside_unique",
    metadata,
    Column("collection", String(100), nullable=False),
    Column("field", String(100), nullable=False),
    Column("value", String(191), nullable=False),
    Column("key", String(191), nullable=False),
    PrimaryKeyConstraint("collection", "field", "value", name="pk_portside_unique"),
)

indexed = Table(
    "portside_indexed",
    metadata,
    Column("collection", String(100), nullable=False),
    Column("field", String(100), nullable=False),
    Column("value", String(191), nullable=False),
    Column("key", String(191), nullable=False),
    PrimaryKeyConstraint("collection", "field", "value", "key", name="pk_portside_indexed"),
)

outbox = Table(
    "portside_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
    Column("topic", String(191), nullable=False),
    Column("key", String(191), nullable=True),
    Column("body", Text, nullable=False),
    Column("created_at", Double, nullable=False),  # seconds since the epoch (UTC)
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Double, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)

inbox = Table(
    "portside_inbox",
    metadata,
    Column("consumer_group", String(191), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("processed_at", Double, nullable=False),  # seconds since the epoch (UTC)
    PrimaryKeyConstraint("consumer_group", "message_id", name="pk_portside_inbox"),
)
