"""SQL stores that do not load SQLAlchemy on the hot path.

Importing SQLAlchemy costs a command several times what its queries do. What
:meth:`SqlBackend.open <mlrig.stores.sql_backend.SqlBackend.open>` gives for a SQLite file is
a :class:`SqliteStore`: when the database is the plain case — the file exists, this user
can write it (so it is in WAL mode, as every connection of
:class:`~mlrig.stores.sql.SqlStore` leaves it), and its schema is the head revision — it
reads and writes with the standard library's ``sqlite3`` and the statements of
:mod:`mlrig.stores.sql_plain`, with the same transactions as the SQLAlchemy store (a
deferred ``BEGIN`` for reads, ``BEGIN IMMEDIATE`` for writes, on a connection with the busy
timeout ``MLRIG_LOCK_TIMEOUT`` and foreign keys on), the same stored values and the same
errors. Everything else — a missing, read-only or older database (an upgrade), creating or
removing the store — is done by :class:`~mlrig.stores.sql.SqlStore`, loaded then.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.exceptions import LockTimeoutError, MlrigError, StoreError
from mlrig.fsutil import DEFAULT_LOCK_TIMEOUT
from mlrig.stores import mask_url, sql_shared
from mlrig.stores.sql_plain import HEAD, Dialect, PlainTransaction, PlainView, revision

if TYPE_CHECKING:
    from mlrig.events import Listener
    from mlrig.stores.base import StoreTransaction, StoreView
    from mlrig.stores.sql import SqlStore

SQLITE = Dialect("sqlite", sqlite3.IntegrityError)


class _DelegatingStore:
    """What a fast store leaves to the SQLAlchemy store of the same database."""

    type = "sql"

    def __init__(self, url: str, *, options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, events: Listener | None = None
                 ) -> None:
        self.url = url
        self.masked_url = mask_url(url)
        self._options = dict(options or {})
        self._env = env
        self._events = events
        self._full: SqlStore | None = None
        self._checked = False  # the database was seen at the head schema

    def full(self) -> SqlStore:
        """The SQLAlchemy store of the same database (loaded on first use)."""
        if self._full is None:
            from mlrig.stores.sql import SqlStore

            self._full = SqlStore(self.url, options=self._options, env=self._env,
                                  events=self._events)
        return self._full

    def __getattr__(self, name: str) -> Any:  # sqlite_file, backend, ... of the full store
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.full(), name)

    def is_initialized(self) -> bool:
        return self.full().is_initialized()

    def initialize(self) -> None:
        self.full().initialize()

    def needs_repair(self) -> bool:
        return False

    def hold_writers(self) -> contextlib.AbstractContextManager[None]:
        self.close()
        return self.full().hold_writers()

    def destroy(self, spare: Path | None = None) -> None:
        self.full().destroy(spare)

    def close(self) -> None:
        if self._full is not None:
            self._full.close()


class SqliteStore(_DelegatingStore):
    """A SQLite store: reads and writes through ``sqlite3`` when it can, the rest through
    :class:`~mlrig.stores.sql.SqlStore` (see the module docstring)."""

    def __init__(self, url: str, path: Path, *, options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, events: Listener | None = None
                 ) -> None:
        super().__init__(url, options=options, env=env, events=events)
        self.path = path

    @contextlib.contextmanager
    def read(self) -> Iterator[StoreView]:
        with self.plain_read() as plain:
            if plain is not None:
                yield plain
                return
        with self.full().read() as view:
            yield view

    @contextlib.contextmanager
    def plain_read(self) -> Iterator[PlainView | None]:
        """A read through sqlite3 if the database is the plain case, else ``None`` (for a
        caller that must neither load SQLAlchemy nor upgrade anything: ``mlrig status``)."""
        conn = self._connect()
        if conn is None:
            yield None
            return
        with self._transaction(conn, "BEGIN", "read"):
            yield PlainView(conn, SQLITE, self.masked_url)

    @contextlib.contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        conn = self._connect()
        if conn is None:  # missing, read-only, not yet WAL, another schema: SqlStore's way
            with self.full().write() as txn:
                yield txn
            return
        # BEGIN IMMEDIATE takes the database's write lock now (waiting up to the busy
        # timeout), so the checks this transaction makes hold until its commit
        with self._transaction(conn, "BEGIN IMMEDIATE", "write to"):
            yield PlainTransaction(conn, SQLITE, self.masked_url)

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection, begin: str, action: str
                     ) -> Iterator[None]:
        """One transaction on ``conn`` (closed after it): committed when the block ends,
        rolled back when it raises; sqlite3's errors as the SQLAlchemy store reports them."""
        try:
            with self._errors(action):
                conn.execute(begin)
                try:
                    yield
                except BaseException:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection | None:
        """A connection to a database at the head schema; ``None``: SqlStore does it."""
        path = self.path
        if not path.is_file() or not all(os.access(p, os.W_OK) for p in (path, path.parent)):
            return None  # missing or read-only: the full store's messages and modes
        try:
            conn = sqlite3.connect(path, timeout=DEFAULT_LOCK_TIMEOUT,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(DEFAULT_LOCK_TIMEOUT * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            wal = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
            if not wal or (not self._checked and revision(conn, SQLITE) != HEAD):
                conn.close()
                return None  # WAL to switch on, a schema to check or upgrade: the full store
        except sqlite3.Error:
            conn.close()
            return None
        self._checked = True
        return conn

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """sqlite3's errors as the SQLAlchemy store reports them."""
        try:
            yield
        except MlrigError:
            raise
        except sqlite3.Error as exc:
            cause = sql_shared.driver_cause(exc, exc, [], self.masked_url)
            lowered = cause.lower()
            if "database is locked" in lowered:
                raise LockTimeoutError(
                    f"Cannot {action} the SQL store at {self.masked_url}: another process "
                    f"held it for more than {DEFAULT_LOCK_TIMEOUT:.0f}s "
                    f"({cause.rstrip('.?!')}).",
                    hint="Try again; MLRIG_LOCK_TIMEOUT sets how long to wait.") from None
            raise StoreError(f"Cannot {action} the SQL store at {self.masked_url}: {cause}",
                             hint=sql_shared.hint(lowered),
                             library_hint=sql_shared.hint(lowered, library=True)) from None
