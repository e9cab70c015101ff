"""Alembic environment of the mlrig SQL store: always "online", on the caller's connection."""

from __future__ import annotations

from alembic import context

from mlrig.stores.sql_schema import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "mlrig's migrations run through mlrig itself (mlrig.migrations.upgrade), "
        "on a connection it opened and locked."
    )

context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
)

with context.begin_transaction():
    context.run_migrations()
