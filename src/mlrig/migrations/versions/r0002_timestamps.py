"""Creation and change times on every record, and an index to find the stacks of a component.

Revision ID: 0002_timestamps
Revises: 0001_initial

The columns are nullable without a server default (SQLite cannot add a column with a
non-constant default); mlrig sets them on every write. Rows that exist when the database is
upgraded get the time of the upgrade.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002_timestamps"
down_revision: str | None = "0001_initial"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
COLUMNS = {
    "mlrig_store": ("created_at",),
    "mlrig_components": ("created_at", "updated_at"),
    "mlrig_stacks": ("created_at", "updated_at"),
    "mlrig_flavors": ("created_at",),
}


def upgrade() -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    for table, columns in COLUMNS.items():
        for column in columns:
            op.add_column(table, sa.Column(column, TIMESTAMP, nullable=True))
        values = dict.fromkeys(columns, now)
        op.execute(sa.table(table, *(sa.column(c, TIMESTAMP) for c in columns))
                   .update().values(**values))
    op.create_index("ix_mlrig_stack_components_component_id", "mlrig_stack_components",
                    ["component_id"])


def downgrade() -> None:
    mysql = op.get_context().dialect.name in ("mysql", "mariadb")
    if mysql:
        # MySQL uses this index for the foreign key (it dropped its own when this one came):
        # drop the key with it and add it back, which brings back MySQL's own index
        op.drop_constraint("fk_mlrig_stack_components_component", "mlrig_stack_components",
                           type_="foreignkey")
    op.drop_index("ix_mlrig_stack_components_component_id",
                  table_name="mlrig_stack_components")
    if mysql:
        op.create_foreign_key("fk_mlrig_stack_components_component", "mlrig_stack_components",
                              "mlrig_components", ["component_id"], ["id"],
                              ondelete="RESTRICT", onupdate="CASCADE")
    for table, columns in COLUMNS.items():
        for column in columns:
            op.drop_column(table, column)
