"""Schema migrations: from every earlier revision to the head, with data; a newer schema is
refused and left untouched; the migrated schema is exactly the one the store code uses."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mlrig import migrations
from mlrig.core.transfer import contents_of
from mlrig.exceptions import StoreError
from mlrig.models import Component, ComponentType, Contents, FlavorRecord, Stack
from mlrig.stores.sql import SqlStore
from mlrig.stores.sql_schema import HEAD, REVISIONS, VERSION_TABLE, metadata
from mlrig.testing.runs import run_mlrig_in

O, M, A = ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE, ComponentType.ARTIFACT_STORE
AL = ComponentType.ALERTER
IDS = {"o": "a" * 32, "m": "b" * 32, "a": "c" * 32, "al": "d" * 32}


def engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        Path(sa.engine.make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url)


def create_at(url: str, revision: str) -> None:
    """A database at ``revision``, made by the migrations themselves."""
    engine = engine_for(url)
    with engine.begin() as conn:
        migrations.upgrade(conn, revision)
    engine.dispose()


def revision_of(url: str) -> str:
    engine = engine_for(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    engine.dispose()
    return str(value)


def insert_0001(conn: sa.Connection) -> None:
    """Sample data as mlrig wrote it at revision 0001 (no timestamps)."""
    components = [
        (IDS["o"], "orchestrator", "o", "local", {}),
        (IDS["m"], "metadata_store", "m", "sqlite", {"uri": "/m.db"}),
        (IDS["a"], "artifact_store", "données", "local", {"path": "/tmp/ü/日本"}),
        (IDS["al"], "alerter", "slack", "slack", {"slack_token": "t", "n": [1, {"k": None}]}),
    ]
    for id_, type_, name, flavor, config in components:
        conn.execute(sa.text("INSERT INTO mlrig_components (id, type, name, flavor, config) "
                             "VALUES (:i, :t, :n, :f, :c)"),
                     {"i": id_, "t": type_, "n": name, "f": flavor, "c": json.dumps(config)})
    conn.execute(sa.text("INSERT INTO mlrig_stacks (id, name) VALUES (7, 'dev'), (8, 'bare')"))
    for type_, key in (("orchestrator", "o"), ("metadata_store", "m"),
                       ("artifact_store", "a"), ("alerter", "al")):
        conn.execute(sa.text("INSERT INTO mlrig_stack_components (stack_id, type, component_id)"
                             " VALUES (7, :t, :c)"), {"t": type_, "c": IDS[key]})
    conn.execute(sa.text("INSERT INTO mlrig_flavors (type, name, source) VALUES "
                         "('orchestrator', 'custom', 'pkg.mod.Custom')"))


def insert_0002(conn: sa.Connection) -> None:
    """The same data as mlrig wrote it at revision 0002: with creation and change times."""
    insert_0001(conn)
    for table, columns in (("mlrig_store", ("created_at",)),
                           ("mlrig_components", ("created_at", "updated_at")),
                           ("mlrig_stacks", ("created_at", "updated_at")),
                           ("mlrig_flavors", ("created_at",))):
        assignments = ", ".join(f"{c} = :t" for c in columns)
        conn.execute(sa.text(f"UPDATE {table} SET {assignments}"),
                     {"t": datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)})


#: for every revision but the head: how mlrig stored the sample data at that revision
SAMPLES: dict[str, Callable[[sa.Connection], None]] = {"0001_initial": insert_0001,
                                                       "0002_timestamps": insert_0002}

EXPECTED = Contents.of(
    components=(
        Component(AL, "slack", "slack", {"slack_token": "t", "n": [1, {"k": None}]},
                  id=IDS["al"]),
        Component(A, "données", "local", {"path": "/tmp/ü/日本"}, id=IDS["a"]),
        Component(M, "m", "sqlite", {"uri": "/m.db"}, id=IDS["m"]),
        Component(O, "o", "local", {}, id=IDS["o"]),
    ),
    stacks=(Stack("bare", {}), Stack("dev", {AL: "slack", A: "données", M: "m", O: "o"})),
    flavors=(FlavorRecord(O, "custom", "pkg.mod.Custom"),),
)


def dump(url: str) -> dict[str, list[Any]]:
    """Every row of every table, to compare a database before and after."""
    engine = engine_for(url)
    with engine.connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
        result = {t: sorted(map(repr, conn.execute(sa.text(f"SELECT * FROM {t}")).all()))
                  for t in tables}
    engine.dispose()
    return result


def test_the_package_knows_its_revisions() -> None:
    script = migrations.script_directory()
    assert script.get_heads() == [HEAD]
    walked = [s.revision for s in script.walk_revisions()]
    assert list(reversed(walked)) == list(REVISIONS)
    assert set(SAMPLES) == set(REVISIONS[:-1]), "add sample data for the new revision"


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_upgrade_from_every_earlier_revision_keeps_the_data(any_url: str,
                                                             revision: str) -> None:
    create_at(any_url, revision)
    engine = engine_for(any_url)
    with engine.begin() as conn:
        SAMPLES[revision](conn)
    engine.dispose()

    events: list[tuple[str, str]] = []
    store = SqlStore(any_url, on_event=lambda level, message: events.append((level, message)))
    assert store.is_initialized()
    assert contents_of(store) == EXPECTED  # the first use upgrades
    assert revision_of(any_url) == HEAD
    messages = [m for _, m in events]
    assert any(m.startswith("Upgrading the SQL store at ") and f"from schema revision "
               f"{revision} to {HEAD}" in m for m in messages), messages
    assert any(m.startswith("Upgraded the SQL store") for m in messages), messages
    if store.sqlite_file is not None:
        backup = store.sqlite_file.with_name(f"mlrig.db.rev-{revision}.bak")
        assert backup.is_file() and backup.stat().st_mode & 0o077 == 0
        assert revision_of(f"sqlite:///{backup}") == revision

    # the upgraded store works as a store: timestamps are set, writes succeed
    with store.write() as txn:
        txn.create_component(Component(O, "new", "local"))
        txn.delete_stack("bare")
    with store.read() as view:
        row, = view._rows(
            "SELECT created_at, updated_at FROM mlrig_components WHERE name = 'o'")
        assert row[0] is not None and row[1] is not None
    store.close()
    events.clear()
    again = SqlStore(any_url, on_event=lambda level, message: events.append((level, message)))
    assert contents_of(again).stacks[0].name == "dev"
    again.close()
    assert events == []  # announced once, not on every use


def test_concurrent_first_uses_upgrade_once(any_url: str) -> None:
    create_at(any_url, REVISIONS[0])
    events: list[str] = []
    errors: list[BaseException] = []

    def use() -> None:
        store = SqlStore(any_url, on_event=lambda level, message: events.append(message))
        try:
            with store.read() as view:
                view.list_stacks()
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len([e for e in events if e.startswith("Upgrading")]) == 1, events
    assert revision_of(any_url) == HEAD


def test_a_newer_schema_is_refused_and_left_untouched(any_url: str) -> None:
    store = SqlStore(any_url)
    store.initialize()
    with store.write() as txn:
        txn.create_component(Component(O, "o", "local"))
    store.close()
    engine = engine_for(any_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    engine.dispose()
    before = dump(any_url)
    files_before = sorted(p.name for p in Path(store.sqlite_file or "/nonexistent")
                          .parent.glob("*")) if store.sqlite_file else []

    newer = SqlStore(any_url)
    assert newer.is_initialized()  # it is an mlrig store: attach would not clobber it
    for attempt in (newer.read, newer.write):
        with pytest.raises(StoreError) as caught, attempt():
            pass
        message = caught.value.message
        assert "'9999_future'" in message and "newer mlrig" in message
        assert newer.masked_url in message and "untouched" in message
    with pytest.raises(StoreError, match="9999_future"):
        newer.initialize()
    newer.close()
    assert dump(any_url) == before
    if store.sqlite_file:
        files_after = sorted(p.name for p in store.sqlite_file.parent.glob("*"))
        assert [f for f in files_after if ".bak" in f] == []
        assert set(files_after) - {"mlrig.db-wal", "mlrig.db-shm"} <= set(files_before) | {
            "mlrig.db"}


def test_the_migrated_schema_is_the_schema_of_the_code(any_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    create_at(any_url, HEAD)
    engine = engine_for(any_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, metadata)
                       if not (isinstance(d, tuple) and d[0] == "remove_table"
                               and d[1].name == VERSION_TABLE)]
    engine.dispose()
    assert differences == []


def test_a_new_store_is_what_the_migrations_build(any_url: str) -> None:
    """``initialize()`` creates the head schema directly; Alembic must see exactly the schema
    of its head revision there: same tables, and it can go down and up again."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = SqlStore(any_url)
    store.initialize()
    store.close()
    assert revision_of(any_url) == HEAD
    engine = engine_for(any_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "version_table": VERSION_TABLE})
        assert context.get_current_revision() == HEAD
        assert [d for d in compare_metadata(context, metadata)
                if not (isinstance(d, tuple) and d[0] == "remove_table")] == []
    for target in (*reversed(REVISIONS[:-1]), HEAD):
        with engine.begin() as conn:
            if target == HEAD:
                migrations.upgrade(conn, HEAD)
            else:
                migrations.downgrade(conn, target)
        assert revision_of(any_url) == target
    engine.dispose()
    reopened = SqlStore(any_url)
    assert reopened.is_initialized()
    with reopened.write() as txn:
        txn.create_component(Component(O, "o", "local"))
    reopened.close()


def test_downgrade_to_base_and_up_again(any_url: str) -> None:
    create_at(any_url, HEAD)
    engine = engine_for(any_url)
    with engine.begin() as conn:
        migrations.downgrade(conn, "base")
    with engine.connect() as conn:
        assert [t for t in sa.inspect(conn).get_table_names() if t != VERSION_TABLE] == []
    engine.dispose()
    create_at(any_url, HEAD)
    assert revision_of(any_url) == HEAD


def test_the_cli_announces_the_upgrade_on_stderr(tmp_path: Path, config_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'team.db'}"
    create_at(url, REVISIONS[0])
    engine = engine_for(url)
    with engine.begin() as conn:
        insert_0001(conn)
    engine.dispose()
    result = run_mlrig_in(config_dir, "profile", "create", "team", "--store-type", "sql",
                       "--url", url)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert f"Upgrading the SQL store at {url} from schema revision {REVISIONS[0]} to {HEAD} " \
           f"(backup: {tmp_path / 'shared' / 'team.db'}.rev-{REVISIONS[0]}.bak)..." in lines
    assert f"Upgraded the SQL store at {url} to schema revision {HEAD}." in lines
    assert f"Attached to the existing store at {url} (2 stack(s))." in lines
    listed = run_mlrig_in(config_dir, "--profile", "team", "stack", "list", "-o", "json")
    assert sorted(s["name"] for s in json.loads(listed.stdout)["stacks"]) == ["bare", "dev"]
    assert "Upgrad" not in listed.stderr


def test_names_are_in_code_point_order_in_the_indexes(any_url: str) -> None:
    """A page of a listing in name order reads only its rows: on PostgreSQL, whose databases
    usually sort by a language's rules, the name columns are in the collation "C" (Alembic's
    comparison does not look at collations, so this is checked here)."""
    create_at(any_url, HEAD)
    engine = engine_for(any_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("mlrig_components", "mlrig_stacks"):
                columns = {c["name"]: c for c in sa.inspect(conn).get_columns(table)}
                assert getattr(columns["name"]["type"], "collation", None) == "C", table
            plan = "\n".join(r[0] for r in conn.execute(sa.text(
                'EXPLAIN SELECT id FROM mlrig_stacks ORDER BY name COLLATE "C" LIMIT 10')))
            assert "Sort" not in plan.split("\n")[1], plan
        names = ["b", "B", "a", "é", "Z", "_"]
        conn.execute(sa.text("INSERT INTO mlrig_stacks (name) VALUES " + ", ".join(
            f"('{n}')" for n in names)))
    engine.dispose()
    store = SqlStore(any_url)
    with store.read() as view:
        assert [s.name for s in view.page_stacks(limit=10)] == sorted(names)
    store.close()
