"""The SQL store: one profile in a SQLite, PostgreSQL or MySQL/MariaDB database.

SQLite (the default, a file in the profile's directory) needs no server; PostgreSQL and
MySQL let a team share one store from many machines. The schema is created and upgraded with
Alembic (:mod:`mlrig.migrations`); the tables are in :mod:`mlrig.stores.sql_schema`.

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
import datetime
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlrig.events import EventSink, Listener, SchemaUpgraded, SchemaUpgrading, listener_for
from mlrig.exceptions import InputError, LockTimeoutError, MlrigError, ReadOnlyError, StoreError
from mlrig.fsutil import DEFAULT_LOCK_TIMEOUT, ensure_dir
from mlrig.models import Component, ComponentType, FlavorRecord, Stack
from mlrig.stores import integrity, mask_url, paging, sql_shared
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
_TYPE_ORDER = {t: i for i, t in enumerate(ComponentType)}

_C = schema.components.c
_S = schema.stacks.c
_SC = schema.stack_components.c
_F = schema.flavors.c


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


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
    def read(self) -> Iterator[SqlView]:
        engine = self._ready()
        with self._errors("read"), engine.connect() as conn:
            if not self.is_sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield SqlView(conn, self.masked_url)

    @contextlib.contextmanager
    def write(self) -> Iterator[SqlTransaction]:
        engine = self._ready()
        self._refuse_read_only("write to")
        with self._errors("write to"), engine.connect() as conn:
            conn.execution_options(mlrig_write=True)  # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                self._lock_writers(conn)
                yield SqlTransaction(conn, self.masked_url)

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

    # -- writers -------------------------------------------------------------------------
    def _lock_writers(self, conn: sa.Connection) -> None:
        if self.is_sqlite:
            return  # BEGIN IMMEDIATE already holds the database's write lock
        # never 0: PostgreSQL reads lock_timeout 0 as "wait forever", MySQL's minimum is 1 s
        if self.backend == "postgresql":
            millis = max(1, round(DEFAULT_LOCK_TIMEOUT * 1000))
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{millis}ms'")
        else:
            seconds = max(1, math.ceil(DEFAULT_LOCK_TIMEOUT))
            conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {seconds}")
        row = conn.execute(
            sa.select(schema.store.c.id)
            .where(schema.store.c.id == schema.STORE_ROW_ID)
            .with_for_update()
        ).first()
        if row is None:
            raise StoreError(
                f"The SQL store at {self.masked_url} is damaged: its row in the table "
                "mlrig_store is missing (it serialises writers).",
                hint=f"Insert it again: INSERT INTO mlrig_store (id, kind) VALUES "
                f"({schema.STORE_ROW_ID}, '{schema.STORE_KIND}')",
            )

    # -- errors ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn database errors into one-line StoreErrors naming the (masked) URL."""
        try:
            yield
        except MlrigError:
            raise
        except sa_exc.DBAPIError as exc:
            raise self._translate(action, exc) from None

    def _translate(self, action: str, exc: sa_exc.DBAPIError) -> StoreError:
        cause = _cause(exc, self._secrets, self.masked_url)
        lowered = cause.lower()
        if exc.statement is None or exc.connection_invalidated:
            action = "connect to"
        if "database is locked" in lowered or "lock timeout" in lowered or (
                "lock wait timeout" in lowered):
            return LockTimeoutError(
                f"Cannot {action} the SQL store at {self.masked_url}: another process held "
                f"it for more than {DEFAULT_LOCK_TIMEOUT:.0f}s ({cause.rstrip('.?!')}).",
                hint="Try again; MLRIG_LOCK_TIMEOUT sets how long to wait.",
            )
        return StoreError(f"Cannot {action} the SQL store at {self.masked_url}: {cause}",
                          hint=sql_shared.hint(lowered),
                          library_hint=sql_shared.hint(lowered, library=True))


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


# ---------------------------------------------------------------------- views


def _dump_config(config: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(config), sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"A component configuration cannot be stored as JSON ({exc}).") \
            from None


def _type(value: str, where: str) -> ComponentType:
    try:
        return ComponentType(value)
    except ValueError:
        raise StoreError(
            f"The SQL store at {where} holds the unknown component type '{value}' "
            "(written by a newer mlrig?)."
        ) from None


class SqlView:
    """Reads inside one database transaction."""

    def __init__(self, conn: sa.Connection, where: str) -> None:
        self._conn = conn
        self._where = where

    @property
    def connection(self) -> sa.Connection:
        """The database connection of this transaction, for rows that must commit (or roll
        back) with the store's own: the server's audit records."""
        return self._conn

    def _component(self, row: Any) -> Component:
        return Component(
            type=_type(row.type, self._where), name=row.name, flavor=row.flavor,
            config=sql_shared.load_config(row.config, self._where), id=row.id,
        )

    # components
    def get_component(self, type_: ComponentType, name: str) -> Component | None:
        row = self._conn.execute(
            sa.select(schema.components).where(_C.type == type_.value, _C.name == name)
        ).first()
        return None if row is None else self._component(row)

    def list_components(self, type_: ComponentType | None = None) -> list[Component]:
        query = sa.select(schema.components)
        if type_ is not None:
            query = query.where(_C.type == type_.value)
        found = [self._component(row) for row in self._conn.execute(query)]
        return sorted(found, key=lambda c: (_TYPE_ORDER[c.type], c.name))

    def _name_order(self, column: Any) -> Any:
        """A name column compared by code point, as the other stores sort names (SQLite's
        BINARY and MariaDB's utf8mb4_bin already do; PostgreSQL follows the database's
        collation unless told)."""
        return column.collate("C") if self._conn.dialect.name == "postgresql" else column

    def _name_contains(self, column: Any, part: str) -> Any:
        if self._conn.dialect.name == "sqlite":  # its LIKE ignores ASCII case
            return sa.func.instr(column, part) > 0
        return column.contains(part, autoescape=True)

    def page_components(self, type_: ComponentType | None = None, *,
                        after: tuple[ComponentType, str] | None = None, limit: int,
                        name_contains: str | None = None, flavor: str | None = None
                        ) -> list[Component]:
        # one query with LIMIT per type drawn from, on the (type, name) unique index
        paging.check_limit(limit)
        result: list[Component] = []
        name = self._name_order(_C.name)
        for t, start in paging.types_from(type_, after):
            query = sa.select(schema.components).where(_C.type == t.value)
            if start is not None:
                query = query.where(name > start)
            if name_contains is not None:
                query = query.where(self._name_contains(_C.name, name_contains))
            if flavor is not None:
                query = query.where(_C.flavor == flavor)
            query = query.order_by(name).limit(limit - len(result))
            result.extend(self._component(row) for row in self._conn.execute(query))
            if len(result) == limit:
                break
        return result

    def _component_id(self, type_: ComponentType, name: str) -> str | None:
        return self._conn.execute(
            sa.select(_C.id).where(_C.type == type_.value, _C.name == name)
        ).scalar()

    # stacks
    def _stack_id(self, name: str) -> int | None:
        return self._conn.execute(sa.select(_S.id).where(_S.name == name)).scalar()

    def get_stack(self, name: str) -> Stack | None:
        stack_id = self._stack_id(name)
        if stack_id is None:
            return None
        rows = self._conn.execute(
            sa.select(_SC.type, _C.name)
            .join(schema.components, _C.id == _SC.component_id)
            .where(_SC.stack_id == stack_id)
        )
        return Stack(name, {_type(t, self._where): n for t, n in rows})

    def list_stacks(self) -> list[Stack]:
        rows = self._conn.execute(
            sa.select(_S.name, _SC.type, _C.name.label("component"))
            .select_from(schema.stacks)
            .outerjoin(schema.stack_components, _SC.stack_id == _S.id)
            .outerjoin(schema.components, _C.id == _SC.component_id)
        )
        stacks: dict[str, Stack] = {}
        for name, type_, component in rows:
            stack = stacks.setdefault(name, Stack(name, {}))
            if type_ is not None:
                stack.components[_type(type_, self._where)] = component
        return [stacks[name] for name in sorted(stacks)]

    def page_stacks(self, *, after: str | None = None, limit: int,
                    name_contains: str | None = None) -> list[Stack]:
        # the page's stacks (LIMIT on the name index), joined with their components
        paging.check_limit(limit)
        name = self._name_order(_S.name)
        chosen = sa.select(_S.id, _S.name)
        if after is not None:
            chosen = chosen.where(name > after)
        if name_contains is not None:
            chosen = chosen.where(self._name_contains(_S.name, name_contains))
        page = chosen.order_by(name).limit(limit).subquery()
        rows = self._conn.execute(
            sa.select(page.c.name, _SC.type, _C.name.label("component"))
            .select_from(page)
            .outerjoin(schema.stack_components, _SC.stack_id == page.c.id)
            .outerjoin(schema.components, _C.id == _SC.component_id)
        )
        stacks: dict[str, Stack] = {}
        for stack_name, type_, component in rows:
            stack = stacks.setdefault(stack_name, Stack(stack_name, {}))
            if type_ is not None:
                stack.components[_type(type_, self._where)] = component
        return [stacks[n] for n in sorted(stacks)]

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]:
        rows = self._conn.execute(
            sa.select(_S.name)
            .join(schema.stack_components, _SC.stack_id == _S.id)
            .join(schema.components, _C.id == _SC.component_id)
            .where(_C.type == type_.value, _C.name == name)
        ).scalars()
        return sorted(rows)

    # flavors
    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]:
        query = sa.select(_F.type, _F.name, _F.source)
        if type_ is not None:
            query = query.where(_F.type == type_.value)
        found = [FlavorRecord(_type(t, self._where), n, s) for t, n, s in
                 self._conn.execute(query)]
        return sorted(found, key=lambda f: (_TYPE_ORDER[f.type], f.name))


class SqlTransaction(SqlView):
    """Writes inside the one transaction of ``store.write()``; reads see them.

    Each insert or update runs in a savepoint, so that a constraint violation (a race the
    checks could not see) becomes the usual error and leaves the transaction usable.
    """

    def _try(self, statement: Any) -> sa_exc.IntegrityError | None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(statement)
        except sa_exc.IntegrityError as exc:
            return exc
        return None

    def _insert_stack_components(self, stack_id: int, stack: Stack) -> None:
        rows = []
        for type_, name in stack.components.items():
            component_id = self._component_id(type_, name)
            if component_id is None:  # checked before; guards against races all the same
                integrity.check_stack_references(self, stack)
            rows.append({"stack_id": stack_id, "type": type_.value,
                         "component_id": component_id})
        if rows:
            self._conn.execute(sa.insert(schema.stack_components), rows)

    # components
    def create_component(self, component: Component) -> None:
        now = _now()
        error = self._try(sa.insert(schema.components).values(
            id=component.id, type=component.type.value, name=component.name,
            flavor=component.flavor, config=_dump_config(component.config),
            created_at=now, updated_at=now,
        ))
        if error is None:
            return
        if self.get_component(component.type, component.name) is not None:
            raise integrity.component_exists_error(component.type, component.name)
        if self._conn.execute(sa.select(_C.name).where(_C.id == component.id)).first():
            raise StoreError(f"A component with the id '{component.id}' already exists in the "
                             f"store at {self._where}.")
        raise error

    def update_component(self, component: Component, old_name: str | None = None) -> None:
        old = old_name or component.name
        current_id = self._component_id(component.type, old)
        if current_id is None:
            raise integrity.component_missing_error(component.type, old)
        if old != component.name and self._component_id(component.type, component.name):
            raise integrity.component_exists_error(component.type, component.name)
        error = self._try(
            sa.update(schema.components).where(_C.id == current_id).values(
                id=component.id, name=component.name, flavor=component.flavor,
                config=_dump_config(component.config), updated_at=_now(),
            )
        )
        if error is None:
            return
        if old != component.name and self._component_id(component.type, component.name):
            raise integrity.component_exists_error(component.type, component.name)
        raise error

    def delete_component(self, type_: ComponentType, name: str) -> None:
        component_id = self._component_id(type_, name)
        if component_id is None:
            raise integrity.component_missing_error(type_, name)
        integrity.check_component_unused(self, type_, name)
        error = self._try(sa.delete(schema.components).where(_C.id == component_id))
        if error is not None:
            integrity.check_component_unused(self, type_, name)
            raise error

    # stacks
    def create_stack(self, stack: Stack) -> None:
        if self._stack_id(stack.name) is not None:
            raise integrity.stack_exists_error(stack.name)
        integrity.check_stack_references(self, stack)
        now = _now()
        try:
            with self._conn.begin_nested():
                self._conn.execute(sa.insert(schema.stacks).values(
                    name=stack.name, created_at=now, updated_at=now))
                stack_id = self._stack_id(stack.name)
                assert stack_id is not None
                self._insert_stack_components(stack_id, stack)
        except sa_exc.IntegrityError:
            if self._stack_id(stack.name) is not None:
                raise integrity.stack_exists_error(stack.name) from None
            integrity.check_stack_references(self, stack)
            raise

    def update_stack(self, stack: Stack, old_name: str | None = None) -> None:
        old = old_name or stack.name
        stack_id = self._stack_id(old)
        if stack_id is None:
            raise integrity.stack_missing_error(old)
        if old != stack.name and self._stack_id(stack.name) is not None:
            raise integrity.stack_exists_error(stack.name)
        integrity.check_stack_references(self, stack)
        try:
            with self._conn.begin_nested():
                self._conn.execute(sa.update(schema.stacks).where(_S.id == stack_id)
                                   .values(name=stack.name, updated_at=_now()))
                self._conn.execute(sa.delete(schema.stack_components)
                                   .where(_SC.stack_id == stack_id))
                self._insert_stack_components(stack_id, stack)
        except sa_exc.IntegrityError:
            if old != stack.name and self._stack_id(stack.name) is not None:
                raise integrity.stack_exists_error(stack.name) from None
            integrity.check_stack_references(self, stack)
            raise

    def delete_stack(self, name: str) -> None:
        stack_id = self._stack_id(name)
        if stack_id is None:
            raise integrity.stack_missing_error(name)
        self._conn.execute(sa.delete(schema.stack_components).where(_SC.stack_id == stack_id))
        self._conn.execute(sa.delete(schema.stacks).where(_S.id == stack_id))

    # flavors
    def create_flavor(self, flavor: FlavorRecord) -> None:
        error = self._try(sa.insert(schema.flavors).values(
            type=flavor.type.value, name=flavor.name, source=flavor.source, created_at=_now()))
        if error is None:
            return
        if any(f.name == flavor.name for f in self.list_flavors(flavor.type)):
            raise integrity.flavor_exists_error(flavor)
        raise error

    def delete_flavor(self, type_: ComponentType, name: str) -> None:
        result = self._conn.execute(
            sa.delete(schema.flavors).where(_F.type == type_.value, _F.name == name))
        if result.rowcount == 0:
            raise integrity.flavor_missing_error(type_, name)
