"""Alembic migrations of the SQL store schema, run programmatically (no alembic.ini).

:func:`upgrade` takes an open SQLAlchemy connection inside a transaction that the caller
owns (and has locked against concurrent migrations); the caller commits. ``env.py`` and the
scripts in ``versions/`` are loaded by Alembic from this directory, which ships in the
package. Revision ids are listed in :data:`mlrig.stores.sql_schema.REVISIONS`.

To add a revision: write ``versions/rNNNN_<slug>.py`` (revision ``NNNN_<slug>``,
``down_revision`` the previous head), append its id to ``REVISIONS``, change
:mod:`mlrig.stores.sql_schema` to match, and extend the migration tests' sample data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database of ``connection`` to ``revision`` (in the caller's transaction)."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Migrate back to ``revision`` (for tests and for people who must roll back mlrig)."""
    from alembic import command

    command.downgrade(alembic_config(connection), revision)
