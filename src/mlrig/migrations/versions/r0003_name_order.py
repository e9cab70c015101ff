"""Names in code-point order on PostgreSQL, so that a page of a listing reads only its rows.

Revision ID: 0003_name_order
Revises: 0002_timestamps

mlrig orders names by code point on every database; PostgreSQL databases usually sort by a
language's rules, so the store asked for ``ORDER BY name COLLATE "C"``, which the unique
indexes on the names (in the database's collation) cannot serve: every page sorted the whole
table. The name columns of components and stacks get the collation ``C`` here; their unique
indexes are rebuilt in that order. Equality is unchanged (a deterministic collation compares
bytes). SQLite (BINARY) and MySQL/MariaDB (``utf8mb4_bin``) already order these columns by
code point: nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "0003_name_order"
down_revision: str | None = "0002_timestamps"
branch_labels = None
depends_on = None

TABLES = ("mlrig_components", "mlrig_stacks")


def _collate(collation: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN name TYPE VARCHAR(255) "
                   f"COLLATE {collation}")


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
