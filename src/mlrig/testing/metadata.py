"""The metadata store contract: every implementation of
:class:`mlrig.runtime.records.MetadataStore` must pass these tests.

Subclass it and provide a ``metadata_store`` fixture that yields a new, empty store::

    import pytest
    from mlrig.testing.metadata import MetadataStoreContract

    class TestMyMetadataStore(MetadataStoreContract):
        @pytest.fixture
        def metadata_store(self, tmp_path):
            store = MyMetadataStore(...)
            yield store
            store.close()

The helpers :func:`make_run`, :func:`make_step` and :func:`make_artifact` build records with
fresh ids for tests of anything that records runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlrig.exceptions import AlreadyExistsError, InputError, MlrigError, NotFoundError
from mlrig.runtime.records import (
    ArtifactRecord,
    MetadataStore,
    PipelineRunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)


def new_id() -> str:
    return uuid.uuid4().hex


def make_run(pipeline: str = "training", *, started: float | None = None,
             status: RunStatus = RunStatus.RUNNING, **fields: Any) -> PipelineRunRecord:
    """A run record of this process on this host (so never stale while the test runs)."""
    import os
    import socket

    values: dict[str, Any] = {
        "id": new_id(), "pipeline": pipeline, "status": status, "stack": "default",
        "profile": "default", "orchestrator": "default (local)",
        "started": time.time() if started is None else started,
        "host": socket.gethostname(), "pid": os.getpid(),
    }
    values.update(fields)
    return PipelineRunRecord(**values)


def make_step(run: PipelineRunRecord, name: str, **fields: Any) -> StepRunRecord:
    values: dict[str, Any] = {"id": new_id(), "run_id": run.id, "name": name,
                              "status": StepStatus.COMPLETED, "started": run.started,
                              "finished": run.started + 1.5, "attempts": 1}
    values.update(fields)
    return StepRunRecord(**values)


def make_artifact(producer: StepRunRecord, name: str = "output",
                  **fields: Any) -> ArtifactRecord:
    digest = "sha256:" + uuid.uuid4().hex * 2
    values: dict[str, Any] = {
        "id": new_id(), "name": name, "digest": digest, "uri": f"file:///store/{digest}",
        "size": 12, "data_type": "builtins.dict", "materializer": "json",
        "materializer_version": "1", "producer_step_run_id": producer.id,
        "created": time.time(), "versions": {"python": "3.11.2"},
    }
    values.update(fields)
    return ArtifactRecord(**values)


def settled_snapshot(root: Path) -> dict[str, bytes | None]:
    """:func:`mlrig.testing.files.snapshot` of ``root`` once every SQLite database's
    write-ahead log is folded into its file: SQLite does that itself when its last
    connection closes, even after a read (bytes move, nothing changes), so compare these to
    tell that a command wrote nothing."""
    import sqlite3

    from mlrig.testing.files import snapshot

    for db in root.rglob("*.db"):
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    # the -shm file indexes the (now empty) log while another connection stays open
    return {name: data for name, data in snapshot(root).items()
            if not name.endswith("-shm") and not (name.endswith("-wal") and not data)}


def gone_pid() -> int:
    """The pid of a process of this host that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


class MetadataStoreContract:
    """Behaviour shared by every metadata store. Subclasses provide ``metadata_store``."""

    # -- basics ------------------------------------------------------------------------
    def test_follows_the_protocol(self, metadata_store: Any) -> None:
        assert isinstance(metadata_store, MetadataStore)

    def test_new_store_is_empty_and_passes_check(self, metadata_store: Any) -> None:
        page = metadata_store.list_runs()
        assert list(page.runs) == [] and page.next_cursor is None
        assert list(metadata_store.pipelines()) == []
        assert list(metadata_store.list_artifacts()) == []
        metadata_store.check()
        metadata_store.check()  # idempotent
        assert list(metadata_store.list_runs().runs) == []

    def test_run_round_trip(self, metadata_store: Any) -> None:
        run = make_run(parameters={"lr": 0.1, "layers": [1, 2], "name": "ünï ✓"},
                       resumed_from="r0")
        metadata_store.create_run(run)
        loaded = metadata_store.get_run(run.id)
        assert loaded == run
        assert loaded.status is RunStatus.RUNNING

    def test_duplicate_run_refused(self, metadata_store: Any) -> None:
        run = make_run()
        metadata_store.create_run(run)
        with pytest.raises(AlreadyExistsError):
            metadata_store.create_run(run)
        assert len(metadata_store.list_runs().runs) == 1

    def test_get_run_by_unique_prefix(self, metadata_store: Any) -> None:
        one = make_run(id="abc123" + "0" * 26)
        two = make_run(id="abd456" + "0" * 26)
        metadata_store.create_run(one)
        metadata_store.create_run(two)
        assert metadata_store.get_run("abc").id == one.id
        assert metadata_store.get_run("abd4").id == two.id
        with pytest.raises(InputError, match="ambiguous") as info:
            metadata_store.get_run("ab")
        assert "\n" not in info.value.message
        with pytest.raises(NotFoundError):
            metadata_store.get_run("abe")
        with pytest.raises(NotFoundError):
            metadata_store.get_run("a_%")  # no wildcard matches

    def test_missing_run(self, metadata_store: Any) -> None:
        with pytest.raises(NotFoundError) as info:
            metadata_store.get_run("nope")
        assert "'nope'" in info.value.message
        with pytest.raises(NotFoundError):
            metadata_store.finish_run("nope", RunStatus.FAILED, time.time())
        with pytest.raises(NotFoundError):
            metadata_store.delete_run("nope")

    def test_finish_run(self, metadata_store: Any) -> None:
        run = make_run()
        metadata_store.create_run(run)
        metadata_store.finish_run(run.id, RunStatus.FAILED, run.started + 3, "step 'x' failed")
        loaded = metadata_store.get_run(run.id)
        assert loaded.status is RunStatus.FAILED
        assert loaded.finished == run.started + 3
        assert loaded.error == "step 'x' failed"

    # -- steps -------------------------------------------------------------------------
    def test_steps_round_trip_in_the_order_first_saved(self, metadata_store: Any) -> None:
        run = make_run()
        metadata_store.create_run(run)
        loader = make_step(run, "loader", cache_key="k1",
                           cache_parts={"source": "s1", "parameters": "p1"},
                           parameters={"n": 3}, logs_uri="file:///logs/loader.log")
        out = make_artifact(loader, "data")
        metadata_store.save_artifact(out)
        loader = replace(loader, outputs={"data": out.id})
        trainer = make_step(run, "trainer", status=StepStatus.RUNNING, finished=None,
                            inputs={"data": out.id}, upstream=("loader",))
        for step in (trainer, loader):
            metadata_store.save_step_run(step)
        loaded = metadata_store.get_run(run.id)
        assert [s.name for s in loaded.steps] == ["trainer", "loader"]
        assert loaded.steps[1] == loader
        assert loaded.steps[0] == trainer
        assert metadata_store.get_step_run(loader.id) == loader
        with pytest.raises(NotFoundError):
            metadata_store.get_step_run("0" * 32)
        # replacing keeps the place and the id, and replaces the links
        done = replace(trainer, status=StepStatus.FAILED, finished=run.started + 9,
                       error="boom", attempts=3, inputs={})
        metadata_store.save_step_run(done)
        again = metadata_store.get_run(run.id)
        assert [s.name for s in again.steps] == ["trainer", "loader"]
        assert again.steps[0] == done
        assert again.steps[0].duration == pytest.approx(9.0)

    def test_step_of_a_missing_run_refused(self, metadata_store: Any) -> None:
        run = make_run()
        with pytest.raises(NotFoundError):
            metadata_store.save_step_run(make_step(run, "x"))

    def test_find_cached(self, metadata_store: Any) -> None:
        assert metadata_store.find_cached("key") is None
        old, new = make_run(started=100.0), make_run(started=200.0)
        for run in (old, new):
            metadata_store.create_run(run)
        first = make_step(old, "s", cache_key="key", finished=101.0)
        second = make_step(new, "s", cache_key="key", finished=201.0)
        failed = make_step(new, "t", cache_key="key", status=StepStatus.FAILED,
                           finished=300.0)
        hit = make_step(new, "u", cache_key="key", status=StepStatus.CACHED, cached=True,
                        finished=301.0, original_step_run_id=second.id)
        for step in (first, second, failed, hit):
            metadata_store.save_step_run(step)
        found = metadata_store.find_cached("key")
        assert found is not None and found.id == second.id
        assert metadata_store.find_cached("other") is None

    def test_last_step_run(self, metadata_store: Any) -> None:
        runs = [make_run("p", started=float(t)) for t in (10, 20, 30)]
        steps = []
        for run in runs:
            metadata_store.create_run(run)
            step = make_step(run, "trainer", cache_parts={"source": str(run.started)})
            metadata_store.save_step_run(step)
            steps.append(step)
        other = make_run("q", started=40.0)
        metadata_store.create_run(other)
        metadata_store.save_step_run(make_step(other, "trainer"))
        last = metadata_store.last_step_run("p", "trainer")
        assert last is not None and last.id == steps[2].id
        before = metadata_store.last_step_run("p", "trainer", before_run=runs[2].id)
        assert before is not None and before.id == steps[1].id
        assert metadata_store.last_step_run("p", "trainer", before_run=runs[0].id) is None
        assert metadata_store.last_step_run("p", "evaluator") is None

    # -- listing -----------------------------------------------------------------------
    def test_list_runs_newest_first_in_pages(self, metadata_store: Any) -> None:
        # equal start times too: the id breaks the tie, no run is shown twice or skipped
        created = [make_run("p" if i % 3 else "q", started=1000.0 + i // 2) for i in range(11)]
        for run in created:
            metadata_store.create_run(run)
        expected = [r.id for r in sorted(created, key=lambda r: (r.started, r.id),
                                         reverse=True)]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = metadata_store.list_runs(limit=4, cursor=cursor)
            assert len(page.runs) <= 4
            seen += [r.id for r in page.runs]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
        assert pages == 3
        only_q = metadata_store.list_runs(pipeline="q", limit=100).runs
        assert [r.id for r in only_q] == [i for i in expected
                                          if i in {r.id for r in created if r.pipeline == "q"}]

    def test_list_runs_by_status(self, metadata_store: Any) -> None:
        done = make_run(status=RunStatus.COMPLETED, finished=time.time())
        running = make_run()
        for run in (done, running):
            metadata_store.create_run(run)
        assert [r.id for r in metadata_store.list_runs(status=RunStatus.COMPLETED).runs] == [
            done.id]
        assert [r.id for r in metadata_store.list_runs(status=RunStatus.RUNNING).runs] == [
            running.id]
        assert list(metadata_store.list_runs(status=RunStatus.FAILED).runs) == []

    def test_list_runs_refuses_bad_cursor_and_limit(self, metadata_store: Any) -> None:
        for cursor in ("garbage!", "eyJ4Ijox"):
            with pytest.raises(InputError, match="cursor"):
                metadata_store.list_runs(cursor=cursor)
        for limit in (0, -1, 10**6):
            with pytest.raises(InputError):
                metadata_store.list_runs(limit=limit)

    def test_pipelines(self, metadata_store: Any) -> None:
        for pipeline, started in (("b", 5.0), ("a", 1.0), ("b", 9.0)):
            metadata_store.create_run(make_run(pipeline, started=started))
        assert [tuple(p) for p in metadata_store.pipelines()] == [("a", 1, 1.0), ("b", 2, 9.0)]

    # -- artifacts ---------------------------------------------------------------------
    def test_artifacts_round_trip_list_and_lineage(self, metadata_store: Any) -> None:
        run = make_run()
        metadata_store.create_run(run)
        producer = make_step(run, "loader")
        made = [make_artifact(producer, f"out{i}", created=1000.0 + i // 2) for i in range(5)]
        for artifact in made:
            metadata_store.save_artifact(artifact)
        assert metadata_store.get_artifact(made[0].id) == made[0]
        assert metadata_store.get_artifact(made[0].id[:12]).id == made[0].id
        with pytest.raises(NotFoundError):
            metadata_store.get_artifact("0" * 32)
        expected = [a.id for a in sorted(made, key=lambda a: (a.created, a.id), reverse=True)]
        first = metadata_store.list_artifacts(limit=3)
        rest = metadata_store.list_artifacts(limit=3, cursor=first[-1].id)
        assert [a.id for a in [*first, *rest]] == expected
        producer = replace(producer, outputs={"out0": made[0].id})
        consumer = make_step(run, "trainer", inputs={"data": made[0].id})
        metadata_store.save_step_run(producer)
        metadata_store.save_step_run(consumer)
        assert [s.id for s in metadata_store.consumers(made[0].id)] == [consumer.id]
        assert list(metadata_store.consumers(made[1].id)) == []

    def test_delete_run_keeps_what_others_use(self, metadata_store: Any) -> None:
        first, second = make_run(started=1.0), make_run(started=2.0)
        for run in (first, second):
            metadata_store.create_run(run)
        producer = make_step(first, "loader")
        shared, own = make_artifact(producer, "shared"), make_artifact(producer, "own")
        for artifact in (shared, own):
            metadata_store.save_artifact(artifact)
        metadata_store.save_step_run(
            replace(producer, outputs={"shared": shared.id, "own": own.id}))
        # the second run reused the loader from cache and read its output
        metadata_store.save_step_run(make_step(second, "loader", status=StepStatus.CACHED,
                                               cached=True, outputs={"shared": shared.id},
                                               original_step_run_id=producer.id))
        metadata_store.delete_run(first.id)
        with pytest.raises(NotFoundError):
            metadata_store.get_run(first.id)
        assert [r.id for r in metadata_store.list_runs().runs] == [second.id]
        assert metadata_store.get_artifact(shared.id) == shared
        with pytest.raises(NotFoundError):
            metadata_store.get_artifact(own.id)
        assert [s.name for s in metadata_store.get_run(second.id).steps] == ["loader"]

    # -- stale runs --------------------------------------------------------------------
    def test_run_of_a_gone_process_is_failed_when_read(self, metadata_store: Any) -> None:
        dead = make_run(pid=gone_pid())
        alive = make_run()
        other_host = make_run(host="another-host.invalid", pid=gone_pid())
        for run in (dead, alive, other_host):
            metadata_store.create_run(run)
        metadata_store.save_step_run(make_step(dead, "trainer", status=StepStatus.RUNNING,
                                               finished=None))
        page = {r.id: r for r in metadata_store.list_runs().runs}
        assert page[dead.id].status is RunStatus.FAILED
        assert page[dead.id].finished is not None and page[dead.id].error
        assert page[alive.id].status is RunStatus.RUNNING
        assert page[other_host.id].status is RunStatus.RUNNING  # cannot tell from here
        loaded = metadata_store.get_run(dead.id)
        assert loaded.status is RunStatus.FAILED
        assert loaded.steps[0].status is StepStatus.FAILED
        # stored, not only shown: a filter on the status sees it
        assert dead.id in {r.id for r in metadata_store.list_runs(status=RunStatus.FAILED).runs}
        assert dead.id not in {
            r.id for r in metadata_store.list_runs(status=RunStatus.RUNNING).runs}

    def test_errors_are_one_line(self, metadata_store: Any) -> None:
        calls: list[tuple[Any, dict[str, Any]]] = [
            (metadata_store.get_run, {"run_id": "missing"}),
            (metadata_store.list_runs, {"limit": 0}),
            (metadata_store.get_artifact, {"artifact_id": "missing"}),
        ]
        for method, kwargs in calls:
            with pytest.raises(MlrigError) as info:
                method(**kwargs)
            assert "\n" not in info.value.message
