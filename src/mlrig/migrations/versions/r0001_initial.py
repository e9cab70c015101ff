"""The initial schema: components, stacks (with their components), custom flavors.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial"
down_revision: str | None = None
branch_labels = None
depends_on = None

# frozen copies of what the tables looked like at this revision
OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin",
           "mariadb_charset": "utf8mb4", "mariadb_collate": "utf8mb4_bin"}
TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    store = op.create_table(
        "mlrig_store",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        **OPTIONS,
    )
    op.create_table(
        "mlrig_components",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("flavor", sa.String(255), nullable=False),
        sa.Column("config", TEXT, nullable=False),
        sa.UniqueConstraint("type", "name", name="uq_mlrig_components_type_name"),
        **OPTIONS,
    )
    op.create_table(
        "mlrig_stacks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.UniqueConstraint("name", name="uq_mlrig_stacks_name"),
        **OPTIONS,
    )
    op.create_table(
        "mlrig_stack_components",
        sa.Column("stack_id", sa.Integer,
                  sa.ForeignKey("mlrig_stacks.id", ondelete="CASCADE",
                                name="fk_mlrig_stack_components_stack"),
                  primary_key=True),
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("component_id", sa.String(64),
                  sa.ForeignKey("mlrig_components.id", ondelete="RESTRICT",
                                onupdate="CASCADE",
                                name="fk_mlrig_stack_components_component"),
                  nullable=False),
        **OPTIONS,
    )
    op.create_table(
        "mlrig_flavors",
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("source", sa.String(1024), nullable=False),
        **OPTIONS,
    )
    # the row every write transaction locks (SELECT ... FOR UPDATE) to serialise writers
    op.bulk_insert(store, [{"id": 1, "kind": "mlrig-sql-store"}])


def downgrade() -> None:
    for table in ("mlrig_stack_components", "mlrig_stacks", "mlrig_components",
                  "mlrig_flavors", "mlrig_store"):
        op.drop_table(table)
