"""The store contract's reads and writes in plain SQL over a DB-API connection, once for
every SQL database (SQLite, PostgreSQL, MySQL/MariaDB).

:class:`PlainView` and :class:`PlainTransaction` run inside a transaction their caller
opened (a deferred ``BEGIN`` or ``BEGIN IMMEDIATE`` on SQLite, REPEATABLE READ or READ
COMMITTED plus the writers' row lock elsewhere). They are used by the SQL stores that load
no SQLAlchemy (:mod:`mlrig.stores.sql_fast`) and by :class:`~mlrig.stores.sql.SqlStore`,
over the DB-API connection under its SQLAlchemy connection, so that a database written by
one reads identically through the other. What differs between databases is in
:class:`Dialect`: the placeholder style, how a name is searched for, the order names are
compared in and how a timestamp is stored. The statements are written with ``?``
placeholders, rewritten to ``%s`` for drivers in the ``format``/``pyformat`` style; none
of them holds a literal ``%``.

This module imports no database library: the caller hands in the driver's
``IntegrityError``. Errors other than that one propagate as the driver raised them; the
store turns them into one-line :class:`~mlrig.exceptions.StoreError` s around its
transaction.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mlrig.exceptions import StoreError
from mlrig.stores import sql_shared

if TYPE_CHECKING:
    from mlrig.models import Component, ComponentType, FlavorRecord, Stack
    from mlrig.stores import integrity, paging
else:

    class _OnFirstUse:
        """A module imported when one of its names is first used: the integrity checks
        and the paging rules (and the records they import) only for the writes and the
        pages that need them, not for ``mlrig status``'s one lookup."""

        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attribute: str) -> Any:
            import importlib

            return getattr(importlib.import_module(self._name), attribute)

    integrity = _OnFirstUse("mlrig.stores.integrity")
    paging = _OnFirstUse("mlrig.stores.paging")

#: the Alembic revision of the schema these statements are written for and its version
#: table (equal to mlrig.stores.sql_schema.HEAD and VERSION_TABLE, which load SQLAlchemy;
#: a test keeps them equal)
HEAD = "0003_name_order"
VERSION_TABLE = "mlrig_alembic_version"
#: the single row whose lock serialises writers on PostgreSQL and MySQL (sql_schema)
STORE_ROW_ID = 1
STORE_KIND = "mlrig-sql-store"

#: the component types' order, filled on first use (see _models)
_TYPE_ORDER: dict[ComponentType, int] = {}
_COMPONENT = "SELECT id, type, name, flavor, config FROM mlrig_components"
_SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime stores


class Dialect:
    """How one database (``sqlite``, ``postgresql`` or ``mysql``, MariaDB included) and
    its driver differ in the statements of this module."""

    def __init__(self, name: str, integrity_error: type[BaseException],
                 paramstyle: str = "qmark") -> None:
        if name == "mariadb":
            name = "mysql"
        if name not in ("sqlite", "postgresql", "mysql"):
            raise ValueError(f"no plain-SQL dialect for {name!r}")
        self.name = name
        self.integrity_error = integrity_error
        self._format = paramstyle in ("format", "pyformat")

    def sql(self, statement: str) -> str:
        """The statement in the driver's placeholder style."""
        return statement.replace("?", "%s") if self._format else statement

    def contains(self, column: str) -> str:
        """A condition: ``column`` contains the parameter, compared by code point (SQLite's
        LIKE ignores ASCII case; MySQL's columns are utf8mb4_bin)."""
        if self.name == "sqlite":
            return f"instr({column}, ?) > 0"
        if self.name == "postgresql":
            return f"strpos({column}, ?) > 0"
        return f"LOCATE(?, {column}) > 0"

    def ordered(self, column: str) -> str:
        """A name column compared by code point, as the other stores sort names (SQLite's
        BINARY and MariaDB's utf8mb4_bin already do; PostgreSQL follows the database's
        collation unless told)."""
        return f'{column} COLLATE "C"' if self.name == "postgresql" else column

    def now(self) -> Any:
        """The current time as SQLAlchemy's ``DateTime(timezone=True)`` stores it: UTC text
        with microseconds on SQLite, a timezone-aware value for the other drivers."""
        now = datetime.datetime.now(datetime.timezone.utc)
        return now.strftime(_SQLITE_TIMESTAMP) if self.name == "sqlite" else now


def revision(conn: Any, dialect: Dialect) -> str | None:
    """The Alembic revision of the database (``None``: no mlrig store there), in the
    caller's transaction; mlrig.stores.sql._revision without SQLAlchemy's inspector."""
    if dialect.name == "sqlite":
        found = fetch(conn, dialect, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = ?", (VERSION_TABLE,))
    elif dialect.name == "postgresql":
        found = fetch(conn, dialect, "SELECT 1 WHERE to_regclass(?) IS NOT NULL",
                       (VERSION_TABLE,))
    else:
        found = fetch(conn, dialect, "SELECT 1 FROM information_schema.tables WHERE "
                       "table_schema = DATABASE() AND table_name = ?", (VERSION_TABLE,))
    if not found:
        return None
    rows = fetch(conn, dialect, f"SELECT version_num FROM {VERSION_TABLE}", ())
    if not rows:
        return None
    return ",".join(sorted(str(r[0]) for r in rows))


def lock_writers(conn: Any, dialect: Dialect, where: str, timeout: float) -> None:
    """Serialise this write transaction against every other writer of the store: the row
    lock of ``mlrig_store`` on PostgreSQL/MySQL (waiting at most ``timeout`` seconds);
    SQLite's ``BEGIN IMMEDIATE`` already holds the database's write lock."""
    if dialect.name == "sqlite":
        return
    # never 0: PostgreSQL reads lock_timeout 0 as "wait forever", MySQL's minimum is 1 s
    if dialect.name == "postgresql":
        millis = max(1, round(timeout * 1000))
        fetch(conn, dialect, f"SET LOCAL lock_timeout = '{millis}ms'", None)
    else:
        seconds = max(1, -int(-timeout // 1))
        fetch(conn, dialect, f"SET SESSION innodb_lock_wait_timeout = {seconds}", None)
    rows = fetch(conn, dialect, "SELECT id FROM mlrig_store WHERE id = ? FOR UPDATE",
                  (STORE_ROW_ID,))
    if not rows:
        raise StoreError(
            f"The SQL store at {where} is damaged: its row in the table mlrig_store is "
            "missing (it serialises writers).",
            hint=f"Insert it again: INSERT INTO mlrig_store (id, kind) VALUES "
            f"({STORE_ROW_ID}, '{STORE_KIND}')",
        )


def fetch(conn: Any, dialect: Dialect, statement: str,
          params: Sequence[Any] | None) -> list[Any]:
    """The rows of one statement on ``conn`` (``params`` ``None``: a statement without
    placeholders, sent as it is)."""
    cursor = conn.cursor()
    try:
        if params is None:
            cursor.execute(statement)
        else:
            cursor.execute(dialect.sql(statement), tuple(params))
        return list(cursor.fetchall()) if cursor.description is not None else []
    finally:
        cursor.close()


def _models() -> Any:
    """:mod:`mlrig.models`, imported when a record is first built: ``mlrig status`` asks
    only whether a stack exists, without the records' dataclasses."""
    from mlrig import models

    if not _TYPE_ORDER:
        _TYPE_ORDER.update({t: i for i, t in enumerate(models.ComponentType)})
    return models


def _type(value: str, where: str) -> ComponentType:
    try:
        return _models().ComponentType(value)  # type: ignore[no-any-return]
    except ValueError:
        raise StoreError(
            f"The SQL store at {where} holds the unknown component type '{value}' "
            "(written by a newer mlrig?)."
        ) from None


def _dump_config(config: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(config), sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"A component configuration cannot be stored as JSON ({exc}).") \
            from None


class PlainView:
    """The store's reads inside one database transaction of ``conn`` (a DB-API
    connection)."""

    def __init__(self, conn: Any, dialect: Dialect, where: str) -> None:
        self._conn = conn
        self._dialect = dialect
        self._where = where

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        return fetch(self._conn, self._dialect, statement, params)

    def execute_many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``statement`` (``?`` placeholders) once per row in this transaction: rows of
        the caller's own tables that commit or roll back with the store's (the server's
        audit records)."""
        if not rows:
            return
        cursor = self._conn.cursor()
        try:
            cursor.executemany(self._dialect.sql(statement), [tuple(r) for r in rows])
        finally:
            cursor.close()

    def _component(self, row: Any) -> Component:
        id_, type_, name, flavor, config = row
        return _models().Component(  # type: ignore[no-any-return]
            type=_type(type_, self._where), name=name, flavor=flavor,
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
        # one query with LIMIT per type drawn from, on the (type, name) unique index
        paging.check_limit(limit)
        name = self._dialect.ordered("name")
        result: list[Component] = []
        for t, start in paging.types_from(type_, after):
            where, params = self._page_filter(start, name_contains)
            where.insert(0, "type = ?")
            params.insert(0, t.value)
            if flavor is not None:
                where.append("flavor = ?")
                params.append(flavor)
            rows = self._rows(f"{_COMPONENT} WHERE {' AND '.join(where)} ORDER BY {name} "
                              "LIMIT ?", (*params, limit - len(result)))
            result.extend(self._component(row) for row in rows)
            if len(result) == limit:
                break
        return result

    def _page_filter(self, after: str | None, name_contains: str | None
                     ) -> tuple[list[str], list[Any]]:
        """The conditions (and their parameters) of a page: names after the cursor, names
        containing a part."""
        where: list[str] = []
        params: list[Any] = []
        if after is not None:
            where.append(f"{self._dialect.ordered('name')} > ?")
            params.append(after)
        if name_contains is not None:
            where.append(self._dialect.contains("name"))
            params.append(name_contains)
        return where, params

    def _component_id(self, type_: ComponentType, name: str) -> str | None:
        rows = self._rows("SELECT id FROM mlrig_components WHERE type = ? AND name = ?",
                          (type_.value, name))
        return str(rows[0][0]) if rows else None

    # stacks
    def _stack_id(self, name: str) -> int | None:
        rows = self._rows("SELECT id FROM mlrig_stacks WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else None

    def get_stack(self, name: str) -> Stack | None:
        stack_id = self._stack_id(name)
        if stack_id is None:
            return None
        rows = self._rows(
            "SELECT sc.type, c.name FROM mlrig_stack_components AS sc JOIN mlrig_components "
            "AS c ON c.id = sc.component_id WHERE sc.stack_id = ?", (stack_id,))
        return _models().Stack(  # type: ignore[no-any-return]
            name, {_type(t, self._where): n for t, n in rows})

    def has_stack(self, name: str) -> bool:
        """Whether the store holds the stack ``name`` (no record built)."""
        return self._stack_id(name) is not None

    def _stacks(self, rows: list[Any]) -> list[Stack]:
        stacks: dict[str, Stack] = {}
        for name, type_, component in rows:
            stack = stacks.setdefault(name, _models().Stack(name, {}))
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
        # the page's stacks (LIMIT on the name index), joined with their components
        paging.check_limit(limit)
        name = self._dialect.ordered("name")
        where, params = self._page_filter(after, name_contains)
        chosen = ("SELECT id, name FROM mlrig_stacks"
                  + (f" WHERE {' AND '.join(where)}" if where else "")
                  + f" ORDER BY {name} LIMIT ?")
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
        record = _models().FlavorRecord
        found = [record(_type(t, self._where), n, s) for t, n, s in rows]
        return sorted(found, key=lambda f: (_TYPE_ORDER[f.type], f.name))


class PlainTransaction(PlainView):
    """Writes inside the one transaction of ``store.write()``; reads see them.

    Each insert or update runs in a savepoint, so that a constraint violation (a race the
    checks could not see) becomes the usual error and leaves the transaction usable.
    """

    _savepoints = 0

    def _run(self, statement: str, params: Sequence[Any] = ()) -> int:
        cursor = self._conn.cursor()
        try:
            cursor.execute(self._dialect.sql(statement), tuple(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """The statements inside as one savepoint: rolled back to it (and the driver's
        error raised) when one of them breaks a constraint."""
        self._savepoints += 1
        name = f"mlrig_sp_{self._savepoints}"
        fetch(self._conn, self._dialect, f"SAVEPOINT {name}", None)
        try:
            yield
        except self._dialect.integrity_error:
            fetch(self._conn, self._dialect, f"ROLLBACK TO SAVEPOINT {name}", None)
            fetch(self._conn, self._dialect, f"RELEASE SAVEPOINT {name}", None)
            raise
        fetch(self._conn, self._dialect, f"RELEASE SAVEPOINT {name}", None)

    def _try(self, statement: str, params: Sequence[Any]) -> BaseException | None:
        try:
            with self._savepoint():
                self._run(statement, params)
        except self._dialect.integrity_error as exc:
            return exc
        return None

    def _insert_stack_components(self, stack_id: int, stack: Stack) -> None:
        rows = []
        for type_, name in stack.components.items():
            component_id = self._component_id(type_, name)
            if component_id is None:  # checked before; guards against races all the same
                integrity.check_stack_references(self, stack)
            rows.append((stack_id, type_.value, component_id))
        self.execute_many("INSERT INTO mlrig_stack_components (stack_id, type, component_id) "
                          "VALUES (?, ?, ?)", rows)

    # components
    def create_component(self, component: Component) -> None:
        now = self._dialect.now()
        error = self._try(
            "INSERT INTO mlrig_components (id, type, name, flavor, config, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (component.id, component.type.value, component.name, component.flavor,
             _dump_config(component.config), now, now))
        if error is None:
            return
        if self.get_component(component.type, component.name) is not None:
            raise integrity.component_exists_error(component.type, component.name)
        if self._rows("SELECT name FROM mlrig_components WHERE id = ?", (component.id,)):
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
            "UPDATE mlrig_components SET id = ?, name = ?, flavor = ?, config = ?, "
            "updated_at = ? WHERE id = ?",
            (component.id, component.name, component.flavor, _dump_config(component.config),
             self._dialect.now(), current_id))
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
        error = self._try("DELETE FROM mlrig_components WHERE id = ?", (component_id,))
        if error is not None:
            integrity.check_component_unused(self, type_, name)
            raise error

    # stacks
    def create_stack(self, stack: Stack) -> None:
        if self._stack_id(stack.name) is not None:
            raise integrity.stack_exists_error(stack.name)
        integrity.check_stack_references(self, stack)
        now = self._dialect.now()
        try:
            with self._savepoint():
                self._run("INSERT INTO mlrig_stacks (name, created_at, updated_at) "
                          "VALUES (?, ?, ?)", (stack.name, now, now))
                stack_id = self._stack_id(stack.name)
                assert stack_id is not None
                self._insert_stack_components(stack_id, stack)
        except self._dialect.integrity_error:
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
            with self._savepoint():
                self._run("UPDATE mlrig_stacks SET name = ?, updated_at = ? WHERE id = ?",
                          (stack.name, self._dialect.now(), stack_id))
                self._run("DELETE FROM mlrig_stack_components WHERE stack_id = ?",
                          (stack_id,))
                self._insert_stack_components(stack_id, stack)
        except self._dialect.integrity_error:
            if old != stack.name and self._stack_id(stack.name) is not None:
                raise integrity.stack_exists_error(stack.name) from None
            integrity.check_stack_references(self, stack)
            raise

    def delete_stack(self, name: str) -> None:
        stack_id = self._stack_id(name)
        if stack_id is None:
            raise integrity.stack_missing_error(name)
        self._run("DELETE FROM mlrig_stack_components WHERE stack_id = ?", (stack_id,))
        self._run("DELETE FROM mlrig_stacks WHERE id = ?", (stack_id,))

    # flavors
    def create_flavor(self, flavor: FlavorRecord) -> None:
        error = self._try(
            "INSERT INTO mlrig_flavors (type, name, source, created_at) VALUES (?, ?, ?, ?)",
            (flavor.type.value, flavor.name, flavor.source, self._dialect.now()))
        if error is None:
            return
        if any(f.name == flavor.name for f in self.list_flavors(flavor.type)):
            raise integrity.flavor_exists_error(flavor)
        raise error

    def delete_flavor(self, type_: ComponentType, name: str) -> None:
        deleted = self._run("DELETE FROM mlrig_flavors WHERE type = ? AND name = ?",
                            (type_.value, name))
        if deleted == 0:
            raise integrity.flavor_missing_error(type_, name)
