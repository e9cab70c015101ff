"""SQL-store behaviour beyond the shared contract: files and modes, attach, transactions
across connections, constraint races, error messages, credentials."""

from __future__ import annotations

import datetime
import os
import re
import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mlrig.exceptions import AlreadyExistsError, NotFoundError, StoreError
from mlrig.models import Component, ComponentType, FlavorRecord, Stack
from mlrig.stores import integrity
from mlrig.stores.sql import SqlStore
from mlrig.stores.sql_schema import HEAD, VERSION_TABLE
from mlrig.testing.sql import password_of, with_password

O, M, A = ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE, ComponentType.ARTIFACT_STORE


def new_store(url: str, **kwargs: object) -> SqlStore:
    store = SqlStore(url, **kwargs)  # type: ignore[arg-type]
    store.initialize()
    return store


def basic(store: SqlStore) -> None:
    with store.write() as txn:
        txn.create_component(Component(O, "o", "local"))
        txn.create_component(Component(M, "m", "sqlite", {"uri": "/m.db"}))
        txn.create_component(Component(A, "a", "local", {"path": "/a"}))
        txn.create_stack(Stack("s", {O: "o", M: "m", A: "a"}))


# ---------------------------------------------------------------- SQLite files


def test_sqlite_file_and_directory_are_private_and_in_wal_mode(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    path = store.sqlite_file
    assert path is not None
    assert not store.is_initialized()
    assert not path.exists() and not path.parent.exists()  # asking created nothing
    store.initialize()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with store.read() as view:
        mode = view._rows("PRAGMA journal_mode")[0][0]
        timeout = view._rows("PRAGMA busy_timeout")[0][0]
    assert mode == "wal"
    assert timeout is not None and int(timeout) >= 1000
    store.close()


def test_store_on_a_missing_sqlite_file_is_reported(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    with pytest.raises(StoreError, match="does not exist"), store.read():
        pass
    assert store.sqlite_file is not None and not store.sqlite_file.exists()


def test_destroy_removes_the_sqlite_files(sqlite_url: str) -> None:
    store = new_store(sqlite_url)
    basic(store)
    store.destroy()
    assert store.sqlite_file is not None
    assert list(store.sqlite_file.parent.iterdir()) == []


# ---------------------------------------------------------------- both backends


def test_initialize_is_idempotent_and_stamps_head(any_url: str) -> None:
    store = new_store(any_url)
    basic(store)
    store.initialize()
    again = SqlStore(any_url)
    assert again.is_initialized()
    again.initialize()
    with again.read() as view:
        assert view.get_stack("s") is not None
        assert view._rows(f"SELECT version_num FROM {VERSION_TABLE}") == [(HEAD,)]
    store.close()
    again.close()


def test_an_empty_database_is_not_an_initialised_store(any_url: str) -> None:
    store = SqlStore(any_url)
    if store.sqlite_file is not None:
        store.sqlite_file.parent.mkdir(parents=True)
        store.sqlite_file.touch()
    assert not store.is_initialized()
    with pytest.raises(StoreError, match="no mlrig tables"), store.read():
        pass
    store.close()


def test_two_stores_on_one_database_see_each_others_commits(any_url: str) -> None:
    first, second = new_store(any_url), SqlStore(any_url)
    assert second.is_initialized()
    basic(first)
    with second.read() as view:
        assert view.get_stack("s") == Stack("s", {O: "o", M: "m", A: "a"})
    with second.write() as txn:
        txn.delete_stack("s")
    with first.read() as view:
        assert view.list_stacks() == []
    first.close()
    second.close()


def test_a_caught_duplicate_leaves_the_transaction_usable(any_url: str) -> None:
    """The insert runs in a savepoint: PostgreSQL would otherwise abort the transaction."""
    store = new_store(any_url)
    with store.write() as txn:
        txn.create_component(Component(O, "x", "local"))
        with pytest.raises(AlreadyExistsError) as caught:
            txn.create_component(Component(O, "x", "local"))
        txn.create_component(Component(O, "y", "local"))
        with pytest.raises(AlreadyExistsError):
            txn.create_flavor(FlavorRecord(O, "f", "a.B"))
            txn.create_flavor(FlavorRecord(O, "f", "a.B"))
        txn.create_stack(Stack("s", {O: "y"}))
    assert str(caught.value) == str(integrity.component_exists_error(O, "x"))
    with store.read() as view:
        assert [c.name for c in view.list_components(O)] == ["x", "y"]
        assert view.list_flavors(O) == [FlavorRecord(O, "f", "a.B")]
    store.close()


def test_component_ids_are_kept_and_renames_follow_in_stacks(any_url: str) -> None:
    store = new_store(any_url)
    basic(store)
    with store.read() as view:
        before = view.get_component(O, "o")
    assert before is not None
    with store.write() as txn:
        txn.update_component(Component(O, "o2", "local", {"k": 1}, id=before.id), old_name="o")
    with store.read() as view:
        after = view.get_component(O, "o2")
        assert after == Component(O, "o2", "local", {"k": 1}, id=before.id)
        assert view.stacks_using(O, "o2") == ["s"]
    store.close()


def test_writers_wait_for_each_other_and_see_the_committed_state(any_url: str) -> None:
    """Delete-a-component against create-a-stack-using-it, from two connections: the second
    writer waits for the first and then sees that the component is gone."""
    store, other = new_store(any_url), SqlStore(any_url)
    with store.write() as txn:
        for type_, name in ((O, "o"), (M, "m"), (A, "a")):
            txn.create_component(Component(type_, name, "local"))
    outcome: list[BaseException | None] = []
    started = threading.Event()

    def create_stack() -> None:
        started.set()
        try:
            with other.write() as txn:
                txn.create_stack(Stack("s", {O: "o", M: "m", A: "a"}))
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    with store.write() as txn:
        txn.delete_component(O, "o")
        thread = threading.Thread(target=create_stack)
        thread.start()
        started.wait()
        time.sleep(0.5)
        assert outcome == []  # still waiting for our transaction
        # a reader is not blocked by the writer and sees the last commit
        with other.read() as view:
            assert view.get_component(O, "o") is not None
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFoundError), outcome
    with store.read() as view:
        assert view.list_stacks() == [] and view.get_component(O, "o") is None
    store.close()
    other.close()


def test_constraint_race_gives_the_sequential_message(pg_url: str) -> None:
    """A row inserted behind the store's back (no lock) between check and insert still
    produces the usual AlreadyExistsError, not a database error."""
    store = new_store(pg_url)
    raw = sa.create_engine(pg_url)
    with store.write() as txn:
        with raw.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO mlrig_components (id, type, name, flavor, config) "
                "VALUES ('f' || md5('x'), 'orchestrator', 'x', 'local', '{}')")
        with pytest.raises(AlreadyExistsError) as caught:
            txn.create_component(Component(O, "x", "local"))  # no pre-check: the insert fails
        txn.create_component(Component(O, "y", "local"))
    raw.dispose()
    assert str(caught.value) == str(integrity.component_exists_error(O, "x"))
    store.close()


def test_destroy_drops_the_tables_on_a_server(pg_url: str) -> None:
    store = new_store(pg_url)
    basic(store)
    store.destroy()
    assert not SqlStore(pg_url).is_initialized()
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert [t for t in sa.inspect(conn).get_table_names() if t.startswith("mlrig")] == []
    engine.dispose()
    store.close()


# ---------------------------------------------------------------- errors


def _error(url: str, **kwargs: object) -> StoreError:
    store = SqlStore(url, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(StoreError) as caught:
        store.initialize()
    store.close()
    return caught.value


def test_wrong_password(pg_url: str) -> None:
    url = with_password(pg_url, "not-the-password")
    error = _error(url)
    text = f"{error.message} {error.hint}"
    assert "password authentication failed" in text
    assert "not-the-password" not in text and ":***@" in text
    assert "\n" not in error.message


def test_unreachable_server(pg_url: str) -> None:
    url = pg_url.replace(f":{sa.engine.make_url(pg_url).port}/", ":1/")
    error = _error(url)
    assert error.message.startswith("Cannot connect to the SQL store at postgresql+psycopg://")
    assert "refused" in error.message.lower()
    assert f":{password_of(pg_url)}@" not in error.message and ":***@" in error.message


def test_missing_database(pg_url: str) -> None:
    url = sa.engine.make_url(pg_url).set(database="mlrig_no_such_db") \
        .render_as_string(hide_password=False)
    error = _error(url)
    assert 'database "mlrig_no_such_db" does not exist' in error.message
    assert error.hint == "Create the database first, or fix the URL."


def test_missing_driver() -> None:
    error = _error("postgresql+pg8000://u:secret@127.0.0.1:1/db")
    assert "driver 'pg8000' is not available" in error.message
    assert "secret" not in error.message and error.hint is not None and "pg8000" in error.hint


# ---------------------------------------------------------------- credentials


def test_password_from_environment_or_file(pg_url: str, tmp_path: Path) -> None:
    password = password_of(pg_url)
    assert password is not None
    bare = with_password(pg_url, None)
    store = new_store(bare, options={"password_env": "MLRIG_TEST_PW"},
                      env={"MLRIG_TEST_PW": password})
    basic(store)
    store.close()

    secret = tmp_path / "pw"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    warnings: list[str] = []
    by_file = SqlStore(bare, options={"password_file": str(secret)},
                       on_event=lambda level, message: warnings.append(message))
    with by_file.read() as view:
        assert view.get_stack("s") is not None
    by_file.close()
    assert warnings == []

    secret.chmod(0o644)
    loose = SqlStore(bare, options={"password_file": str(secret)},
                     on_event=lambda level, message: warnings.append(message))
    with loose.read():
        pass
    loose.close()
    assert len(warnings) == 1 and "chmod 600" in warnings[0]


def test_missing_password_sources_are_reported(pg_url: str, tmp_path: Path) -> None:
    bare = with_password(pg_url, None)
    error = _error(bare, options={"password_env": "MLRIG_NOT_SET_ANYWHERE"}, env={})
    assert "MLRIG_NOT_SET_ANYWHERE" in error.message and "not set" in error.message
    error = _error(bare, options={"password_file": str(tmp_path / "missing")})
    assert "cannot read its password file" in error.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory(tmp_path: Path) -> None:  # pragma: no cover - not as root
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    error = _error(f"sqlite:///{locked / 'x' / 'mlrig.db'}")
    assert str(locked) in error.message


def test_the_plain_sql_knows_the_head_schema() -> None:
    """mlrig.stores.sql_plain is written for the head revision (it does not load
    sql_schema, which imports SQLAlchemy): its copy of the names must follow."""
    from mlrig.stores import sql_plain, sql_schema

    assert (sql_plain.HEAD, sql_plain.VERSION_TABLE) == (HEAD, VERSION_TABLE)
    assert (sql_plain.STORE_ROW_ID, sql_plain.STORE_KIND) == (sql_schema.STORE_ROW_ID,
                                                              sql_schema.STORE_KIND)


# ------------------------------------------------- the fast stores and SqlStore: one database


def _fill(store: Any, prefix: str) -> None:
    with store.write() as txn:
        txn.create_component(Component(A, f"{prefix}-lake", "local", {"path": "/ä/ü"}))
        txn.create_component(Component(O, f"{prefix}-o", "local"))
        txn.create_stack(Stack(f"{prefix}-s", {O: f"{prefix}-o", A: f"{prefix}-lake"}))
        txn.create_flavor(FlavorRecord(A, f"{prefix}-flavor", "pkg.mod:Flavor"))
    with store.write() as txn:
        txn.update_component(Component(A, f"{prefix}-lake2", "local", {"path": "/x"},
                                       id=txn.get_component(A, f"{prefix}-lake").id),
                             old_name=f"{prefix}-lake")
        txn.update_stack(Stack(f"{prefix}-t", {O: f"{prefix}-o"}), old_name=f"{prefix}-s")


def _everything(store: Any) -> tuple[Any, ...]:
    with store.read() as view:
        return (view.list_components(), view.list_stacks(), view.list_flavors(),
                view.page_stacks(limit=10, name_contains="-t"),
                view.page_components(limit=10, name_contains="lake"),
                view.stacks_using(O, "fast-o"), view.stacks_using(O, "full-o"))


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"])
def test_fast_store_and_sqlstore_write_the_same_database_alike(
        url_fixture: str, request: pytest.FixtureRequest) -> None:
    """What the fast store (sqlite3 / psycopg2) writes reads identically through SqlStore
    and the other way round, timestamps included (read back by SQLAlchemy's typed
    columns), and a later schema upgrade would see the same rows."""
    from mlrig.models import ProfileConfig
    from mlrig.stores import backend, sql_schema
    from mlrig.stores.sql_fast import PostgresStore, SqliteStore

    url = str(request.getfixturevalue(url_fixture))
    full = SqlStore(url)
    full.initialize()
    fast = backend("sql").open(ProfileConfig("p", "sql", url), env=None, events=None)
    assert isinstance(fast, (SqliteStore, PostgresStore))
    _fill(fast, "fast")
    _fill(full, "full")
    assert _everything(fast) == _everything(full)
    names = [c.name for c in _everything(full)[0]]
    assert names == ["fast-o", "full-o", "fast-lake2", "full-lake2"]
    assert [s.name for s in _everything(fast)[1]] == ["fast-t", "full-t"]
    assert fast._full is None  # the fast store never needed SQLAlchemy's
    # the timestamps as SQLAlchemy reads them: the same kind of value from either path
    c = sql_schema.components.c
    with full._engine_().connect() as conn:
        rows = conn.execute(sa.select(c.name, c.created_at, c.updated_at)
                            .order_by(c.name)).all()
        stamps = conn.execute(sa.select(sql_schema.stacks.c.created_at,
                                        sql_schema.flavors.c.created_at)
                              .select_from(sql_schema.stacks.join(
                                  sql_schema.flavors, sa.true()))).all()
    assert [r.name for r in rows] == ["fast-lake2", "fast-o", "full-lake2", "full-o"]
    for row in rows:
        assert isinstance(row.created_at, datetime.datetime), row
        assert row.updated_at >= row.created_at
        assert abs(row.created_at.replace(tzinfo=None) - rows[-1].created_at.replace(
            tzinfo=None)) < datetime.timedelta(minutes=5)
    assert all(isinstance(v, datetime.datetime) for pair in stamps for v in pair)
    if url_fixture == "sqlite_url":  # the same text in the file, written by either path
        raw = sqlite3.connect(str(full.sqlite_file))
        texts = [r[0] for r in raw.execute("SELECT created_at FROM mlrig_components")]
        raw.close()
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", t) for t in texts)
    fast.close()
    full.close()


def test_a_forked_child_never_uses_the_postgres_store_connection_of_its_parent(
        pg_url: str) -> None:
    """The psycopg2 store keeps its connection for the next transaction; a child forked
    meanwhile (an orchestrator's worker) opens its own, and neither session breaks the
    other's."""
    from mlrig.models import ProfileConfig
    from mlrig.stores import backend

    store = backend("sql").open(ProfileConfig("p", "sql", pg_url), env=None, events=None)
    store.initialize()
    _fill(store, "parent")  # leaves a connection kept
    with store.read() as view:
        session = view._rows("SELECT pg_backend_pid()")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code only
        code = 1
        try:
            with store.write() as txn:
                txn.create_component(Component(O, "from-child", "local"))
            with store.read() as view:
                code = 0 if view.get_component(O, "parent-o") is not None else 2
            store.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with store.read() as view:  # the parent's kept session still works
        assert [c.name for c in view.list_components(O)] == ["from-child", "parent-o"]
        assert view._rows("SELECT pg_backend_pid()") == session
    store.close()
