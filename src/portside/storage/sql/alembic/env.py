"""Alembic environment for portside services (used through ``portside db``).

The command hands over an open connection, the service's version table and, for
autogenerate, its metadata; nothing here reads a URL or a file.
"""

from alembic import context

config = context.config
connection = config.attributes["connection"]
# With [storage] schema_name, tables are translated into that schema; the version table's
# existence check does not go through the translation, so it is told the schema itself.
translate = connection.get_execution_options().get("schema_translate_map") or {}
context.configure(
    connection=connection,
    target_metadata=config.attributes.get("target_metadata"),
    version_table=config.attributes["version_table"],
    version_table_schema=translate.get(None),
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
