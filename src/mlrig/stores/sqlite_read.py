"""A SQLite profile read with the standard library's ``sqlite3``, without SQLAlchemy.

Importing SQLAlchemy costs a SQLite command several times what its queries do; most
commands only read. :class:`SqliteStore` (what :meth:`SqlBackend.open
<mlrig.stores.sql_backend.SqlBackend.open>` gives for a SQLite file) reads with ``sqlite3``
when the database is the plain case — the file exists, this user can write it (so it is in
WAL mode, as every read of :class:`~mlrig.stores.sql.SqlStore` leaves it), and its schema is
the head revision — with the same transaction (a deferred ``BEGIN`` on a connection with
the busy timeout and foreign keys on), the same queries and the same errors as the
SQLAlchemy store. Everything else — a write (``BEGIN IMMEDIATE``), a missing, read-only or
older database (an upgrade), creating or removing the store — is done by
:class:`~mlrig.stores.sql.SqlStore`, loaded then.
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
from mlrig.models import Component, ComponentType, FlavorRecord, Stack
from mlrig.stores import mask_url, paging, sql_shared

if TYPE_CHECKING:
    from mlrig.events import Listener
    from mlrig.stores.base import StoreTransaction, StoreView
    from mlrig.stores.sql import SqlStore

#: mlrig.stores.sql_schema.HEAD and VERSION_TABLE (that module loads SQLAlchemy; a test
#: keeps these equal): a database at another revision is left to the SQLAlchemy store
HEAD = "0003_name_order"
VERSION_TABLE = "mlrig_alembic_version"
_TYPE_ORDER = {t: i for i, t in enumerate(ComponentType)}
_COMPONENT = "SELECT id, type, name, flavor, config FROM mlrig_components"


class SqliteStore:
    """A SQLite store: reads through ``sqlite3`` when it can, the rest through
    :class:`~mlrig.stores.sql.SqlStore` (see the module docstring)."""

    type = "sql"

    def __init__(self, url: str, path: Path, *, options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, events: Listener | None = None
                 ) -> None:
        self.url = url
        self.path = path
        self.masked_url = mask_url(url)
        self._options = dict(options or {})
        self._env = env
        self._events = events
        self._full: SqlStore | None = None
        self._checked = False

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

    # -- what the SQLAlchemy store does ----------------------------------------------------
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

    @contextlib.contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with self.full().write() as txn:
            yield txn

    def close(self) -> None:
        if self._full is not None:
            self._full.close()

    # -- reads -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[StoreView]:
        with self.plain_read() as plain:
            if plain is not None:
                yield plain
                return
        with self.full().read() as view:
            yield view

    @contextlib.contextmanager
    def plain_read(self) -> Iterator[SqliteView | None]:
        """A read through sqlite3 if the database is the plain case, else ``None`` (for a
        caller that must neither load SQLAlchemy nor upgrade anything: ``mlrig status``)."""
        conn = self._connect()
        if conn is None:
            yield None
            return
        try:
            with self._errors("read"):
                conn.execute("BEGIN")
            yield SqliteView(conn, self.masked_url, self._errors)
            with self._errors("read"):
                conn.execute("COMMIT")
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection | None:
        """A connection for a read at the head schema; ``None``: the full store reads."""
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
            if not wal or (not self._checked and _revision(conn) != HEAD):
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


def _revision(conn: sqlite3.Connection) -> str | None:
    """mlrig.stores.sql._revision, in sqlite3."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (VERSION_TABLE,)).fetchone() is None:
        return None
    rows = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    if not rows:
        return None
    return ",".join(sorted(str(r[0]) for r in rows))


def _type(value: str, where: str) -> ComponentType:
    try:
        return ComponentType(value)
    except ValueError:
        raise StoreError(
            f"The SQL store at {where} holds the unknown component type '{value}' "
            "(written by a newer mlrig?)."
        ) from None


class SqliteView:
    """The reads of :class:`mlrig.stores.sql.SqlView`, in sqlite3, inside one transaction."""

    def __init__(self, conn: sqlite3.Connection, where: str,
                 errors: Any) -> None:
        self._conn = conn
        self._where = where
        self._errors = errors

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._errors("read"):
            return self._conn.execute(sql, params).fetchall()

    def _component(self, row: Any) -> Component:
        id_, type_, name, flavor, config = row
        return Component(type=_type(type_, self._where), name=name, flavor=flavor,
                         config=sql_shared.load_config(config, self._where), id=id_)

    # components
    def get_component(self, type_: ComponentType, name: str) -> Component | None:
        rows = self._rows(f"{_COMPONENT} WHERE type = ? AND name = ?", (type_.value, name))
        return self._component(rows[0]) if rows else None

    def list_components(self, type_: ComponentType | None = None) -> list[Component]:
        if type_ is None:
            rows = self._rows(_COMPONENT)
        else:
            rows = self._rows(f"{_COMPONENT} WHERE type = ?", (type_.value,))
        found = [self._component(row) for row in rows]
        return sorted(found, key=lambda c: (_TYPE_ORDER[c.type], c.name))

    def page_components(self, type_: ComponentType | None = None, *,
                        after: tuple[ComponentType, str] | None = None, limit: int,
                        name_contains: str | None = None, flavor: str | None = None
                        ) -> list[Component]:
        paging.check_limit(limit)
        result: list[Component] = []
        for t, start in paging.types_from(type_, after):
            where, params = ["type = ?"], [t.value]
            if start is not None:
                where.append("name > ?")
                params.append(start)
            if name_contains is not None:
                where.append("instr(name, ?) > 0")
                params.append(name_contains)
            if flavor is not None:
                where.append("flavor = ?")
                params.append(flavor)
            rows = self._rows(f"{_COMPONENT} WHERE {' AND '.join(where)} ORDER BY name "
                              "LIMIT ?", (*params, limit - len(result)))
            result.extend(self._component(row) for row in rows)
            if len(result) == limit:
                break
        return result

    # stacks
    def get_stack(self, name: str) -> Stack | None:
        ids = self._rows("SELECT id FROM mlrig_stacks WHERE name = ?", (name,))
        if not ids:
            return None
        rows = self._rows(
            "SELECT sc.type, c.name FROM mlrig_stack_components AS sc JOIN mlrig_components "
            "AS c ON c.id = sc.component_id WHERE sc.stack_id = ?", (ids[0][0],))
        return Stack(name, {_type(t, self._where): n for t, n in rows})

    def _stacks(self, rows: list[Any]) -> list[Stack]:
        stacks: dict[str, Stack] = {}
        for name, type_, component in rows:
            stack = stacks.setdefault(name, Stack(name, {}))
            if type_ is not None:
                stack.components[_type(type_, self._where)] = component
        return [stacks[name] for name in sorted(stacks)]

    def list_stacks(self) -> list[Stack]:
        return self._stacks(self._rows(
            "SELECT s.name, sc.type, c.name FROM mlrig_stacks AS s "
            "LEFT OUTER JOIN mlrig_stack_components AS sc ON sc.stack_id = s.id "
            "LEFT OUTER JOIN mlrig_components AS c ON c.id = sc.component_id"))

    def page_stacks(self, *, after: str | None = None, limit: int,
                    name_contains: str | None = None) -> list[Stack]:
        paging.check_limit(limit)
        where: list[str] = []
        params: list[Any] = []
        if after is not None:
            where.append("name > ?")
            params.append(after)
        if name_contains is not None:
            where.append("instr(name, ?) > 0")
            params.append(name_contains)
        chosen = ("SELECT id, name FROM mlrig_stacks"
                  + (f" WHERE {' AND '.join(where)}" if where else "")
                  + " ORDER BY name LIMIT ?")
        return self._stacks(self._rows(
            f"SELECT page.name, sc.type, c.name FROM ({chosen}) AS page "
            "LEFT OUTER JOIN mlrig_stack_components AS sc ON sc.stack_id = page.id "
            "LEFT OUTER JOIN mlrig_components AS c ON c.id = sc.component_id",
            (*params, limit)))

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]:
        rows = self._rows(
            "SELECT s.name FROM mlrig_stacks AS s JOIN mlrig_stack_components AS sc "
            "ON sc.stack_id = s.id JOIN mlrig_components AS c ON c.id = sc.component_id "
            "WHERE c.type = ? AND c.name = ?", (type_.value, name))
        return sorted(r[0] for r in rows)

    # flavors
    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]:
        if type_ is None:
            rows = self._rows("SELECT type, name, source FROM mlrig_flavors")
        else:
            rows = self._rows("SELECT type, name, source FROM mlrig_flavors WHERE type = ?",
                              (type_.value,))
        found = [FlavorRecord(_type(t, self._where), n, s) for t, n, s in rows]
        return sorted(found, key=lambda f: (_TYPE_ORDER[f.type], f.name))
