"""The tables of a SQL store at the head schema revision (SQLAlchemy Core).

The migrations in :mod:`mlrig.migrations` create and change these tables; they never import
this module (a migration describes the schema as it was then). A test compares the migrated
database with these definitions, so they cannot drift apart.

All names start with ``mlrig_`` so that an mlrig store can share a database with other
applications (its Alembic version table is ``mlrig_alembic_version``, not ``alembic_version``).
Names are compared byte for byte on every database (``utf8mb4_bin`` on MySQL/MariaDB).
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

#: the Alembic revisions this package knows, oldest first; the last one is the head
REVISIONS = ("0001_initial", "0002_timestamps", "0003_name_order")
HEAD = REVISIONS[-1]
VERSION_TABLE = "mlrig_alembic_version"
STORE_KIND = "mlrig-sql-store"
STORE_ROW_ID = 1

# the table options every migration uses as well
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin",
                 "mariadb_charset": "utf8mb4", "mariadb_collate": "utf8mb4_bin"}

NAME = sa.String(255)
#: a component's or a stack's name: in code-point order on PostgreSQL too (migration 0003), so
#: that the unique index on it serves the order of paged listings
ORDERED_NAME = sa.String(255).with_variant(postgresql.VARCHAR(255, collation="C"),
                                           "postgresql")
TYPE = sa.String(64)
ID = sa.String(64)
TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True)

metadata = sa.MetaData()

store = sa.Table(
    "mlrig_store", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=True),
    **TABLE_OPTIONS,
)

components = sa.Table(
    "mlrig_components", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("type", TYPE, nullable=False),
    sa.Column("name", ORDERED_NAME, nullable=False),
    sa.Column("flavor", NAME, nullable=False),
    sa.Column("config", TEXT, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=True),
    sa.Column("updated_at", TIMESTAMP, nullable=True),
    sa.UniqueConstraint("type", "name", name="uq_mlrig_components_type_name"),
    **TABLE_OPTIONS,
)

stacks = sa.Table(
    "mlrig_stacks", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", ORDERED_NAME, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=True),
    sa.Column("updated_at", TIMESTAMP, nullable=True),
    sa.UniqueConstraint("name", name="uq_mlrig_stacks_name"),
    **TABLE_OPTIONS,
)

stack_components = sa.Table(
    "mlrig_stack_components", metadata,
    sa.Column("stack_id", sa.Integer,
              sa.ForeignKey("mlrig_stacks.id", ondelete="CASCADE",
                            name="fk_mlrig_stack_components_stack"),
              primary_key=True),
    sa.Column("type", TYPE, primary_key=True),
    sa.Column("component_id", ID,
              sa.ForeignKey("mlrig_components.id", ondelete="RESTRICT", onupdate="CASCADE",
                            name="fk_mlrig_stack_components_component"),
              nullable=False),
    sa.Index("ix_mlrig_stack_components_component_id", "component_id"),
    **TABLE_OPTIONS,
)

flavors = sa.Table(
    "mlrig_flavors", metadata,
    sa.Column("type", TYPE, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=True),
    **TABLE_OPTIONS,
)

#: every table of a store, in an order that satisfies the foreign keys when dropping
TABLES_DROP_ORDER = (stack_components, stacks, components, flavors, store)

# Alembic's version table, as Alembic itself creates it (kept out of ``metadata``)
version_table = sa.Table(
    VERSION_TABLE, sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)


def create_head(conn: sa.Connection) -> None:
    """Create the head schema in an empty database and stamp it with the head revision
    (in the caller's transaction). Equivalent to running every migration, but quicker."""
    now = datetime.datetime.now(datetime.timezone.utc)
    metadata.create_all(conn)
    version_table.create(conn)
    conn.execute(version_table.insert().values(version_num=HEAD))
    conn.execute(store.insert().values(id=STORE_ROW_ID, kind=STORE_KIND, created_at=now))
