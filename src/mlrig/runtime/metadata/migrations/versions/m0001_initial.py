"""The initial schema of the metadata store: runs, step runs, their artifacts, lineage.

Revision ID: m0001_initial
Revises:
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "m0001_initial"
down_revision: str | None = None
branch_labels = None
depends_on = None

# frozen copies of what the tables looked like at this revision
OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin",
                           "mariadb_charset": "utf8mb4", "mariadb_collate": "utf8mb4_bin"}
TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
ID = sa.String(64)
NAME = sa.String(255)


def upgrade() -> None:
    meta = op.create_table(
        "mlrig_runs_meta",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("created", sa.Double(), nullable=False),
        **OPTIONS,
    )
    op.create_table(
        "mlrig_pipeline_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("pipeline", NAME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stack", NAME, nullable=False),
        sa.Column("profile", NAME, nullable=False),
        sa.Column("orchestrator", NAME, nullable=False),
        sa.Column("started", sa.Double(), nullable=False),
        sa.Column("finished", sa.Double(), nullable=True),
        sa.Column("parameters", TEXT, nullable=False),
        sa.Column("host", NAME, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("process_start", sa.String(64), nullable=True),
        sa.Column("resumed_from", ID, nullable=True),
        sa.Column("error", TEXT, nullable=True),
        **OPTIONS,
    )
    op.create_index("ix_mlrig_pipeline_runs_started", "mlrig_pipeline_runs", ["started", "id"])
    op.create_index("ix_mlrig_pipeline_runs_pipeline", "mlrig_pipeline_runs",
                    ["pipeline", "started", "id"])
    op.create_index("ix_mlrig_pipeline_runs_status", "mlrig_pipeline_runs",
                    ["status", "started", "id"])
    op.create_table(
        "mlrig_step_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("run_id", ID,
                  sa.ForeignKey("mlrig_pipeline_runs.id", ondelete="CASCADE",
                                name="fk_mlrig_step_runs_run"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("cache_key", sa.String(128), nullable=True),
        sa.Column("cache_parts", TEXT, nullable=False),
        sa.Column("parameters", TEXT, nullable=False),
        sa.Column("upstream", TEXT, nullable=False),
        sa.Column("started", sa.Double(), nullable=True),
        sa.Column("finished", sa.Double(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", TEXT, nullable=True),
        sa.Column("logs_uri", TEXT, nullable=True),
        sa.Column("original_step_run_id", ID, nullable=True),
        **OPTIONS,
    )
    op.create_index("ix_mlrig_step_runs_run", "mlrig_step_runs", ["run_id", "name"])
    op.create_index("ix_mlrig_step_runs_cache_key", "mlrig_step_runs",
                    ["cache_key", "status", "finished"])
    op.create_table(
        "mlrig_step_artifacts",
        sa.Column("step_run_id", ID,
                  sa.ForeignKey("mlrig_step_runs.id", ondelete="CASCADE",
                                name="fk_mlrig_step_artifacts_step"),
                  primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("artifact_id", ID, nullable=False),
        **OPTIONS,
    )
    op.create_index("ix_mlrig_step_artifacts_artifact", "mlrig_step_artifacts",
                    ["artifact_id", "kind"])
    op.create_table(
        "mlrig_artifacts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("uri", TEXT, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("data_type", sa.String(512), nullable=False),
        sa.Column("materializer", NAME, nullable=False),
        sa.Column("materializer_version", sa.String(64), nullable=False),
        sa.Column("producer_step_run_id", ID, nullable=False),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("versions", TEXT, nullable=False),
        **OPTIONS,
    )
    op.create_index("ix_mlrig_artifacts_created", "mlrig_artifacts", ["created", "id"])
    op.create_index("ix_mlrig_artifacts_producer", "mlrig_artifacts", ["producer_step_run_id"])
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    op.bulk_insert(meta, [{"id": 1, "kind": "mlrig-metadata-store", "created": now}])


def downgrade() -> None:
    for table in ("mlrig_step_artifacts", "mlrig_step_runs", "mlrig_pipeline_runs",
                  "mlrig_artifacts", "mlrig_runs_meta"):
        op.drop_table(table)
