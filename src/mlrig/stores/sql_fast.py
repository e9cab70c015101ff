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
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mlrig.environment import LOCK_TIMEOUT_AT_START as DEFAULT_LOCK_TIMEOUT
from mlrig.stores import mask_url, sql_shared
from mlrig.stores.sql_plain import (
    HEAD,
    Dialect,
    PlainTransaction,
    PlainView,
    fetch,
    lock_writers,
    revision,
)

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from mlrig.events import Listener
    from mlrig.stores.base import StoreTransaction, StoreView
    from mlrig.stores.sql import SqlStore

_DIALECTS: dict[str, Dialect] = {}


def sqlite_dialect() -> Dialect:
    """SQLite's :class:`Dialect`, made on first use: a PostgreSQL profile does not import
    ``sqlite3`` (its library is a megabyte of a read's memory)."""
    if "sqlite" not in _DIALECTS:
        import sqlite3

        _DIALECTS["sqlite"] = Dialect("sqlite", sqlite3.IntegrityError)
    return _DIALECTS["sqlite"]


class FastStore:
    """A store of a database that reads and writes through the DB-API driver when the
    database is at the head schema (``plain_read``, ``write``), and leaves everything else
    to the SQLAlchemy store of the same database."""

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

    def plain_read(self) -> contextlib.AbstractContextManager[PlainView | None]:
        """A read through the driver if the database is the plain case, else ``None`` (for
        a caller that must neither load SQLAlchemy nor upgrade anything: ``mlrig
        status``)."""
        raise NotImplementedError

    @contextlib.contextmanager
    def read(self) -> Iterator[StoreView]:
        with self.plain_read() as plain:
            if plain is not None:
                yield plain
                return
        with self.full().read() as view:
            yield view

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


class SqliteStore(FastStore):
    """A SQLite store: reads and writes through ``sqlite3`` when it can, the rest through
    :class:`~mlrig.stores.sql.SqlStore` (see the module docstring)."""

    def __init__(self, url: str, path: Path, *, options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, events: Listener | None = None
                 ) -> None:
        super().__init__(url, options=options, env=env, events=events)
        self.path = path

    @contextlib.contextmanager
    def plain_read(self) -> Iterator[PlainView | None]:
        conn = self._connect()
        if conn is None:
            yield None
            return
        with self._transaction(conn, "BEGIN", "read"):
            yield PlainView(conn, sqlite_dialect(), self.masked_url)

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
            yield PlainTransaction(conn, sqlite_dialect(), self.masked_url)

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection, begin: str, action: str
                     ) -> Iterator[None]:
        """One transaction on ``conn`` (closed after it): committed when the block ends,
        rolled back when it raises; sqlite3's errors as the SQLAlchemy store reports them."""
        import sqlite3

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
        import sqlite3

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
            if not wal or (not self._checked and revision(conn, sqlite_dialect()) != HEAD):
                conn.close()
                return None  # WAL to switch on, a schema to check or upgrade: the full store
        except sqlite3.Error:
            conn.close()
            return None
        self._checked = True
        return conn

    def _errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        """sqlite3's errors as the SQLAlchemy store reports them."""
        import sqlite3

        return sql_shared.driver_errors(action, self.masked_url, [], sqlite3.Error)


# ---------------------------------------------------------------------------- PostgreSQL

#: a URL as SQLAlchemy's make_url reads it (user, password, host, port, database, query)
_URL = re.compile(
    r"(?P<scheme>[\w+]+)://"
    r"(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?:(?:\[(?P<ipv6>[^/?]+)\]|(?P<ipv4>[^/:?]+))?(?::(?P<port>[^/?]*))?)?"
    r"(?:/(?P<database>[^?]*))?"
    r"(?:\?(?P<query>.*))?\Z", re.S)
#: the URLs a :class:`PostgresStore` serves: SQLAlchemy would connect through libpq as well
#: (psycopg 3 or psycopg2), with the same keywords
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def _unquote(text: str) -> str:
    """``urllib.parse.unquote``, imported only for text that has a ``%`` (urllib.parse and
    the ipaddress module it loads are a few ms of a PostgreSQL profile's ``status``)."""
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)


def postgres_params(url: str) -> dict[str, Any] | None:
    """The libpq keywords of a PostgreSQL URL, as SQLAlchemy's psycopg dialects pass them
    (``None``: not a plain PostgreSQL URL — another driver, a repeated or ``host`` query
    parameter — which :class:`~mlrig.stores.sql.SqlStore` serves)."""
    match = _URL.match(url)
    if match is None or match["scheme"] not in _POSTGRES_SCHEMES or not match["database"]:
        return None
    params: dict[str, Any] = {"dbname": _unquote(match["database"])}
    host = match["ipv6"] or match["ipv4"]
    if host:
        params["host"] = host
    if match["port"]:
        if not match["port"].isdigit():
            return None
        params["port"] = int(match["port"])
    if match["user"]:
        params["user"] = _unquote(match["user"])
    if match["password"] is not None:
        params["password"] = _unquote(match["password"])
    if not match["query"]:
        return params
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(match["query"]):
        if key in params or key in ("host", "hostaddr", "dbname", "user", "password",
                                    "port", "service"):
            return None  # libpq would read it differently from SQLAlchemy: SqlStore's way
        params[key] = value
    return params


#: connections a forked child inherited: kept, never used or closed by the child (closing
#: would end the parent's session on the shared socket)
_INHERITED: list[Any] = []


class PostgresStore(FastStore):
    """A PostgreSQL store: reads and writes through psycopg2 at the head schema, the rest
    (creating, upgrading, removing the schema) through :class:`~mlrig.stores.sql.SqlStore`.

    The transactions are SqlStore's: a read is one REPEATABLE READ transaction; a write is
    one READ COMMITTED transaction that first locks the ``mlrig_store`` row (``SELECT ...
    FOR UPDATE``, waiting at most ``MLRIG_LOCK_TIMEOUT``), so writers are serialised across
    processes and machines and every statement sees what the previous writer committed. A
    connection attempt gives up after the URL's ``connect_timeout`` (10 s by default); the
    password comes from the URL or the profile's ``password_env`` / ``password_file``;
    errors are SqlStore's lines, with the password masked. Connections are kept for the
    next transaction (one per concurrent transaction: the server's threads).
    """

    def __init__(self, url: str, params: dict[str, Any], driver: Any, *,
                 options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, events: Listener | None = None
                 ) -> None:
        super().__init__(url, options=options, env=env, events=events)
        self._params = params
        self._driver = driver
        self._dialect = Dialect("postgresql", driver.IntegrityError, driver.paramstyle)
        self._secrets = [params["password"]] if params.get("password") else []
        self._idle: list[Any] = []
        self._pid = os.getpid()
        self._resolved = False
        import threading

        self._lock = threading.Lock()

    @contextlib.contextmanager
    def plain_read(self) -> Iterator[PlainView | None]:
        with self._transaction("REPEATABLE READ", "read") as conn:
            yield None if conn is None else PlainView(conn, self._dialect, self.masked_url)

    @contextlib.contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with self._transaction("READ COMMITTED", "write to") as conn:
            if conn is not None:
                lock_writers(conn, self._dialect, self.masked_url, DEFAULT_LOCK_TIMEOUT)
                yield PlainTransaction(conn, self._dialect, self.masked_url)
                return
        with self.full().write() as txn:
            yield txn

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            if self._pid != os.getpid():
                _INHERITED.extend(idle)
                idle = []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()
        super().close()

    @contextlib.contextmanager
    def _transaction(self, isolation: str, action: str) -> Iterator[Any]:
        """One transaction at ``isolation`` on a kept or new connection (``None``: the
        database is not at the head schema, so SqlStore upgrades or reports it)."""
        driver = self._driver
        begin = f"BEGIN ISOLATION LEVEL {isolation}"
        with self._errors("connect to"):
            conn = self._take()
            if conn is None:
                conn = self._connect()
            else:
                try:
                    fetch(conn, self._dialect, begin, None)
                except driver.OperationalError:  # a kept connection the server dropped
                    self._give_back(conn, False)
                    conn = self._connect()
                else:
                    begin = ""
        healthy = False
        try:
            with self._errors(action):
                if begin:
                    fetch(conn, self._dialect, begin, None)
                if not self._checked:
                    if revision(conn, self._dialect) != HEAD:
                        fetch(conn, self._dialect, "ROLLBACK", None)
                        healthy = True
                        yield None
                        return
                    self._checked = True
                try:
                    yield conn
                except BaseException:
                    if not conn.closed:
                        with contextlib.suppress(driver.Error):
                            fetch(conn, self._dialect, "ROLLBACK", None)
                    raise
                fetch(conn, self._dialect, "COMMIT", None)
                healthy = True
        finally:
            self._give_back(conn, healthy)

    def _take(self) -> Any:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: never the parent's sessions
                _INHERITED.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        return None

    def _give_back(self, conn: Any, healthy: bool) -> None:
        if healthy and not conn.closed and self._pid == os.getpid():
            with self._lock:
                self._idle.append(conn)
            return
        with contextlib.suppress(Exception):
            conn.close()

    def _connect(self) -> Any:
        from mlrig.stores.sql_url import DEFAULT_CONNECT_TIMEOUT, resolve_password

        params = dict(self._params)
        if not self._resolved:
            events = self._events

            def emit(event: Any) -> None:  # mlrig.events (its dataclasses) only to report
                from mlrig.events import listener_for

                listener_for(None, events)(event)

            password = resolve_password(self.url, self._options,
                                        os.environ if self._env is None else self._env,
                                        emit=emit)
            if password is not None:
                self._params["password"] = password
                self._secrets.append(password)
            self._resolved = True
            params = dict(self._params)
        params.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        conn = self._driver.connect(**params)
        conn.autocommit = True  # the transactions are BEGIN ... COMMIT of this store's own
        return conn

    def _errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        """psycopg2's errors as the SQLAlchemy store reports them."""
        return sql_shared.driver_errors(action, self.masked_url, self._secrets,
                                        self._driver.Error)
