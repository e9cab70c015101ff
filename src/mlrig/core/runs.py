"""Inspecting pipeline runs: the runs, steps and artifacts the active stack's metadata store
recorded, as views that load artifacts, and as the documents of ``mlrig pipeline …`` /
``mlrig artifact … -o json|yaml`` (docs/runs.md).

Reads go to the metadata store of the active stack (``--stack``/``--profile`` choose
another); loading an artifact reads its bytes from the artifact store of the stack the run
ran on, and decodes them with the materializer that wrote them (:mod:`mlrig.runtime`).
Nothing here imports SQL libraries: the store does what it needs (on SQLite, nothing but
the standard library).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.core.results import FORMAT_VERSION
from mlrig.core.run_data import log_file
from mlrig.core.runtime_stack import RuntimeStack, runtime_stack
from mlrig.core.session import Session
from mlrig.exceptions import InputError, MlrigError, NotFoundError
from mlrig.models import ComponentType

if TYPE_CHECKING:
    from mlrig.runtime.records import (
        ArtifactRecord,
        MetadataStore,
        PipelineRunRecord,
        RunStatus,
        StepRunRecord,
    )

#: the longest log shown at once
MAX_LOG_BYTES = 64 * 1024 * 1024


def records(session: Session) -> tuple[RuntimeStack, MetadataStore]:
    """The active stack and its metadata store."""
    rs = runtime_stack(session)
    return rs, rs.implementation(ComponentType.METADATA_STORE)


def _status(value: str | None) -> RunStatus | None:
    if value is None:
        return None
    from mlrig.runtime.records import RunStatus

    try:
        return RunStatus(value.strip().lower())
    except ValueError:
        raise InputError(f"Invalid run status '{value}'; choose one of: "
                         f"{', '.join(s.value for s in RunStatus)}.") from None


# ---------------------------------------------------------------------- views


def _record_field(view: Any, name: str) -> Any:
    """A view's missing attribute, from its record (never for private names: a copy or an
    unpickling asks for those before ``record`` exists)."""
    if name.startswith("_") or name == "record":
        raise AttributeError(name)
    return getattr(view.record, name)


@dataclass(frozen=True)
class ArtifactView:
    """An artifact of a run: its record's fields, and :meth:`load`."""

    record: ArtifactRecord
    _session: Session = field(repr=False, compare=False)
    _run: PipelineRunRecord | None = field(default=None, repr=False, compare=False)
    _step: str | None = field(default=None, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:  # id, name, digest, uri, size, data_type, …
        return _record_field(self, name)

    def read_bytes(self) -> bytes:
        """The stored bytes, from the artifact store of the stack the run ran on."""
        return _artifact_bytes(self._session, self.record, self._run)

    def load(self, *, allow_pickle: bool = False) -> Any:
        """The value, decoded by the materializer that wrote it. A pickle is refused unless
        ``allow_pickle``; an artifact written by another Python or library version warns."""
        from mlrig.runtime import materializers

        what = f"artifact '{self.record.name}'" + (
            f" of step '{self._step}'" if self._step else "") + f" ({self.record.id})"
        return materializers.load(
            self.read_bytes(), materializer=self.record.materializer,
            data_type=self.record.data_type, versions=self.record.versions,
            allow_pickle=allow_pickle, what=what)


@dataclass(frozen=True)
class StepView:
    """A step run: its record's fields, and its inputs and outputs as artifacts."""

    record: StepRunRecord
    inputs: Mapping[str, ArtifactView]
    outputs: Mapping[str, ArtifactView]

    def __getattr__(self, name: str) -> Any:  # id, name, status, cached, duration, …
        return _record_field(self, name)


@dataclass(frozen=True)
class RunView:
    """A pipeline run as ``Client().get_pipeline_run()`` returns it: its record's fields,
    and ``steps`` by name — ``run.steps["trainer"].outputs["model"].load()``."""

    record: PipelineRunRecord
    steps: Mapping[str, StepView]

    def __getattr__(self, name: str) -> Any:  # id, pipeline, status, stack, profile, …
        return _record_field(self, name)


def _artifact_bytes(session: Session, record: ArtifactRecord,
                    run: PipelineRunRecord | None) -> bytes:
    """The bytes from the artifact store of the stack the run ran on, else (that stack is
    gone, or changed its artifact store) from the active stack's."""
    errors: list[str] = []
    places: list[tuple[str | None, str | None]] = (
        [(run.stack, run.profile)] if run is not None else [])
    places.append((None, None))
    for stack, profile in places:
        try:
            store = runtime_stack(session, stack=stack, profile=profile).implementation(
                ComponentType.ARTIFACT_STORE)
        except MlrigError as exc:
            errors.append(exc.message)
            continue
        if store.has(record.digest):
            data: bytes = store.get(record.digest)
            return data
    where = (f"the artifact store of stack '{run.stack}' of profile '{run.profile}'"
             if run is not None else "the active stack's artifact store")
    raise NotFoundError(
        f"The bytes of artifact '{record.name}' ({record.id}, {record.digest}) are not in "
        f"{where}" + (f" ({errors[0].rstrip('.')})" if errors else "") + ".")


def run_view(session: Session, run_id: str) -> RunView:
    _, store = records(session)
    run = store.get_run(run_id)
    ids = {i for s in run.steps for i in (*s.inputs.values(), *s.outputs.values())}
    found: dict[str, ArtifactRecord] = {}
    for artifact_id in sorted(ids):
        try:
            found[artifact_id] = store.get_artifact(artifact_id)
        except NotFoundError:
            continue  # a record deleted with the run that made it; shown as missing

    def views(mapping: Mapping[str, str], step: str) -> dict[str, ArtifactView]:
        return {name: ArtifactView(found[i], session, run, step)
                for name, i in mapping.items() if i in found}

    steps = {s.name: StepView(s, views(s.inputs, s.name), views(s.outputs, s.name))
             for s in run.steps}
    return RunView(run, steps)


def artifact_view(session: Session, artifact_id: str) -> ArtifactView:
    _, store = records(session)
    record = store.get_artifact(artifact_id)
    producer = _producer(store, record)
    return ArtifactView(record, session, producer[0] if producer else None,
                        producer[1].name if producer else None)


def _producer(store: MetadataStore, record: ArtifactRecord) -> tuple[
        PipelineRunRecord, StepRunRecord] | None:
    """The run and step run that wrote an artifact (``None`` once its run was deleted)."""
    try:
        step = store.get_step_run(record.producer_step_run_id)
        return store.get_run(step.run_id), step
    except NotFoundError:
        return None


# ---------------------------------------------------------------------- plain reads


def list_pipelines(session: Session) -> list[tuple[str, int, float]]:
    _, store = records(session)
    return [tuple(p) for p in store.pipelines()]  # type: ignore[misc]


def list_runs(session: Session, *, pipeline: str | None = None, status: str | None = None,
              limit: int = 50, cursor: str | None = None) -> tuple[list[PipelineRunRecord],
                                                                   str | None]:
    _, store = records(session)
    page = store.list_runs(pipeline=pipeline, status=_status(status), limit=limit,
                           cursor=cursor)
    return list(page.runs), page.next_cursor


def delete_run(session: Session, run_id: str) -> PipelineRunRecord:
    """Delete a run's records (its steps, and the artifact records no other run uses) and
    its log files; the artifacts' bytes stay in the artifact store (shared by content)."""
    rs, store = records(session)
    run = store.get_run(run_id)
    store.delete_run(run.id)
    _remove_logs(rs, store, run)
    return run


def _still_used(store: MetadataStore, step: StepRunRecord) -> bool:
    """Whether another run reuses the step's outputs (a cached step shows their log)."""
    for artifact_id in step.outputs.values():
        try:
            store.get_artifact(artifact_id)
        except NotFoundError:
            continue
        return True
    return False


def _remove_logs(rs: RuntimeStack, store: MetadataStore, run: PipelineRunRecord) -> None:
    """The log files mlrig wrote for the run (``<data>/logs/<run id>/<step>.log``) that no
    other run shows, and their directory once empty; nothing else, no link followed."""
    from mlrig.fsutil import remove_file

    logs = rs.data_dir / "logs"
    directory = logs / run.id
    for step in run.steps:
        if step.logs_uri is None or _still_used(store, step):
            continue
        path = log_file(logs, step.logs_uri)
        if path is not None and path.parent == directory and path.name == f"{step.name}.log":
            try:
                remove_file(path, root=logs)
            except MlrigError:
                continue
    try:
        if directory.is_dir() and not directory.is_symlink():
            directory.rmdir()
    except OSError:
        pass  # it holds something mlrig did not write there


def _bounded(text: str, limit: int = 200) -> str:
    shown = text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def run_logs(session: Session, run_id: str, step: str | None = None) -> list[tuple[str, str]]:
    """``(step name, log text)`` of every step of the run that has a log (or of ``step``)."""
    from mlrig.fsutil import read_text

    rs, store = records(session)
    run = store.get_run(run_id)
    steps = list(run.steps)
    logs = rs.data_dir / "logs"
    if step is not None:
        steps = [s for s in steps if s.name == step]
        if not steps:
            names = ", ".join(f"'{s.name}'" for s in run.steps) or "none"
            raise NotFoundError(f"Run '{run.id}' has no step '{step}' (its steps: {names}).")
    result = []
    for s in steps:
        if s.logs_uri is None:
            if step is not None:
                raise NotFoundError(f"The step '{s.name}' of run '{run.id}' has no log "
                                    f"({s.status.value}).")
            continue
        # a cached step shows the log of the run it came from: any run's directory; the
        # file is looked up in this profile's logs directory by its run and step (a
        # record written before the profile was renamed names the old directory)
        path = log_file(logs, s.logs_uri)
        if path is None or path.parent.is_symlink() or logs.is_symlink():
            # a record names another file (a shared metadata store, an edited record):
            # mlrig shows only the logs it writes itself, in this profile's logs directory
            raise NotFoundError(f"The log of step '{s.name}' of run '{run.id}' is not one "
                                f"this profile wrote ({_bounded(s.logs_uri)}).")
        text = read_text(path, MAX_LOG_BYTES, follow=False)
        if text is None:
            raise NotFoundError(f"The log of step '{s.name}' of run '{run.id}' is gone: "
                                f"'{path}' does not exist.")
        result.append((s.name, text))
    return result


def list_artifacts(session: Session, *, limit: int = 50,
                   cursor: str | None = None) -> list[ArtifactRecord]:
    _, store = records(session)
    return list(store.list_artifacts(limit=limit, cursor=cursor))


def lineage(session: Session, artifact_id: str) -> tuple[
        ArtifactRecord, tuple[PipelineRunRecord, StepRunRecord] | None,
        list[tuple[PipelineRunRecord | None, StepRunRecord]]]:
    """An artifact, the run and step that produced it (``None`` once deleted), and the step
    runs that read it."""
    _, store = records(session)
    artifact = store.get_artifact(artifact_id)
    runs: dict[str, PipelineRunRecord | None] = {}

    def run_of(run_id: str) -> PipelineRunRecord | None:
        if run_id not in runs:
            try:
                runs[run_id] = store.get_run(run_id)
            except NotFoundError:
                runs[run_id] = None
        return runs[run_id]

    producer = _producer(store, artifact)
    consumers = [(run_of(s.run_id), s) for s in store.consumers(artifact.id)]
    return artifact, producer, consumers


# ---------------------------------------------------------------------- documents


def _time(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat()


def _duration(started: float | None, finished: float | None) -> float | None:
    if started is None or finished is None:
        return None
    return round(finished - started, 6)


def run_entry(run: PipelineRunRecord) -> dict[str, Any]:
    """A run without its steps (``runs list``)."""
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "status": run.status.value,
        "stack": run.stack,
        "profile": run.profile,
        "orchestrator": run.orchestrator,
        "started": _time(run.started),
        "finished": _time(run.finished),
        "duration": _duration(run.started, run.finished),
        "host": run.host,
        "pid": run.pid,
        "resumed_from": run.resumed_from,
        "error": run.error,
    }


def artifact_entry(artifact: ArtifactRecord) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "name": artifact.name,
        "digest": artifact.digest,
        "uri": artifact.uri,
        "size": artifact.size,
        "data_type": artifact.data_type,
        "materializer": artifact.materializer,
        "materializer_version": artifact.materializer_version,
        "producer_step_run": artifact.producer_step_run_id,
        "created": _time(artifact.created),
        "versions": dict(artifact.versions),
    }


def step_entry(step: StepRunRecord, artifacts: Mapping[str, ArtifactRecord],
               logs_dir: Path | None = None) -> dict[str, Any]:
    def linked(mapping: Mapping[str, str]) -> dict[str, Any]:
        return {name: artifact_entry(artifacts[i]) if i in artifacts else {"id": i}
                for name, i in mapping.items()}

    return {
        "name": step.name,
        "id": step.id,
        "status": step.status.value,
        "cached": step.cached,
        "started": _time(step.started),
        "finished": _time(step.finished),
        "duration": _duration(step.started, step.finished),
        "attempts": step.attempts,
        "upstream": list(step.upstream),
        "parameters": dict(step.parameters),
        "cache_key": step.cache_key,
        "original_step_run": step.original_step_run_id,
        "inputs": linked(step.inputs),
        "outputs": linked(step.outputs),
        "error": step.error,
        "logs": _shown_log(step.logs_uri, logs_dir),
    }


def _shown_log(logs_uri: str | None, logs_dir: Path | None) -> str | None:
    """Where a step's log is now: in this profile's logs directory (it moved with a renamed
    profile), else as recorded."""
    if logs_uri is None or logs_dir is None:
        return logs_uri
    path = log_file(logs_dir, logs_uri)
    return str(path) if path is not None and path.is_file() else logs_uri


def pipelines_document(session: Session) -> dict[str, Any]:
    """``pipeline list``: every pipeline with runs in the metadata store."""
    return {"format_version": FORMAT_VERSION, "pipelines": [
        {"name": name, "runs": count, "last_run": _time(last)}
        for name, count, last in list_pipelines(session)]}


def runs_document(session: Session, *, pipeline: str | None = None,
                  status: str | None = None, limit: int = 50,
                  cursor: str | None = None) -> dict[str, Any]:
    """``pipeline runs list``: one page of runs, newest first, and the cursor of the next
    page (``null`` on the last one)."""
    runs, next_cursor = list_runs(session, pipeline=pipeline, status=status, limit=limit,
                                  cursor=cursor)
    return {"format_version": FORMAT_VERSION, "runs": [run_entry(r) for r in runs],
            "next_cursor": next_cursor}


def run_document(session: Session, run_id: str) -> dict[str, Any]:
    """``pipeline runs describe``: a run with its parameters and its steps (each with its
    inputs and outputs)."""
    view = run_view(session, run_id)
    artifacts = {a.record.id: a.record for s in view.steps.values()
                 for a in (*s.inputs.values(), *s.outputs.values())}
    entry = run_entry(view.record)
    entry["parameters"] = dict(view.record.parameters)
    logs = runtime_stack(session).data_dir / "logs"
    entry["steps"] = [step_entry(s.record, artifacts, logs) for s in view.steps.values()]
    return {"format_version": FORMAT_VERSION, "run": entry}


def artifacts_document(session: Session, *, limit: int = 50,
                       cursor: str | None = None) -> dict[str, Any]:
    """``artifact list``: one page of artifacts, newest first; ``next_cursor`` is the id of
    the last one when the page is full."""
    found = list_artifacts(session, limit=limit, cursor=cursor)
    return {"format_version": FORMAT_VERSION,
            "artifacts": [artifact_entry(a) for a in found],
            "next_cursor": found[-1].id if len(found) == limit else None}


def _step_ref(run: PipelineRunRecord | None, step: StepRunRecord) -> dict[str, Any]:
    return {"run": step.run_id, "pipeline": run.pipeline if run else None,
            "step": step.name, "step_run": step.id, "status": step.status.value}


def artifact_document(session: Session, artifact_id: str) -> dict[str, Any]:
    """``artifact describe``: an artifact with its lineage (``producer``, ``consumers``)."""
    artifact, producer, consumers = lineage(session, artifact_id)
    entry = artifact_entry(artifact)
    entry["producer"] = _step_ref(*producer) if producer is not None else None
    entry["consumers"] = [_step_ref(run, step) for run, step in consumers]
    return {"format_version": FORMAT_VERSION, "artifact": entry}


def artifact_bytes(session: Session, artifact_id: str) -> tuple[ArtifactRecord, bytes]:
    """``artifact get``: an artifact's stored bytes."""
    view = artifact_view(session, artifact_id)
    return view.record, view.read_bytes()
