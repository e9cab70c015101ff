"""The tables of a SQL metadata store at the head schema revision (SQLAlchemy Core).

The one definition of the schema: :func:`create_head` builds it in a new database, the
Alembic migrations in ``migrations/`` (a script directory of their own, with their own
version table ``mlrig_runs_alembic_version``, apart from the profile store's) change an
older one, and a test compares what the migrations build with these tables. The store's
queries (:mod:`mlrig.runtime.metadata.sql`) are plain SQL over these names, so that the
SQLite read path runs on the standard library's ``sqlite3`` without importing SQLAlchemy;
this module is imported only to create or upgrade a database, and for servers.

Times are seconds since the epoch (``DOUBLE``); mappings and lists are JSON text.
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa

from mlrig.runtime.metadata.revisions import HEAD, VERSION_TABLE

# the column types and table options of the profile store's tables (utf8mb4, byte order)
from mlrig.stores.sql_schema import ID, NAME, TABLE_OPTIONS, TEXT

STATUS = sa.String(16)
TIME: Any = sa.Double()

metadata = sa.MetaData()

#: one row: what kind of database this is and when it was made
meta = sa.Table(
    "mlrig_runs_meta", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("created", TIME, nullable=False),
    **TABLE_OPTIONS,
)

runs = sa.Table(
    "mlrig_pipeline_runs", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("pipeline", NAME, nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("stack", NAME, nullable=False),
    sa.Column("profile", NAME, nullable=False),
    sa.Column("orchestrator", NAME, nullable=False),
    sa.Column("started", TIME, nullable=False),
    sa.Column("finished", TIME, nullable=True),
    sa.Column("parameters", TEXT, nullable=False),
    sa.Column("host", NAME, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    # when the driving process started (opaque, from the OS): a reused pid is another process
    sa.Column("process_start", sa.String(64), nullable=True),
    sa.Column("resumed_from", ID, nullable=True),
    sa.Column("error", TEXT, nullable=True),
    # newest first, by pipeline, by status: each an index walk of one page
    sa.Index("ix_mlrig_pipeline_runs_started", "started", "id"),
    sa.Index("ix_mlrig_pipeline_runs_pipeline", "pipeline", "started", "id"),
    sa.Index("ix_mlrig_pipeline_runs_status", "status", "started", "id"),
    **TABLE_OPTIONS,
)

steps = sa.Table(
    "mlrig_step_runs", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("run_id", ID,
              sa.ForeignKey("mlrig_pipeline_runs.id", ondelete="CASCADE",
                            name="fk_mlrig_step_runs_run"),
              nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("cached", sa.Boolean, nullable=False),
    sa.Column("cache_key", sa.String(128), nullable=True),
    sa.Column("cache_parts", TEXT, nullable=False),
    sa.Column("parameters", TEXT, nullable=False),
    sa.Column("upstream", TEXT, nullable=False),
    sa.Column("started", TIME, nullable=True),
    sa.Column("finished", TIME, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", TEXT, nullable=True),
    sa.Column("logs_uri", TEXT, nullable=True),
    sa.Column("original_step_run_id", ID, nullable=True),
    sa.Index("ix_mlrig_step_runs_run", "run_id", "name"),
    sa.Index("ix_mlrig_step_runs_cache_key", "cache_key", "status", "finished"),
    **TABLE_OPTIONS,
)

#: the inputs and outputs of each step run (lineage: who produced, who consumed)
step_artifacts = sa.Table(
    "mlrig_step_artifacts", metadata,
    sa.Column("step_run_id", ID,
              sa.ForeignKey("mlrig_step_runs.id", ondelete="CASCADE",
                            name="fk_mlrig_step_artifacts_step"),
              primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # 'input' | 'output'
    sa.Column("name", NAME, primary_key=True),
    sa.Column("artifact_id", ID, nullable=False),
    sa.Index("ix_mlrig_step_artifacts_artifact", "artifact_id", "kind"),
    **TABLE_OPTIONS,
)

artifacts = sa.Table(
    "mlrig_artifacts", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", NAME, nullable=False),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("uri", TEXT, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data_type", sa.String(512), nullable=False),
    sa.Column("materializer", NAME, nullable=False),
    sa.Column("materializer_version", sa.String(64), nullable=False),
    sa.Column("producer_step_run_id", ID, nullable=False),
    sa.Column("created", TIME, nullable=False),
    sa.Column("versions", TEXT, nullable=False),
    sa.Index("ix_mlrig_artifacts_created", "created", "id"),
    sa.Index("ix_mlrig_artifacts_producer", "producer_step_run_id"),
    **TABLE_OPTIONS,
)

#: Alembic's version table, as Alembic itself creates it (kept out of ``metadata``)
version_table = sa.Table(
    VERSION_TABLE, sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)

KIND = "mlrig-metadata-store"


def create_head(conn: sa.Connection) -> None:
    """Create the head schema in an empty database and stamp it (in the caller's
    transaction): what running every migration builds, as a test checks."""
    metadata.create_all(conn)
    version_table.create(conn)
    conn.execute(version_table.insert().values(version_num=HEAD))
    conn.execute(meta.insert().values(
        id=1, kind=KIND, created=datetime.datetime.now(datetime.timezone.utc).timestamp()))
