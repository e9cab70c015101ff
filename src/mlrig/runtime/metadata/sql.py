"""The SQL metadata store: pipeline runs, step runs and artifacts in SQLite, PostgreSQL or
MySQL/MariaDB (the ``sqlite``, ``postgresql`` and ``mysql`` flavors).

One schema (:mod:`.schema`, SQLAlchemy Core), created and upgraded through SQLAlchemy and
Alembic (:mod:`.migrations`, a version table of its own). The queries are plain SQL over the
schema's names, the same text on every database: on SQLite they run on the standard
library's ``sqlite3`` — SQLAlchemy costs more to import than the whole of ``mlrig stack
list``, and ``mlrig pipeline runs list`` must cost about what that does (bench/README.md) —
and on a server through a SQLAlchemy engine built like the profile store's
(:mod:`mlrig.stores.sql`: connection deadline, masked URL, one-line errors). SQLAlchemy is
imported on SQLite only to create or upgrade the schema, once per database.

Transactions
    Every method is one transaction. SQLite: WAL (set when the database is made), a busy
    timeout (``MLRIG_LOCK_TIMEOUT``, 30 s by default), ``BEGIN IMMEDIATE`` for writers,
    so that many processes writing at once wait for each other instead of failing with
    "database is locked"; readers never wait. A run's own beginning and end (and a
    deletion) are committed with ``synchronous=FULL``; the records of its steps and
    artifacts in between with ``NORMAL``, which in WAL mode survives the crash of any
    process (a SIGKILL included) and is flushed to disk by the next FULL commit: a power
    cut during a run can take back the latest step records of that run only (shown
    failed, resumable), never a finished run. PostgreSQL/MySQL: READ COMMITTED writes,
    REPEATABLE READ reads.

Listing
    Newest first by ``(started, id)``, one page at a time with keyset pagination on an
    index (an opaque cursor names the last run shown): a page costs the same at 100 runs as
    at 100,000.

Stale runs
    A run records the host and pid of the process driving it, and that process's start time
    as the OS tells it (so a reused pid is another process). A run still ``running`` whose
    process is gone from this host is stored as ``failed`` the next time runs are read or
    listed (a run of another host cannot be checked from here and is shown as it is).

Schema versions
    A database this mlrig has not seen is given the head schema on its first write; a
    missing SQLite file reads as "no runs" and is not created by a read. A schema newer
    than this mlrig knows is refused in one line naming the database, and never touched.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    LockTimeoutError,
    MlrigError,
    NotFoundError,
    StoreError,
)
from mlrig.fsutil import DEFAULT_LOCK_TIMEOUT
from mlrig.runtime.metadata.revisions import HEAD, REVISIONS, VERSION_TABLE
from mlrig.runtime.records import (
    ArtifactRecord,
    PipelineRunRecord,
    RunPage,
    RunStatus,
    StepRunRecord,
    StepStatus,
)

if TYPE_CHECKING:
    from mlrig.runtime.registry import RuntimeContext

#: the run reference that names the newest run (run ids are hexadecimal: no id is this)
LATEST = "latest"

#: the most runs or artifacts one page may hold
MAX_PAGE = 1000
#: connections a forked child inherited: kept, never used or closed by the child
_INHERITED: list[Any] = []

_RUN_COLUMNS = ("id", "pipeline", "status", "stack", "profile", "orchestrator", "started",
                "finished", "parameters", "host", "pid", "resumed_from", "error")
_STEP_COLUMNS = ("id", "run_id", "name", "status", "cached", "cache_key", "cache_parts",
                 "parameters", "upstream", "started", "finished", "attempts", "error",
                 "logs_uri", "original_step_run_id")
_ARTIFACT_COLUMNS = ("id", "name", "digest", "uri", "size", "data_type", "materializer",
                     "materializer_version", "producer_step_run_id", "created", "versions")


def _columns(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{name}" for name in names)


_RUNS_SELECT = f"SELECT {_columns(_RUN_COLUMNS)} FROM mlrig_pipeline_runs"
_STEPS_SELECT = f"SELECT {_columns(_STEP_COLUMNS, 's.')} FROM mlrig_step_runs s"
_ARTIFACTS_SELECT = f"SELECT {_columns(_ARTIFACT_COLUMNS)} FROM mlrig_artifacts"


class _Tx(Protocol):
    """One transaction: ``?`` placeholders on every database."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...


# ------------------------------------------------------------------- processes


def process_start(pid: int) -> str | None:
    """When the process ``pid`` of this host started, as an opaque token (Linux: its start
    time in clock ticks since boot); ``None`` when it is gone, a zombie, or cannot be told."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(")") + 2:].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def process_alive(pid: int, token: str | None) -> bool:
    """Whether the process ``pid`` of this host, which started at ``token``, still runs."""
    if pid <= 0:
        return True  # nothing recorded: cannot tell, never call it gone
    if os.path.isdir("/proc/self"):
        now = process_start(pid)
        return now is not None and (token is None or now == token)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def this_host() -> str:
    import socket  # only when there is a process to look for (start-up cost)

    return socket.gethostname()


# ------------------------------------------------------------------- cursors


def _encode_cursor(started: float, run_id: str) -> str:
    raw = json.dumps([started, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        if len(cursor) > 1000:  # a run id is short: no cursor is this long
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        started, run_id = json.loads(raw)
        if not isinstance(run_id, str) or not isinstance(started, (int, float)):
            raise ValueError(cursor)
        return float(started), run_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        shown = cursor if len(cursor) <= 60 else f"{cursor[:40]}... ({len(cursor)} characters)"
        raise InputError(
            f"Invalid cursor '{shown}': give the one a listing printed as its next page."
        ) from None


def _shown(value: str) -> str:
    """An id as a message shows it: a huge one shortened."""
    return value if len(value) <= 80 else f"{value[:60]}... ({len(value)} characters)"


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"Invalid page size {limit}: give a number from 1 to {MAX_PAGE}.")


# ------------------------------------------------------------------- rows <-> records


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise InputError(f"A run record cannot be stored as JSON ({exc}).") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _load(raw: Any, default: Any) -> Any:
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _run(row: Sequence[Any], steps: Sequence[StepRunRecord] = ()) -> PipelineRunRecord:
    (run_id, pipeline, status, stack, profile, orchestrator, started, finished, parameters,
     host, pid, resumed_from, error) = row
    return PipelineRunRecord(
        id=run_id, pipeline=pipeline, status=RunStatus(status), stack=stack,
        profile=profile, orchestrator=orchestrator, started=float(started),
        finished=_float(finished), parameters=_load(parameters, {}), host=host,
        pid=int(pid), resumed_from=resumed_from, error=error, steps=tuple(steps),
    )


def _step(row: Sequence[Any], inputs: Mapping[str, str],
          outputs: Mapping[str, str]) -> StepRunRecord:
    (step_id, run_id, name, status, cached, cache_key, cache_parts, parameters, upstream,
     started, finished, attempts, error, logs_uri, original) = row
    return StepRunRecord(
        id=step_id, run_id=run_id, name=name, status=StepStatus(status), cached=bool(cached),
        cache_key=cache_key, cache_parts=_load(cache_parts, {}),
        parameters=_load(parameters, {}), inputs=dict(inputs), outputs=dict(outputs),
        upstream=tuple(_load(upstream, [])), started=_float(started),
        finished=_float(finished), attempts=int(attempts), error=error, logs_uri=logs_uri,
        original_step_run_id=original,
    )


def _artifact(row: Sequence[Any]) -> ArtifactRecord:
    (artifact_id, name, digest, uri, size, data_type, materializer, version, producer,
     created, versions) = row
    return ArtifactRecord(
        id=artifact_id, name=name, digest=digest, uri=uri, size=int(size),
        data_type=data_type, materializer=materializer, materializer_version=version,
        producer_step_run_id=producer, created=float(created),
        versions=_load(versions, {}),
    )


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%"


# ------------------------------------------------------------------- the store


class SQLMetadataStore:
    """A metadata store in a SQL database (see the module documentation)."""

    def __init__(self, name: str, *, sqlite_file: Path | None = None,
                 url: str | None = None, connect_timeout: int | None = None) -> None:
        if (sqlite_file is None) == (url is None):
            raise ValueError("give a SQLite file or a server URL")
        self.name = name
        self.sqlite_file = sqlite_file
        self.url = url
        self._connect_timeout = connect_timeout
        self.where = str(sqlite_file) if sqlite_file is not None else _mask(url or "")
        self._db: _Database | None = None
        self._lock = threading.RLock()

    # construction -------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: RuntimeContext) -> SQLMetadataStore:
        if context.flavor == "sqlite":
            from mlrig.runtime.registry import local_path

            uri = str(config["uri"]).strip()
            prefix = next((p for p in ("sqlite:///", "sqlite+pysqlite:///")
                           if uri.startswith(p)), "")
            inner = uri[len(prefix):].split("?", 1)[0] if prefix else uri
            if inner and inner != ":memory:" and "\x00" not in inner:
                local_path(inner, context, "uri", "metadata store")  # no relative path
            return cls(context.component_name, sqlite_file=sqlite_path(uri))
        return cls(context.component_name, url=server_url(context.flavor, config))

    def __getstate__(self) -> dict[str, Any]:  # sent to worker processes: no connections
        state = self.__dict__.copy()
        state["_db"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SQLMetadataStore({self.name!r}, {self.where!r})"

    @property
    def describe(self) -> str:
        return f"the metadata store '{self.name}' ({self.where})"

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _database(self) -> _Database:
        db = self._db
        if db is None or db.pid != os.getpid():  # never a connection inherited by fork
            if db is not None:
                _INHERITED.append(db)  # nor closed here: it is the parent's
            if self.sqlite_file is not None:
                db = _SQLiteDatabase(self.sqlite_file, self.describe)
            else:
                assert self.url is not None
                db = _ServerDatabase(self.name, self.url, self.describe, self._connect_timeout)
            self._db = db
        return db

    @contextlib.contextmanager
    def _read(self) -> Iterator[_Tx | None]:
        """A read transaction; ``None`` when there is no database yet (no runs)."""
        with self._lock:
            db = self._database()
            with db.transaction(write=False) as tx:
                yield tx

    @contextlib.contextmanager
    def _write(self, durable: bool = True) -> Iterator[_Tx]:
        """A write transaction. ``durable=False`` (the records of a run in progress: its
        steps and artifacts) may skip the flush to disk on SQLite: such a commit survives a
        crash of any process, and the next durable commit (the run's end) flushes it with
        everything before it; only a power cut can take it back, with the run then shown as
        failed and resumable."""
        with self._lock:
            db = self._database()
            db.ensure_schema()
            with db.transaction(write=True, durable=durable) as tx:
                assert tx is not None
                yield tx

    # MetadataStore --------------------------------------------------------------------
    def check(self) -> None:
        with self._write() as tx:
            tx.rows("SELECT kind FROM mlrig_runs_meta")

    def create_run(self, run: PipelineRunRecord) -> None:
        token = process_start(run.pid) if run.pid > 0 and run.host == this_host() else None
        with self._write() as tx:
            if tx.rows("SELECT 1 FROM mlrig_pipeline_runs WHERE id = ?", (run.id,)):
                raise AlreadyExistsError(f"A pipeline run with the id '{run.id}' already "
                                         f"exists in {self.describe}.")
            tx.run(
                "INSERT INTO mlrig_pipeline_runs (id, pipeline, status, stack, profile, "
                "orchestrator, started, finished, parameters, host, pid, process_start, "
                "resumed_from, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.id, run.pipeline, RunStatus(run.status).value, run.stack, run.profile,
                 run.orchestrator, float(run.started), _float(run.finished),
                 _dump(dict(run.parameters)), run.host, int(run.pid), token,
                 run.resumed_from, run.error),
            )
            for step in run.steps:
                _save_step(tx, step, self.describe)

    def finish_run(self, run_id: str, status: RunStatus, finished: float,
                   error: str | None = None) -> None:
        with self._write() as tx:
            changed = tx.run(
                "UPDATE mlrig_pipeline_runs SET status = ?, finished = ?, error = ? "
                "WHERE id = ?", (RunStatus(status).value, float(finished), error, run_id))
            if not changed:
                raise self._no_run(run_id)

    def save_step_run(self, step: StepRunRecord) -> None:
        with self._write(durable=False) as tx:
            _save_step(tx, step, self.describe)

    def save_artifact(self, artifact: ArtifactRecord) -> None:
        a = artifact
        values = (a.name, a.digest, a.uri, int(a.size), a.data_type, a.materializer,
                  a.materializer_version, a.producer_step_run_id, float(a.created),
                  _dump(dict(a.versions)))
        with self._write(durable=False) as tx:
            exists = tx.rows("SELECT 1 FROM mlrig_artifacts WHERE id = ?", (a.id,))
            if exists:
                tx.run(
                    "UPDATE mlrig_artifacts SET name = ?, digest = ?, uri = ?, size = ?, "
                    "data_type = ?, materializer = ?, materializer_version = ?, "
                    "producer_step_run_id = ?, created = ?, versions = ? WHERE id = ?",
                    (*values, a.id))
            else:
                tx.run(f"INSERT INTO mlrig_artifacts ({_columns(_ARTIFACT_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(_ARTIFACT_COLUMNS))})", (a.id, *values))

    def get_run(self, run_id: str) -> PipelineRunRecord:
        stale = self._reap_stale()
        with self._read() as tx:
            if tx is None:
                raise self._no_run(run_id)
            if run_id == LATEST:
                rows = tx.rows(_RUNS_SELECT + " ORDER BY started DESC, id DESC LIMIT 1")
                if not rows:
                    raise NotFoundError(f"No pipeline run is recorded in {self.describe}.")
                run_id = str(rows[0][0])
            row = self._find(tx, "mlrig_pipeline_runs", _RUNS_SELECT, run_id, "run")
            steps = _steps(tx, "WHERE s.run_id = ? ORDER BY s.position, s.id", (row[0],))
        return _as_failed(_run(row, steps), stale)

    def list_runs(self, *, pipeline: str | None = None, status: RunStatus | None = None,
                  limit: int = 50, cursor: str | None = None) -> RunPage:
        _check_limit(limit)
        where: list[str] = []
        params: list[Any] = []
        if pipeline is not None:
            where.append("pipeline = ?")
            params.append(pipeline)
        if status is not None:
            where.append("status = ?")
            params.append(RunStatus(status).value)
        if cursor is not None:
            started, last_id = _decode_cursor(cursor)
            where.append("(started < ? OR (started = ? AND id < ?))")
            params += [started, started, last_id]
        sql = _RUNS_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY started DESC, id DESC LIMIT {limit + 1}"
        stale = self._reap_stale()
        with self._read() as tx:
            rows = [] if tx is None else tx.rows(sql, params)
        runs = [_as_failed(_run(row), stale) for row in rows[:limit]]
        more = len(rows) > limit
        return RunPage(runs, _encode_cursor(runs[-1].started, runs[-1].id) if more else None)

    def delete_run(self, run_id: str) -> None:
        with self._write() as tx:
            if not tx.rows("SELECT 1 FROM mlrig_pipeline_runs WHERE id = ?", (run_id,)):
                raise self._no_run(run_id)
            produced = [r[0] for r in tx.rows(
                "SELECT a.id FROM mlrig_artifacts a JOIN mlrig_step_runs s "
                "ON a.producer_step_run_id = s.id WHERE s.run_id = ?", (run_id,))]
            tx.run("DELETE FROM mlrig_step_artifacts WHERE step_run_id IN "
                   "(SELECT id FROM mlrig_step_runs WHERE run_id = ?)", (run_id,))
            tx.run("DELETE FROM mlrig_step_runs WHERE run_id = ?", (run_id,))
            tx.run("DELETE FROM mlrig_pipeline_runs WHERE id = ?", (run_id,))
            # the records of the run's artifacts that no other step run reads or reuses
            # (the bytes stay in the artifact store, shared by content)
            for artifact_id in produced:
                tx.run("DELETE FROM mlrig_artifacts WHERE id = ? AND NOT EXISTS (SELECT 1 "
                       "FROM mlrig_step_artifacts WHERE artifact_id = ?)",
                       (artifact_id, artifact_id))

    def pipelines(self) -> Sequence[tuple[str, int, float]]:
        with self._read() as tx:
            rows = [] if tx is None else tx.rows(
                "SELECT pipeline, COUNT(*), MAX(started) FROM mlrig_pipeline_runs "
                "GROUP BY pipeline ORDER BY pipeline")
        return [(str(name), int(count), float(last)) for name, count, last in rows]

    def find_cached(self, cache_key: str) -> StepRunRecord | None:
        with self._read() as tx:
            if tx is None:
                return None
            found = _steps(tx, "WHERE s.cache_key = ? AND s.status = ? AND s.cached = ? "
                           "ORDER BY s.finished DESC, s.id DESC LIMIT 1",
                           (cache_key, StepStatus.COMPLETED.value, False))
        return found[0] if found else None

    def last_step_run(self, pipeline: str, step: str,
                      before_run: str | None = None) -> StepRunRecord | None:
        with self._read() as tx:
            if tx is None:
                return None
            where = "WHERE r.pipeline = ? AND s.name = ?"
            params: list[Any] = [pipeline, step]
            if before_run is not None:
                found = tx.rows("SELECT started, id FROM mlrig_pipeline_runs WHERE id = ?",
                                (before_run,))
                if not found:
                    raise self._no_run(before_run)
                started, run_id = found[0]
                where += " AND (r.started < ? OR (r.started = ? AND r.id < ?))"
                params += [started, started, run_id]
            steps = _steps(tx, f"JOIN mlrig_pipeline_runs r ON r.id = s.run_id {where} "
                           "ORDER BY r.started DESC, r.id DESC LIMIT 1", params)
        return steps[0] if steps else None

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        with self._read() as tx:
            found = [] if tx is None else _steps(tx, "WHERE s.id = ?", (step_run_id,))
        if not found:
            raise NotFoundError(f"No step run '{_shown(step_run_id)}' in {self.describe}.")
        return found[0]

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        with self._read() as tx:
            if tx is None:
                raise NotFoundError(f"No artifact '{_shown(artifact_id)}' in {self.describe}.")
            return _artifact(self._find(tx, "mlrig_artifacts", _ARTIFACTS_SELECT,
                                        artifact_id, "artifact"))

    def list_artifacts(self, *, limit: int = 50,
                       cursor: str | None = None) -> Sequence[ArtifactRecord]:
        """Newest first; ``cursor`` is the id of the last artifact of the previous page."""
        _check_limit(limit)
        with self._read() as tx:
            if tx is None:
                return []
            params: list[Any] = []
            where = ""
            if cursor is not None:
                last = tx.rows("SELECT created FROM mlrig_artifacts WHERE id = ?", (cursor,))
                if not last:
                    raise InputError(f"Invalid cursor '{cursor}': no artifact has that id.")
                where = " WHERE created < ? OR (created = ? AND id < ?)"
                params = [last[0][0], last[0][0], cursor]
            rows = tx.rows(f"{_ARTIFACTS_SELECT}{where} ORDER BY created DESC, id DESC "
                           f"LIMIT {limit}", params)
        return [_artifact(row) for row in rows]

    def consumers(self, artifact_id: str) -> Sequence[StepRunRecord]:
        with self._read() as tx:
            if tx is None:
                return []
            return _steps(tx, "JOIN mlrig_step_artifacts c ON c.step_run_id = s.id "
                          "WHERE c.artifact_id = ? AND c.kind = 'input' "
                          "ORDER BY s.started, s.id", (artifact_id,))

    # helpers --------------------------------------------------------------------------
    def _no_run(self, run_id: str) -> NotFoundError:
        return NotFoundError(f"No pipeline run '{_shown(run_id)}' in {self.describe}.",
                             hint="Run 'mlrig pipeline runs list'.",
                             library_hint="client.list_pipeline_runs() lists the runs.")

    def _find(self, tx: _Tx, table: str, select: str, key: str, what: str) -> tuple[Any, ...]:
        """The row whose id is ``key`` or, failing that, the one row whose id starts with it."""
        rows = tx.rows(f"{select} WHERE id = ?", (key,))
        if not rows and key and ord(key[-1]) < 0x10FFFF:
            # the ids from the key up to the next possible prefix: a walk of the primary key
            # (LIKE with an escape cannot use it); LIKE still catches what a database's
            # collation orders otherwise
            upper = key[:-1] + chr(ord(key[-1]) + 1)
            rows = [row for row in tx.rows(
                f"{select} WHERE id >= ? AND id < ? ORDER BY id LIMIT 20", (key, upper))
                if str(row[0]).startswith(key)]
            if not rows:
                rows = [row for row in tx.rows(
                    f"{select} WHERE id LIKE ? ESCAPE '!' ORDER BY id LIMIT 20",
                    (_like_prefix(key),)) if str(row[0]).startswith(key)]
        if len(rows) == 1:
            return rows[0]
        if not rows:
            if what == "run":
                raise self._no_run(key)
            raise NotFoundError(f"No {what} '{_shown(key)}' in {self.describe}.",
                                hint="Run 'mlrig artifact list'.",
                                library_hint="client.list_artifacts() lists the artifacts.")
        shown = ", ".join(str(row[0]) for row in rows[:3])
        raise InputError(f"The {what} id '{_shown(key)}' is ambiguous in {self.describe}: "
                         f"it starts {len(rows) if len(rows) < 20 else 'at least 20'} ids "
                         f"({shown}, ...); give more of it.")

    def _reap_stale(self) -> dict[str, str]:
        """Store as failed every run still 'running' whose driving process on this host is
        gone (cost: the running runs only, on the status index). Returns their errors by
        run id: a database that cannot be written (read-only) shows them failed all the
        same."""
        with self._read() as tx:
            if tx is None:
                return {}
            running = tx.rows("SELECT id, host, pid, process_start FROM mlrig_pipeline_runs "
                              "WHERE status = ?", (RunStatus.RUNNING.value,))
        if not running:
            return {}
        host = this_host()
        stale = {run_id: (f"The process driving the run (pid {pid} on {host}) ended without "
                          "finishing it.")
                 for run_id, run_host, pid, token in running
                 if run_host == host and not process_alive(int(pid), token)}
        if not stale:
            return stale
        now = time.time()
        with self._lock:
            db = self._database()
            if db.read_only_reason() is not None:
                return stale
            with db.transaction(write=True) as tx:
                assert tx is not None
                for run_id, error in stale.items():
                    if tx.run("UPDATE mlrig_pipeline_runs SET status = ?, finished = ?, "
                              "error = ? WHERE id = ? AND status = ?",
                              (RunStatus.FAILED.value, now, error, run_id,
                               RunStatus.RUNNING.value)):
                        tx.run("UPDATE mlrig_step_runs SET status = ?, finished = ?, "
                               "error = ? WHERE run_id = ? AND status = ?",
                               (StepStatus.FAILED.value, now, error, run_id,
                                StepStatus.RUNNING.value))
        return stale


def _as_failed(run: PipelineRunRecord, stale: Mapping[str, str]) -> PipelineRunRecord:
    """A stale run as it is stored once marked (for a database that cannot be written)."""
    error = stale.get(run.id)
    if error is None or run.status is not RunStatus.RUNNING:
        return run
    from dataclasses import replace

    steps = tuple(replace(s, status=StepStatus.FAILED, error=error)
                  if s.status is StepStatus.RUNNING else s for s in run.steps)
    return replace(run, status=RunStatus.FAILED, error=error, steps=steps)


def _save_step(tx: _Tx, step: StepRunRecord, describe: str) -> None:
    if not tx.rows("SELECT 1 FROM mlrig_pipeline_runs WHERE id = ?", (step.run_id,)):
        raise NotFoundError(f"No pipeline run '{step.run_id}' in {describe} (for the step "
                            f"run '{step.name}').")
    values = (step.name, StepStatus(step.status).value, bool(step.cached), step.cache_key,
              _dump(dict(step.cache_parts)), _dump(dict(step.parameters)),
              _dump(list(step.upstream)), _float(step.started), _float(step.finished),
              int(step.attempts), step.error, step.logs_uri, step.original_step_run_id)
    existing = tx.rows("SELECT run_id FROM mlrig_step_runs WHERE id = ?", (step.id,))
    if existing:
        if existing[0][0] != step.run_id:
            raise InputError(f"The step run '{step.id}' belongs to the run "
                             f"'{existing[0][0]}', not '{step.run_id}'.")
        tx.run("DELETE FROM mlrig_step_artifacts WHERE step_run_id = ?", (step.id,))
        tx.run("UPDATE mlrig_step_runs SET name = ?, status = ?, cached = ?, cache_key = ?, "
               "cache_parts = ?, parameters = ?, upstream = ?, started = ?, finished = ?, "
               "attempts = ?, error = ?, logs_uri = ?, original_step_run_id = ? WHERE id = ?",
               (*values, step.id))
    else:
        position = tx.rows("SELECT COUNT(*) FROM mlrig_step_runs WHERE run_id = ?",
                           (step.run_id,))[0][0]
        tx.run("INSERT INTO mlrig_step_runs (id, run_id, position, name, status, cached, "
               "cache_key, cache_parts, parameters, upstream, started, finished, attempts, "
               "error, logs_uri, original_step_run_id) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (step.id, step.run_id, int(position), *values))
    for kind, mapping in (("input", step.inputs), ("output", step.outputs)):
        for name, artifact_id in mapping.items():
            tx.run("INSERT INTO mlrig_step_artifacts (step_run_id, kind, name, artifact_id) "
                   "VALUES (?, ?, ?, ?)", (step.id, kind, name, artifact_id))


def _steps(tx: _Tx, tail: str, params: Sequence[Any]) -> list[StepRunRecord]:
    rows = tx.rows(f"{_STEPS_SELECT} {tail}", params)
    if not rows:
        return []
    ids = [row[0] for row in rows]
    links: dict[str, tuple[dict[str, str], dict[str, str]]] = {i: ({}, {}) for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for step_id, kind, name, artifact_id in tx.rows(
                "SELECT step_run_id, kind, name, artifact_id FROM mlrig_step_artifacts "
                f"WHERE step_run_id IN ({', '.join('?' * len(chunk))}) ORDER BY name", chunk):
            links[step_id][0 if kind == "input" else 1][name] = artifact_id
    return [_step(row, *links[row[0]]) for row in rows]


# ------------------------------------------------------------------- configs


def sqlite_path(uri: str) -> Path:
    """The database file of a ``sqlite`` flavor's ``uri`` (a path, or ``sqlite:///PATH``)."""
    raw = uri.strip()
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if raw.startswith(prefix):
            raw = raw[len(prefix):].split("?", 1)[0]
            break
    if not raw or raw == ":memory:" or "\x00" in raw:
        raise InputError(f"Invalid SQLite metadata store path '{uri}': name a database file.")
    return Path(raw).expanduser().absolute()


#: flavor -> SQLAlchemy driver name
_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}


def server_url(flavor: str, config: Mapping[str, Any]) -> str:
    """The SQLAlchemy URL of a ``postgresql`` / ``mysql`` flavor's config."""
    from sqlalchemy.engine import URL

    driver = _DRIVERS.get(flavor)
    if driver is None:
        raise InputError(f"The metadata store flavor '{flavor}' is not a SQL database.")
    url = URL.create(driver, username=config.get("username"), password=config.get("password"),
                     host=config.get("host"), port=config.get("port"),
                     database=config.get("database"))
    return str(url.render_as_string(hide_password=False))


def _mask(url: str) -> str:
    from mlrig.stores import mask_url

    return mask_url(url)


# ------------------------------------------------------------------- databases


class _Database(Protocol):
    pid: int

    def transaction(self, *, write: bool, durable: bool = True
                    ) -> contextlib.AbstractContextManager[_Tx | None]: ...

    def ensure_schema(self) -> None: ...

    def read_only_reason(self) -> str | None: ...

    def close(self) -> None: ...


def _refuse_newer(revision: str, describe: str) -> None:
    if revision not in REVISIONS:
        from mlrig._version import __version__

        raise StoreError(
            f"The database of {describe} has the schema revision '{revision}', which this "
            f"mlrig ({__version__}, metadata schema {HEAD}) does not know: a newer mlrig "
            "wrote it. It was left untouched.",
            hint="Upgrade mlrig to use this metadata store.",
        )


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount


class _SQLiteDatabase:
    """One SQLite file through the standard library (see the module documentation)."""

    def __init__(self, path: Path, describe: str) -> None:
        self.path = path
        self.describe = describe
        self.pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        self._revision_ok = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def read_only_reason(self) -> str | None:
        for target in (self.path, self.path.parent):
            if target.exists() and not os.access(target, os.W_OK):
                return f"'{target}' is not writable"
        return None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                if self.read_only_reason() is not None:
                    from urllib.parse import quote

                    conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True,
                                           timeout=DEFAULT_LOCK_TIMEOUT, isolation_level=None,
                                           check_same_thread=False)
                else:
                    conn = sqlite3.connect(self.path, timeout=DEFAULT_LOCK_TIMEOUT,
                                           isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(DEFAULT_LOCK_TIMEOUT * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise self._error("open", exc) from None
            self._conn = conn
        return self._conn

    def _revision(self, conn: sqlite3.Connection) -> str | None:
        try:
            rows = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return ",".join(sorted(str(r[0]) for r in rows)) if rows else None

    def _check_revision(self, conn: sqlite3.Connection) -> str | None:
        if self._revision_ok:
            return HEAD
        revision = self._revision(conn)
        if revision is not None:
            _refuse_newer(revision, self.describe)
            self._revision_ok = revision == HEAD
        return revision

    @contextlib.contextmanager
    def transaction(self, *, write: bool, durable: bool = True) -> Iterator[_Tx | None]:
        if not write and not self.path.exists():
            yield None  # no database yet: no runs, and a read creates nothing
            return
        action = "write to" if write else "read"
        conn = self._connection()
        try:
            if write:
                # WAL: NORMAL commits without fsync (safe against any process crash), FULL
                # flushes the log, and with it every commit before
                conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise self._error(action, exc) from None
        try:
            revision = self._check_revision(conn)
            if revision != HEAD:
                if write:  # ensure_schema ran before; a concurrent downgrade cannot be
                    raise StoreError(f"The database of {self.describe} has no metadata "
                                     "schema.")
                conn.execute("ROLLBACK")
                if revision is None:
                    yield None
                    return
                self.ensure_schema()  # an older schema: upgrade it, then read
                conn.execute("BEGIN")
            yield _SQLiteTx(conn)
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise self._error(action, exc) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise self._error(action, exc) from None

    def ensure_schema(self) -> None:
        """Create the database (0600, in a 0700 directory) and its head schema, or upgrade
        an older one — once, whoever else tries at once (under ``BEGIN IMMEDIATE``)."""
        if self._revision_ok:
            return
        reason = self.read_only_reason()
        if reason is not None:
            raise StoreError(f"Cannot write to {self.describe}: {reason}.")
        from mlrig.fsutil import ensure_dir

        try:
            ensure_dir(self.path.parent)
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"Cannot create the database of {self.describe}: "
                             f"{exc.strerror or exc}.") from None
        else:
            os.close(fd)
        conn = self._connection()
        try:
            revision = self._revision(conn)
        except sqlite3.Error as exc:
            raise self._error("open", exc) from None
        if revision is not None:
            _refuse_newer(revision, self.describe)
        if revision == HEAD:
            self._revision_ok = True
            return
        _migrate_sqlite(self.path, self.describe)
        self._revision_ok = True

    def _error(self, action: str, exc: sqlite3.Error) -> MlrigError:
        cause = " ".join(str(exc).split()) or type(exc).__name__
        if "locked" in cause or "busy" in cause:
            return LockTimeoutError(
                f"Cannot {action} {self.describe}: another process held it for more than "
                f"{DEFAULT_LOCK_TIMEOUT:.0f}s ({cause}).",
                hint="Try again; MLRIG_LOCK_TIMEOUT sets how long to wait.")
        hint = None
        if "unable to open" in cause or "readonly" in cause:
            hint = "Check that the directory of the database exists and is writable."
        elif "not a database" in cause or "malformed" in cause:
            hint = "The file is not an SQLite database: point the metadata store elsewhere."
        return StoreError(f"Cannot {action} {self.describe}: {cause}.", hint=hint,
                          library_hint=hint)


def _migrate_sqlite(path: Path, describe: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.pool import NullPool

    from mlrig.stores.sql import _configure_sqlite

    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool,
                              connect_args={"timeout": DEFAULT_LOCK_TIMEOUT})
    _configure_sqlite(engine)  # WAL, busy timeout, BEGIN IMMEDIATE for mlrig_write
    try:
        with engine.connect() as conn:
            conn.execution_options(mlrig_write=True)
            with conn.begin():
                _create_or_upgrade(conn, describe)
    except sa_exc.DBAPIError as exc:
        raise StoreError(f"Cannot create the schema of {describe}: "
                         f"{' '.join(str(exc.orig).split())}.") from None
    finally:
        engine.dispose()


def _create_or_upgrade(conn: Any, describe: str) -> None:
    """In the caller's locked transaction: the head schema for a new database, the Alembic
    migrations for an older one, nothing for the head, a refusal for a newer one."""
    import sqlalchemy as sa

    from mlrig.runtime.metadata import schema

    revision: str | None = None
    if sa.inspect(conn).has_table(VERSION_TABLE):
        found = [str(r[0]) for r in conn.execute(sa.text(f"SELECT version_num FROM "
                                                         f"{VERSION_TABLE}"))]
        revision = ",".join(sorted(found)) if found else None
    if revision == HEAD:
        return
    if revision is None:
        schema.create_head(conn)
        return
    _refuse_newer(revision, describe)
    from mlrig.runtime.metadata import migrations

    migrations.upgrade(conn, HEAD)


class _ServerTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        result = self._conn.exec_driver_sql(sql.replace("?", "%s"), tuple(params))
        return [tuple(row) for row in result]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._conn.exec_driver_sql(sql.replace("?", "%s"), tuple(params)).rowcount)


#: key of the PostgreSQL advisory lock that serialises metadata schema migrations
_MIGRATION_LOCK_KEY = 0x6D6C72756E73  # "mlruns"


class _ServerDatabase:
    """A PostgreSQL or MySQL/MariaDB database through a SQLAlchemy engine set up as the
    profile store's is (a deadline for every connection attempt, READ COMMITTED writes)."""

    def __init__(self, name: str, url: str, describe: str,
                 connect_timeout: int | None) -> None:
        from sqlalchemy.engine import make_url

        from mlrig.stores.sql_url import DEFAULT_CONNECT_TIMEOUT, secrets_of

        self.name = name
        self.url = url
        self.describe = describe
        self.pid = os.getpid()
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.database = parsed.database
        self._secrets = secrets_of(parsed)
        self._timeout = connect_timeout or DEFAULT_CONNECT_TIMEOUT
        self._engine: Any = None
        self._schema_ok = False

    def read_only_reason(self) -> str | None:
        return None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _engine_(self) -> Any:
        if self._engine is None:
            import sqlalchemy as sa
            from sqlalchemy import exc as sa_exc

            from mlrig.stores.sql import _bound_pymysql_handshake
            from mlrig.stores.sql_shared import first_line as _first_line
            from mlrig.stores.sql_url import DRIVER_PACKAGES

            try:
                engine = sa.create_engine(
                    self.url, pool_pre_ping=True, isolation_level="READ COMMITTED",
                    connect_args={"connect_timeout": self._timeout})
            except (sa_exc.NoSuchModuleError, ImportError) as exc:
                driver = sa.engine.make_url(self.url).get_driver_name()
                package = DRIVER_PACKAGES.get(driver)
                raise StoreError(
                    f"Cannot open {self.describe}: the database driver '{driver}' is not "
                    f"available ({_first_line(str(exc))}).",
                    hint=f"Install it with: python3 -m pip install '{package}'"
                    if package else None) from None
            if engine.dialect.driver == "pymysql":
                _bound_pymysql_handshake(engine, self._timeout)
            self._engine = engine
        return self._engine

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        from sqlalchemy import exc as sa_exc

        from mlrig.stores.sql import _cause
        from mlrig.stores.sql_shared import hint as _hint

        try:
            yield
        except MlrigError:
            raise
        except sa_exc.DBAPIError as exc:
            cause = _cause(exc, self._secrets, self.describe)
            lowered = cause.lower()
            if exc.statement is None or exc.connection_invalidated:
                action = "connect to"
            if "lock" in lowered and ("timeout" in lowered or "wait" in lowered):
                raise LockTimeoutError(
                    f"Cannot {action} {self.describe}: another process held it for more than "
                    f"{DEFAULT_LOCK_TIMEOUT:.0f}s ({cause.rstrip('.?!')}).",
                    hint="Try again; MLRIG_LOCK_TIMEOUT sets how long to wait.") from None
            hint, library_hint = _hint(lowered), _hint(lowered, library=True)
            if any(word in lowered for word in ("password", "access denied", "authentic")):
                hint = ("Check the metadata store's username and password: 'mlrig "
                        f"metadata-store update {self.name} --username=... --password=...'.")
                library_hint = ("Check the metadata store's username and password: "
                                f"client.update_component('metadata_store', '{self.name}', "
                                "{'password': ...}).")
            raise StoreError(f"Cannot {action} {self.describe}: {cause}", hint=hint,
                             library_hint=library_hint) from None

    def _revision(self, conn: Any) -> str | None:
        import sqlalchemy as sa

        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return None
        found = [str(r[0]) for r in conn.exec_driver_sql(f"SELECT version_num FROM "
                                                          f"{VERSION_TABLE}")]
        return ",".join(sorted(found)) if found else None

    @contextlib.contextmanager
    def transaction(self, *, write: bool, durable: bool = True) -> Iterator[_Tx | None]:
        engine = self._engine_()
        action = "write to" if write else "read"
        with self._errors(action), engine.connect() as conn:
            if not write:
                conn.execution_options(isolation_level="REPEATABLE READ")
            if not self._schema_ok:
                revision = self._revision(conn)
                conn.rollback()
                if revision is not None:
                    _refuse_newer(revision, self.describe)
                if revision is None and not write:
                    yield None  # no schema yet: no runs, and a read creates nothing
                    return
                if revision != HEAD:
                    self.ensure_schema()
                self._schema_ok = True
            with conn.begin():
                yield _ServerTx(conn)

    def ensure_schema(self) -> None:
        if self._schema_ok:
            return
        import sqlalchemy as sa

        engine = self._engine_()
        with self._errors("initialise"), engine.connect() as conn:
            lock = f"mlrig-runs-migrate-{self.database}"[:64]
            if self.backend in ("mysql", "mariadb"):  # DDL commits on its own there
                got = conn.execute(sa.text("SELECT GET_LOCK(:n, :t)"),
                                   {"n": lock, "t": int(DEFAULT_LOCK_TIMEOUT)}).scalar()
                conn.commit()
                if got != 1:
                    raise LockTimeoutError(f"Another process has been creating the schema of "
                                           f"{self.describe} for more than "
                                           f"{DEFAULT_LOCK_TIMEOUT:.0f}s.")
            try:
                with conn.begin():
                    if self.backend == "postgresql":
                        conn.exec_driver_sql(
                            f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
                    _create_or_upgrade(conn, self.describe)
            finally:
                if self.backend in ("mysql", "mariadb"):
                    conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": lock})
                    conn.commit()
        self._schema_ok = True
