"""The SQL store: one profile in a SQLite, PostgreSQL or MySQL/MariaDB database.

SQLite (the default, a file in the profile's directory) needs no server; PostgreSQL and
MySQL let a team share one store from many machines. The schema is created and upgraded with
Alembic (:mod:`mlrig.migrations`); the tables are in :mod:`mlrig.stores.sql_schema`. The
reads and writes are the plain SQL of :mod:`mlrig.stores.sql_plain`, run on the DB-API
connection under SQLAlchemy's (the stores of :mod:`mlrig.stores.sql_fast` run the same
statements without SQLAlchemy).

Transactions
    ``read()`` is one database transaction with a consistent snapshot (REPEATABLE READ on
    PostgreSQL/MySQL, a deferred ``BEGIN`` on SQLite in WAL mode). ``write()`` is one
    transaction that first serialises against every other writer of the same store:
    ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of the single ``mlrig_store``
    row on PostgreSQL/MySQL (at READ COMMITTED, so every later statement sees what the
    previous writer committed). Read-modify-write sequences such as "delete a component no
    stack uses" against "create a stack using it" are therefore correct across processes and
    machines, while readers are never blocked. Unique and foreign-key constraints guard the
    same rules in the database itself; a constraint violation is reported with the same
    message as the check that normally catches it first.

SQLite
    WAL journal, a busy timeout (``MLRIG_LOCK_TIMEOUT``, 30 s by default) on every
    connection and ``BEGIN IMMEDIATE`` for writers, so parallel commands wait for each other
    instead of failing with "database is locked". A new database file is created with mode
    0600 in a directory with mode 0700. A database this user cannot write (a read-only
    mount, a directory without write permission) is opened read-only: reads work — WAL
    needs its ``-shm`` file, so without one the file is read as it is (``immutable``) —
    and writes are refused in one line naming the file.

Schema versions
    A database without mlrig's tables is "not initialised" (``initialize()`` creates the
    head schema and stamps it with the head revision). An older schema is upgraded on first
    use by the Alembic migrations, reported as events (``on_event``/``events``); SQLite files
    are copied to ``<db>.rev-<old revision>.bak`` first. A schema newer than this package is
    refused and left untouched.

The store never prints; errors are :class:`~mlrig.exceptions.StoreError` naming the URL with
its password masked.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlrig.events import EventSink, Listener, SchemaUpgraded, SchemaUpgrading, listener_for
from mlrig.exceptions import InputError, LockTimeoutError, ReadOnlyError, StoreError
from mlrig.fsutil import DEFAULT_LOCK_TIMEOUT, ensure_dir
from mlrig.stores import mask_url, sql_plain, sql_shared
from mlrig.stores.sql_plain import Dialect, PlainTransaction, PlainView
from mlrig.stores.sql_url import (
    DRIVER_PACKAGES,
    connect_timeout,
    parse,
    resolve_password,
    secrets_of,
)

try:
    import sqlalchemy as sa
    from sqlalchemy import event
    from sqlalchemy import exc as sa_exc
except ImportError as _exc:  # pragma: no cover - the dependency is installed with mlrig
    raise StoreError(
        f"SQL stores need SQLAlchemy, which is not installed ({_exc}).",
        hint="Install it with: python3 -m pip install 'mlrig[sql]'",
    ) from None

from mlrig.stores import sql_schema as schema

#: key of the PostgreSQL advisory lock that serialises schema migrations ("mlrig")
_MIGRATION_LOCK_KEY = 0x6D6C726967

class SqlStore:
    """A profile kept in a SQL database (see the module documentation)."""

    type = "sql"

    def __init__(
        self,
        url: str,
        options: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        on_event: EventSink | None = None,
        events: Listener | None = None,
    ) -> None:
        self.url = url
        self.options = dict(options or {})
        self.masked_url = mask_url(url)
        self._env: Mapping[str, str] = os.environ if env is None else env
        # what the store reports: as (level, message) lines (on_event) or as Event objects
        # (events); neither: the mlrig logger
        self._emit = listener_for(on_event, events)
        parsed = parse(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "postgres":
            self.backend = "postgresql"
        self.database = parsed.database
        self._secrets = secrets_of(parsed)
        self._engine: sa.Engine | None = None
        self._checked = False
        self._read_only: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def sqlite_file(self) -> Path | None:
        return Path(self.database) if self.is_sqlite and self.database else None

    def _sqlite_read_only(self) -> str | None:
        """Why the SQLite database cannot be written from here (``None``: it can)."""
        path = self.sqlite_file
        if path is None or not path.exists():
            return None
        for target in (path, path.parent):  # SQLite writes its -wal and -shm beside it
            if os.access(target, os.W_OK):
                continue
            try:
                on_read_only_fs = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
            except OSError:
                on_read_only_fs = False
            return (f"'{target}' is on a read-only file system" if on_read_only_fs
                    else f"'{target}' is not writable by this user")
        return None

    def _refuse_read_only(self, action: str) -> None:
        if self._read_only is not None:
            raise ReadOnlyError(
                f"Cannot {action} the SQL store at {self.masked_url}: it is read-only "
                f"({self._read_only}).",
                hint="Read commands still work; a change needs a writable copy of it.",
            )

    # -- lifecycle -----------------------------------------------------------------------
    def needs_repair(self) -> bool:
        """A database transaction never needs finishing by a later reader."""
        return False

    def is_initialized(self) -> bool:
        path = self.sqlite_file
        if path is not None and not path.exists():
            return False  # do not let a connection create an empty file
        with self._errors("open"), self._engine_().connect() as conn:
            return _revision(conn) is not None

    def initialize(self) -> None:
        created: Path | None = None
        path = self.sqlite_file
        if path is not None:
            self._read_only = self._sqlite_read_only()
            self._refuse_read_only("initialise")
            ensure_dir(path.parent)
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the SQLite database '{path}': {exc.strerror or exc}."
                ) from None
            else:
                os.close(fd)
                created = path
        try:
            self._migrate()
        except BaseException:
            if created is not None:
                self.close()
                _remove_sqlite_files(created)
            raise
        self._checked = True

    def hold_writers(self) -> contextlib.AbstractContextManager[None]:
        """Every transaction is atomic in the database: there is nothing to hold, once this
        process's own connections are closed."""
        self.close()
        return contextlib.nullcontext()

    def destroy(self, spare: Path | None = None) -> None:
        path = self.sqlite_file
        if path is not None:
            self.close()
            _remove_sqlite_files(path)
            for backup in path.parent.glob(f"{path.name}.rev-*.bak"):
                backup.unlink(missing_ok=True)
            return
        with self._errors("remove"), self._engine_().begin() as conn:
            for table in schema.TABLES_DROP_ORDER:
                table.drop(conn, checkfirst=True)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema.VERSION_TABLE}")
        self._checked = False

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- access --------------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[PlainView]:
        engine = self._ready()
        with self._errors("read"), engine.connect() as conn:
            if not self.is_sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield PlainView(*self._plain(conn))

    @contextlib.contextmanager
    def write(self) -> Iterator[PlainTransaction]:
        engine = self._ready()
        self._refuse_read_only("write to")
        with self._errors("write to"), engine.connect() as conn:
            conn.execution_options(mlrig_write=True)  # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                raw, dialect, where = self._plain(conn)
                sql_plain.lock_writers(raw, dialect, where, DEFAULT_LOCK_TIMEOUT)
                yield PlainTransaction(raw, dialect, where)

    def _plain(self, conn: sa.Connection) -> tuple[Any, Dialect, str]:
        """The DB-API connection under ``conn`` (in its transaction), its dialect for the
        statements of :mod:`mlrig.stores.sql_plain`, the store's masked URL."""
        dbapi = conn.dialect.loaded_dbapi
        dialect = Dialect(conn.dialect.name, dbapi.IntegrityError,
                          getattr(dbapi, "paramstyle", "qmark"))
        return conn.connection.dbapi_connection, dialect, self.masked_url

    # -- engine --------------------------------------------------------------------------
    def _engine_(self) -> sa.Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> sa.Engine:
        url = parse(self.url)
        if self.backend == "postgresql" and url.get_backend_name() == "postgres":
            url = url.set(drivername="postgresql+psycopg")
        password = resolve_password(self.url, self.options, self._env, emit=self._emit)
        if password is not None:
            url = url.set(password=password)
            self._secrets = [*self._secrets, password]
        kwargs: dict[str, Any] = {}
        deadline: int | None = None
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": DEFAULT_LOCK_TIMEOUT}
            self._read_only = self._sqlite_read_only()
            path = self.sqlite_file
            if self._read_only is not None and path is not None:
                kwargs["creator"] = lambda: _connect_read_only(path)
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["isolation_level"] = "READ COMMITTED"
            try:
                deadline = connect_timeout(url, self.url)
            except InputError as exc:
                raise StoreError(exc.message) from None
            kwargs["connect_args"] = {"connect_timeout": deadline}
        try:
            engine = sa.create_engine(url, **kwargs)
        except (sa_exc.NoSuchModuleError, ImportError) as exc:
            driver = url.get_driver_name()
            package = DRIVER_PACKAGES.get(driver)
            raise StoreError(
                f"Cannot open the SQL store at {self.masked_url}: the database driver "
                f"'{driver}' is not available ({sql_shared.first_line(str(exc))}).",
                hint=f"Install it with: python3 -m pip install '{package}'" if package else None,
            ) from None
        if self.is_sqlite:
            _configure_sqlite(engine, read_only=self._read_only is not None)
        elif deadline is not None and url.get_driver_name() == "pymysql":
            _bound_pymysql_handshake(engine, deadline)
        return engine

    def _ready(self) -> sa.Engine:
        """The engine, once the database is known to hold the head schema (first use:
        check it, upgrade an older one, refuse a newer one)."""
        engine = self._engine_()
        if self._checked:
            return engine
        path = self.sqlite_file
        revision: str | None = None
        if path is None or path.exists():
            with self._errors("open"), engine.connect() as conn:
                revision = _revision(conn)
        if revision is None:
            where = f"the database file '{path}' does not exist" if (
                path is not None and not path.exists()) else "the database has no mlrig tables"
            raise StoreError(
                f"No mlrig store found at {self.masked_url} ({where}).",
                hint="Point the profile at the right database, or delete the profile and "
                "create it again.",
            )
        if revision != schema.HEAD:
            self._refuse_unknown(revision)
            self._refuse_read_only(f"upgrade the schema (revision {revision} to "
                                   f"{schema.HEAD}) of")
            self._migrate()
        self._checked = True
        return engine

    # -- migrations ----------------------------------------------------------------------
    def _refuse_unknown(self, revision: str) -> None:
        if revision not in schema.REVISIONS:
            from mlrig._version import __version__

            raise StoreError(
                f"The SQL store at {self.masked_url} has the schema revision '{revision}', "
                f"which this version of mlrig ({__version__}, schema {schema.HEAD}) does not "
                "know: a newer mlrig wrote it. The store was left untouched.",
                hint="Upgrade mlrig to use this store.",
            )

    def _migrate(self) -> None:
        """Create the head schema or upgrade to it, once, whoever else tries at once.

        A new database gets the head schema straight from the table definitions, stamped
        with the head revision (what the migrations would build, as a test checks, without
        importing Alembic); an older one is upgraded by the Alembic migrations.
        """
        from mlrig import migrations

        engine = self._engine_()
        upgraded_from: str | None = None
        with self._errors("initialise"), engine.connect() as conn:
            conn.execution_options(mlrig_write=True)
            # the lock is released only after the commit, so the next one sees the new revision
            with self._migration_lock(conn), conn.begin():
                if self.backend == "postgresql":  # released at the end of the transaction
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
                revision = _revision(conn)
                if revision == schema.HEAD:
                    return
                if revision is not None:
                    self._refuse_unknown(revision)
                    backup = self._backup_sqlite(revision)
                    self._emit(SchemaUpgrading(self.masked_url, revision, schema.HEAD,
                                               str(backup) if backup else None))
                    upgraded_from = revision
                    migrations.upgrade(conn, schema.HEAD)
                else:
                    schema.create_head(conn)
        if upgraded_from is not None:
            self._emit(SchemaUpgraded(self.masked_url, upgraded_from, schema.HEAD))

    @contextlib.contextmanager
    def _migration_lock(self, conn: sa.Connection) -> Iterator[None]:
        """MySQL/MariaDB: a named lock of the session around the migration transaction (its
        schema changes commit on their own). PostgreSQL takes an advisory lock inside the
        transaction, SQLite's ``BEGIN IMMEDIATE`` is the lock."""
        if self.backend not in ("mysql", "mariadb"):
            yield
            return
        name = f"mlrig-migrate-{self.database}"[:64]
        got = conn.execute(sa.text("SELECT GET_LOCK(:name, :timeout)"),
                           {"name": name, "timeout": int(DEFAULT_LOCK_TIMEOUT)}).scalar()
        conn.commit()
        if got != 1:
            raise LockTimeoutError(
                f"Another process has been migrating the SQL store at {self.masked_url} "
                f"for more than {DEFAULT_LOCK_TIMEOUT:.0f}s."
            )
        try:
            yield
        finally:
            with contextlib.suppress(sa_exc.DBAPIError):  # the session ends anyway
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                conn.commit()

    def _backup_sqlite(self, revision: str) -> Path | None:
        """Copy a SQLite database before upgrading it (readers may go on meanwhile)."""
        path = self.sqlite_file
        if path is None:
            return None
        target = path.with_name(f"{path.name}.rev-{revision}.bak")
        try:
            fd = os.open(target, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            os.close(fd)
            source = sqlite3.connect(path, timeout=DEFAULT_LOCK_TIMEOUT)
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot back up the SQL store at {self.masked_url} to '{target}' before "
                f"upgrading its schema ({exc}); it was not changed."
            ) from None
        return target

    # -- errors ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn database errors into one-line StoreErrors naming the (masked) URL: those
        SQLAlchemy wraps, and the driver's own from the statements of sql_plain."""
        dbapi_error = self._engine_().dialect.loaded_dbapi.Error
        with sql_shared.driver_errors(action, self.masked_url, self._secrets, dbapi_error):
            try:
                yield
            except sa_exc.DBAPIError as exc:
                raise self._translate(action, exc) from None

    def _translate(self, action: str, exc: sa_exc.DBAPIError) -> StoreError:
        cause = _cause(exc, self._secrets, self.masked_url)
        if exc.statement is None or exc.connection_invalidated:
            action = "connect to"
        return sql_shared.translated(action, self.masked_url, cause)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a database this user cannot write.

    With its ``-wal`` and ``-shm`` files present SQLite reads a WAL database read-only as
    usual; it cannot create them, so without them the file is opened ``immutable`` (read as
    it is, without locking) — unless a write-ahead log holds changes the file does not have.
    """
    from urllib.parse import quote

    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    uri = f"file:{quote(str(path))}?mode=ro"
    if not shm.exists():
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"Cannot read the SQLite database '{path}': it is read-only and its "
                f"write-ahead log '{wal}' holds changes that cannot be read without "
                f"'{shm}'.", hint="Open it once where it is writable.")
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=DEFAULT_LOCK_TIMEOUT,
                           check_same_thread=False)


def _configure_sqlite(engine: sa.Engine, *, read_only: bool = False) -> None:
    """WAL, a busy timeout, foreign keys; BEGIN (readers) or BEGIN IMMEDIATE (writers).
    A read-only database keeps its journal mode (switching would be a write)."""
    busy_ms = int(DEFAULT_LOCK_TIMEOUT * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let us emit BEGIN ourselves (pysqlite would begin lazily, only before writes)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not read_only and str(
                    cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                _switch_to_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("mlrig_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _bound_pymysql_handshake(engine: sa.Engine, seconds: int) -> None:
    """One deadline for the whole of a PyMySQL connection attempt.

    PyMySQL's ``connect_timeout`` bounds the TCP connect only: a server that accepts and
    then never answers (a wrong port, a proxy in front of a dead database) leaves it waiting
    for the handshake forever, since reads have no timeout. So mlrig opens the socket itself
    (within the deadline) and hands it to PyMySQL (``connect(sock)``, a public argument); a
    timer shuts the socket down when the deadline passes, which ends whatever read or write
    PyMySQL is blocked in. Queries after the handshake are not bounded by it (a writer may
    wait ``MLRIG_LOCK_TIMEOUT`` for another one)."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return _pymysql_connect(dialect.loaded_dbapi, list(cargs), dict(cparams), seconds)


def _pymysql_connect(dbapi: Any, cargs: list[Any], cparams: dict[str, Any],
                     seconds: int) -> Any:
    import socket
    import threading

    cparams["defer_connect"] = True
    cparams["connect_timeout"] = seconds
    conn = dbapi.connect(*cargs, **cparams)
    try:
        if conn.unix_socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(seconds)
            sock.connect(conn.unix_socket)
        else:
            extra = {"source_address": (conn.bind_address, 0)} if conn.bind_address else {}
            sock = socket.create_connection((conn.host, conn.port), seconds, **extra)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError as exc:
        raise dbapi.OperationalError(
            2003, f"Can't connect to MySQL server on {conn.host!r} ({exc})") from None
    # the timer shuts down a duplicate of the socket: still the same connection after
    # PyMySQL has wrapped the original in TLS
    watched = sock.dup()
    guard = threading.Lock()
    state = {"done": False, "expired": False}

    def expire() -> None:
        with guard:
            if state["done"]:
                return
            state["expired"] = True
            with contextlib.suppress(OSError):
                watched.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    failure: BaseException | None = None
    try:
        conn.connect(sock)
    except BaseException as exc:  # re-raised below, or replaced by the timeout
        failure = exc
    finally:
        with guard:
            state["done"] = True
        timer.cancel()
        watched.close()
    if state["expired"]:
        with contextlib.suppress(Exception):
            conn.close()
        raise dbapi.OperationalError(
            2013, f"Can't connect to MySQL server on {conn.host!r} (it accepted the "
            f"connection but did not answer within {seconds}s: timed out)") from None
    if failure is not None:
        raise failure
    return conn


def _switch_to_wal(cursor: Any) -> None:
    """Turn on WAL (once per database file: the mode is persistent).

    Leaving a rollback journal needs an exclusive lock. When another connection is writing,
    SQLite may refuse at once instead of waiting (waiting could deadlock), so retry — without
    holding any lock in between — until the busy timeout has passed.
    """
    deadline = time.monotonic() + DEFAULT_LOCK_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")  # a file system without WAL: no-op
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _revision(conn: sa.Connection) -> str | None:
    """The Alembic revision of the database (``None``: no mlrig store there)."""
    if not sa.inspect(conn).has_table(schema.VERSION_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).all()
    if not rows:
        return None
    return ",".join(sorted(str(r[0]) for r in rows))


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _cause(exc: sa_exc.DBAPIError, secrets: list[str], shown_url: str) -> str:
    """The driver's own message, on one line, without SQL, links or the password."""
    return sql_shared.driver_cause(exc.orig, exc, secrets, shown_url)
