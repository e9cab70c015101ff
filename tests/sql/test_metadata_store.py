"""The SQL metadata store beyond its contract: many processes writing one SQLite file at
once, the schema's migrations, a newer schema refused and left untouched, files and modes,
the SQLite read path without SQLAlchemy."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mlrig.exceptions import StoreError
from mlrig.runtime.metadata import migrations
from mlrig.runtime.metadata.revisions import HEAD, VERSION_TABLE
from mlrig.runtime.metadata.schema import metadata
from mlrig.runtime.metadata.sql import SQLMetadataStore, process_alive, process_start
from mlrig.runtime.records import RunStatus, StepStatus
from mlrig.testing.metadata import make_artifact, make_run, make_step

WRITER = textwrap.dedent("""
    import os, sys, time
    from dataclasses import replace
    from pathlib import Path
    from mlrig.runtime.metadata.sql import SQLMetadataStore
    from mlrig.runtime.records import RunStatus
    from mlrig.testing.metadata import make_artifact, make_run, make_step

    path, start, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    (start.parent / f"ready-{os.getpid()}").touch()  # imported: waiting for the start
    while not start.exists():
        time.sleep(0.001)
    store = SQLMetadataStore("runs", sqlite_file=path)
    run = make_run(f"p{os.getpid() % 2}")
    store.create_run(run)
    previous = None
    for i in range(steps):
        step = make_step(run, f"step{i}", inputs={"x": previous} if previous else {})
        artifact = make_artifact(step)
        store.save_artifact(artifact)
        store.save_step_run(replace(step, outputs={"output": artifact.id}))
        previous = artifact.id
    store.finish_run(run.id, RunStatus.COMPLETED, time.time())
    print(run.id)
""")


def sqlite_store(tmp_path: Path) -> SQLMetadataStore:
    return SQLMetadataStore("runs", sqlite_file=tmp_path / "db" / "metadata.db")


def server_or_sqlite(url: str, tmp_path: Path) -> SQLMetadataStore:
    if url.startswith("sqlite"):
        return SQLMetadataStore("runs", sqlite_file=Path(sa.engine.make_url(url).database or ""))
    return SQLMetadataStore("runs", url=url)


def engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        Path(sa.engine.make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url)


# ---------------------------------------------------------------- SQLite


@pytest.mark.slow
def test_eight_processes_write_one_new_sqlite_file_at_once(tmp_path: Path) -> None:
    path, start = tmp_path / "db" / "metadata.db", tmp_path / "start"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(start), "25"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(8)]
    # start them at once, only when every writer has imported everything and waits
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < len(writers):
        assert time.monotonic() < deadline, "the writers did not start"
        assert all(w.poll() is None for w in writers), [w.communicate() for w in writers]
        time.sleep(0.01)
    start.touch()
    results = [w.communicate(timeout=240) for w in writers]
    for writer, (_, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err
    ids = {out.strip() for out, _ in results}
    store = SQLMetadataStore("runs", sqlite_file=path)
    page = store.list_runs(limit=100)
    assert {r.id for r in page.runs} == ids and len(ids) == 8
    for run in page.runs:
        assert run.status is RunStatus.COMPLETED
        full = store.get_run(run.id)
        assert [s.name for s in full.steps] == [f"step{i}" for i in range(25)]
        assert all(s.outputs for s in full.steps)
    assert sum(count for _, count, _ in store.pipelines()) == 8
    assert len(store.list_artifacts(limit=1000)) == 8 * 25


def test_sqlite_file_is_private_in_wal_mode_and_not_made_by_a_read(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    assert store.sqlite_file is not None
    assert list(store.list_runs().runs) == []
    assert store.pipelines() == []
    assert not store.sqlite_file.exists() and not store.sqlite_file.parent.exists()
    store.create_run(make_run())
    assert stat.S_IMODE(store.sqlite_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.sqlite_file.parent.stat().st_mode) == 0o700
    import sqlite3

    conn = sqlite3.connect(store.sqlite_file)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    store.close()


def test_sqlite_read_path_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    run = make_run()
    store.create_run(run)
    store.save_step_run(make_step(run, "s"))
    store.close()
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mlrig.runtime.metadata.sql import SQLMetadataStore
        store = SQLMetadataStore("runs", sqlite_file=Path({str(store.sqlite_file)!r}))
        assert [r.id for r in store.list_runs().runs] == [{run.id!r}]
        assert store.get_run({run.id[:8]!r}).steps[0].name == "s"
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_run_killed_with_sigkill_is_failed_the_next_time_runs_are_listed(
        tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from mlrig.runtime.metadata.sql import SQLMetadataStore
        from mlrig.runtime.records import StepStatus
        from mlrig.testing.metadata import make_run, make_step
        store = SQLMetadataStore("runs", sqlite_file=Path({str(path)!r}))
        run = make_run()
        store.create_run(run)
        store.save_step_run(make_step(run, "slow", status=StepStatus.RUNNING, finished=None))
        print(run.id, flush=True)
        time.sleep(600)
    """)
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None
    run_id = driver.stdout.readline().strip()
    store = SQLMetadataStore("runs", sqlite_file=path)
    assert store.get_run(run_id).status is RunStatus.RUNNING
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    page = store.list_runs()
    assert page.runs[0].id == run_id and page.runs[0].status is RunStatus.FAILED
    run = store.get_run(run_id)
    assert run.steps[0].status is StepStatus.FAILED
    assert f"pid {driver.pid}" in (run.error or "")


def test_a_reused_pid_is_another_process() -> None:
    token = process_start(os.getpid())
    assert token is not None
    assert process_alive(os.getpid(), token)
    assert not process_alive(os.getpid(), str(int(token) + 1))


# ---------------------------------------------------------------- migrations


def test_the_migrations_build_the_schema_the_store_uses(any_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = engine_for(any_url)
    with engine.begin() as conn:
        migrations.upgrade(conn, HEAD)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, metadata)
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == HEAD
    assert diff == []
    # and the store works on what the migrations made
    store = server_or_sqlite(any_url, Path())
    run = make_run()
    store.create_run(run)
    assert store.get_run(run.id) == run
    store.close()
    with engine.begin() as conn:
        migrations.downgrade(conn, "base")
    assert not (set(sa.inspect(engine).get_table_names()) & set(metadata.tables))
    engine.dispose()


def test_the_profile_store_and_the_metadata_store_share_a_database(any_url: str) -> None:
    from mlrig.models import Component, ComponentType
    from mlrig.stores.sql import SqlStore

    profile_store = SqlStore(any_url)
    profile_store.initialize()
    with profile_store.write() as txn:
        txn.create_component(Component(ComponentType.ORCHESTRATOR, "o", "local"))
    store = server_or_sqlite(any_url, Path())
    run = make_run()
    store.create_run(run)
    with profile_store.read() as view:
        assert [c.name for c in view.list_components()] == ["o"]
    assert store.get_run(run.id) == run
    store.close()
    profile_store.close()


def _contents(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
        return {t: sorted(json.dumps(list(r), default=str) for r in
                          conn.execute(sa.text(f"SELECT * FROM {t}")))
                for t in tables}


def test_a_newer_schema_is_refused_in_one_line_and_left_untouched(any_url: str) -> None:
    store = server_or_sqlite(any_url, Path())
    store.create_run(make_run())
    store.close()
    engine = engine_for(any_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = 'm9999_future'"))
    before = _contents(engine)
    newer = server_or_sqlite(any_url, Path())
    calls: list[tuple[Any, tuple[Any, ...]]] = [
        (newer.list_runs, ()), (newer.create_run, (make_run(),)), (newer.get_run, ("x",)),
        (newer.check, ()), (newer.pipelines, ())]
    for method, args in calls:
        with pytest.raises(StoreError) as info:
            method(*args)
        message = info.value.message
        assert "\n" not in message and "m9999_future" in message
        assert newer.where in message and "left untouched" in message
    newer.close()
    assert _contents(engine) == before
    engine.dispose()


def test_server_errors_are_one_line_with_the_password_masked(tmp_path: Path) -> None:
    store = SQLMetadataStore(
        "runs", url="postgresql+psycopg://user:s3cr3t-pw@127.0.0.1:1/db", connect_timeout=2)
    with pytest.raises(StoreError) as info:
        store.list_runs()
    message = info.value.message
    assert "\n" not in message and "s3cr3t-pw" not in message
    assert "'runs'" in message and "127.0.0.1:1" in message
    with pytest.raises(StoreError):
        store.create_run(make_run())
    artifact_step = make_step(make_run(), "x")
    with pytest.raises(StoreError):
        store.save_artifact(make_artifact(artifact_step))
