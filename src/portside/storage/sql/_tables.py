"""portside's own tables: documents with their unique and secondary keys."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

__all__ = ["documents", "indexed", "metadata", "unique"]

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
