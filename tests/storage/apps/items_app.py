"""A service with its own table and Alembic migrations, for the migration tests."""

from sqlalchemy import Column, Integer, MetaData, String, Table

from portside.host import Service

tables = MetaData()
items = Table(
    "items",
    tables,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
)

service = Service("items", requires=["storage"], migrations="items_migrations", tables=tables)
