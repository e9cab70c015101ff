"""Alembic environment of the metadata store: always "online", on the caller's connection."""

from __future__ import annotations

from alembic import context

from mlrig.runtime.metadata.revisions import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "The metadata store's migrations run through mlrig itself "
        "(mlrig.runtime.metadata.migrations.upgrade), on a connection it opened and locked."
    )

context.configure(connection=connection, target_metadata=None, version_table=VERSION_TABLE)

with context.begin_transaction():
    context.run_migrations()
