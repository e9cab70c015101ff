"""The schema revisions of the SQL metadata store this mlrig knows (no imports: the read
path checks a database's revision against these without SQLAlchemy)."""

from __future__ import annotations

#: oldest first; the last one is the head. A new revision: a script in
#: ``migrations/versions/`` (``down_revision`` the previous head), its id here, and
#: :mod:`mlrig.runtime.metadata.schema` changed to match.
REVISIONS = ("m0001_initial",)
HEAD = REVISIONS[-1]
#: Alembic's version table of the metadata store (the profile store's is another one)
VERSION_TABLE = "mlrig_runs_alembic_version"
