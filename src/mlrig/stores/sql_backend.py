"""The ``sql`` store type's backend: everything about SQL stores that needs no database
library (URLs, defaults, where a SQLite file lives), so that deciding about a SQL profile
never imports SQLAlchemy; :meth:`SqlBackend.open` imports :mod:`mlrig.stores.sql`."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlrig.stores.sql_url import canonical_sql_url, validate_options

if TYPE_CHECKING:
    from pathlib import Path

    from mlrig.events import Listener
    from mlrig.models import ProfileConfig
    from mlrig.stores.base import Store

_SQLITE_PREFIX = re.compile(r"^sqlite(\+\w+)?:///")
#: a SQLite file that :class:`~mlrig.stores.sql_fast.SqliteStore` may use through sqlite3
_PLAIN_SQLITE = re.compile(r"^sqlite(\+pysqlite)?:///")


class SqlBackend:
    """The ``sql`` store type: SQLite, PostgreSQL, MySQL/MariaDB through SQLAlchemy (see
    :class:`mlrig.stores.sql.SqlStore`, imported only by :meth:`open`)."""

    type = "sql"

    def canonical_url(self, url: str) -> str:
        return canonical_sql_url(url)

    def default_url(self, directory: Path) -> str:
        return f"sqlite:///{directory.resolve() / 'mlrig.db'}"

    def validate_options(self, url: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return validate_options(url, options)

    def location(self, url: str) -> Path | None:
        """The database file of a SQLite URL, read without SQLAlchemy (cheap)."""
        match = _SQLITE_PREFIX.match(url)
        if match is None:
            return None
        raw = url[match.end():].split("?", 1)[0]
        from pathlib import Path  # here: a PostgreSQL profile's status needs no pathlib

        return Path(raw).resolve() if raw and raw != ":memory:" else None

    def lives_in(self, url: str, directory: Path) -> bool:
        db = self.location(url)
        return db is not None and db.parent == directory.resolve()

    def relocated_url(self, url: str, old_dir: Path, new_dir: Path) -> str:
        match = _SQLITE_PREFIX.match(url)
        db = self.location(url)
        if match is None or db is None:
            return url
        _, sep, query = url.partition("?")
        return f"{match.group(0)}{new_dir / db.name}" + (f"?{query}" if sep else "")

    def staging(self, url: str, directory: Path, token: str) -> tuple[Path, str, Path] | None:
        if not self.lives_in(url, directory):
            return None  # a database server, or a file the user chose: built in place
        final = directory.resolve()
        staging = final.parent / f".{final.name}.incoming-{token}"
        return staging, self.relocated_url(url, final, staging), final

    def private_paths(self, url: str) -> list[tuple[Path, int]]:
        db = self.location(url)
        return [(db, 0o600)] if db is not None else []

    def open(self, profile: ProfileConfig, *, env: Mapping[str, str] | None,
             events: Listener | None) -> Store:
        path = self.location(profile.store_url)
        if path is not None and _PLAIN_SQLITE.match(profile.store_url) \
                and "?" not in profile.store_url and "%" not in profile.store_url:
            from mlrig.stores.sql_fast import SqliteStore

            return SqliteStore(profile.store_url, path, options=profile.options, env=env,
                               events=events)
        postgres = _postgres_store(profile, env=env, events=events)
        if postgres is not None:
            return postgres
        from mlrig.stores.sql import SqlStore

        store: Store = SqlStore(profile.store_url, options=profile.options, env=env,
                                events=events)
        return store



def _postgres_store(profile: ProfileConfig, *, env: Mapping[str, str] | None,
                    events: Listener | None) -> Store | None:
    """A :class:`~mlrig.stores.sql_fast.PostgresStore` for a plain PostgreSQL URL when
    psycopg2 is installed (else ``None``: SQLAlchemy's store, on psycopg 3)."""
    if not profile.store_url.startswith("postgres"):
        return None
    from mlrig.stores.sql_fast import PostgresStore, postgres_params

    params = postgres_params(profile.store_url)
    if params is None:
        return None
    psycopg2 = _import_psycopg2()
    if psycopg2 is None:
        return None
    return PostgresStore(profile.store_url, params, psycopg2, options=profile.options,
                         env=env, events=events)


def _import_psycopg2() -> Any:
    """psycopg2 (``None`` when it is not installed), imported without Python's ``ssl``.

    At import, psycopg2's C module imports ``ssl`` only to have Python set up the locking
    callbacks that OpenSSL before 1.1 needed, and falls back to libpq's own locking when
    that import fails (its path for a Python built without OpenSSL). libpq makes TLS
    connections with its own OpenSSL either way, so ``ssl`` — a second OpenSSL in the
    process, a third of a PostgreSQL read's memory — is hidden for that import when
    nothing has imported it yet.
    """
    hide = "ssl" not in sys.modules and "psycopg2" not in sys.modules
    if hide:
        # None in sys.modules: an import of it fails
        sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import psycopg2
    except ImportError:
        return None
    finally:
        if hide and sys.modules.get("ssl", False) is None:
            del sys.modules["ssl"]
    return psycopg2
