"""Alembic migrations of the SQL metadata store, run programmatically (no alembic.ini).

A script directory and a version table (``mlrig_runs_alembic_version``) of their own,
apart from the profile store's (:mod:`mlrig.migrations`): a metadata store may share a
database with a profile store, and the two schemas change on their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database of ``connection`` to ``revision`` (in the caller's transaction)."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(connection), revision)
