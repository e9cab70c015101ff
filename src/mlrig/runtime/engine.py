"""The engine: one pipeline run over a stack's orchestrator, artifact store and metadata store.

The process that calls the pipeline (the *driver*) owns the run: it decides which step runs
when, looks up the cache, and writes every record (run, step runs, artifacts) through the
:class:`~mlrig.runtime.records.MetadataStore`. A step itself runs through
:func:`execute_step` — in the driver (``local``), in a worker process (``local`` with
``parallelism``) or as a task on a Dask cluster (``dask``): it loads its inputs from the
artifact store, calls the function (with its retries), saves each output through a
materializer into the artifact store under the ``sha256`` of its bytes, and returns what it
did. So the records are the same whatever the orchestrator: only where the function ran
differs.

A failed step does not stop the steps that do not depend on it (so which steps ran does not
depend on the orchestrator's timing); the ones downstream of it are recorded ``skipped``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from mlrig.events import (
    Event,
    PipelineRunFinished,
    PipelineRunStarted,
    StepCached,
    StepFailed,
    StepFinished,
    StepReused,
    StepStarting,
)
from mlrig.exceptions import InputError, MlrigError
from mlrig.runtime import caching, materializers
from mlrig.runtime.dag import FunctionRef, PipelineGraph, StepNode, StepSpec, resolve
from mlrig.runtime.masking import Masks
from mlrig.runtime.records import (
    ArtifactRecord,
    ArtifactStore,
    MetadataStore,
    PipelineRunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from mlrig.runtime.step_logs import StepLog, adopt


class StepFailedError(MlrigError):
    """A step of a pipeline run failed (after its retries); its traceback is in its log."""

    def __init__(self, message: str, hint: str | None = None, *,
                 library_hint: str | None = None, run_id: str = "", step: str = "") -> None:
        super().__init__(message, hint, library_hint=library_hint)
        self.run_id = run_id
        self.step = step


class Executor(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]: ...


class Orchestrator(Protocol):
    """What the engine needs of an orchestrator implementation."""

    #: whether steps run in the driver (then a step needs not be importable by name)
    in_process: bool

    def check(self) -> None: ...

    def executor(self) -> contextlib.AbstractContextManager[Executor | None]:
        """Where steps are submitted; ``None``: run them one by one in the driver."""


# ----------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class InputArtifact:
    artifact_id: str
    name: str  # the output name at its producer
    producer: str  # the producer step's name in the run
    digest: str
    materializer: str
    data_type: str
    versions: Mapping[str, str]


@dataclass(frozen=True)
class StepTask:
    """Everything a step needs to run anywhere (picklable when ``func`` is ``None``)."""

    step: str
    ref: FunctionRef
    inputs: Mapping[str, InputArtifact]
    parameters: Mapping[str, Any]
    artifact_store: Any
    outputs: tuple[str, ...]
    returns_tuple: bool
    allow_pickle: bool
    retries: int
    retry_delay: float
    func: Callable[..., Any] | None = None  # in the driver: the function itself
    #: the secret values of the stack, each shown as its reference in the log and the error
    masks: Masks = field(default_factory=Masks)
    #: the driver's logs directory, the run's directory below it and the driver's host: a
    #: long log is spilled there (:mod:`mlrig.runtime.step_logs`)
    logs_dir: str | None = None
    run_dir: str = ""
    driver_host: str = ""


@dataclass(frozen=True)
class OutputResult:
    name: str
    digest: str
    uri: str
    size: int
    data_type: str
    materializer: str
    materializer_version: str
    versions: Mapping[str, str]


@dataclass(frozen=True)
class StepResult:
    step: str
    ok: bool
    started: float
    finished: float
    attempts: int
    log: str  # the whole log, or its tail when it was spilled to ``log_file``
    outputs: tuple[OutputResult, ...] = ()
    error: str | None = None  # one line
    log_file: str | None = None  # the spill file in the run's log directory, if any


class _Tee(io.TextIOBase):
    """Writes to the buffer and to the stream it replaces, with no secret value."""

    def __init__(self, stream: Any, buffer: io.TextIOBase, masks: Masks) -> None:
        self.stream = stream
        self.buffer_ = buffer
        self.masks = masks

    def write(self, text: str) -> int:
        shown = self.masks(text)
        self.buffer_.write(shown)
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.write(shown)
        return len(text)

    def flush(self) -> None:
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.flush()


@contextlib.contextmanager
def _captured(buffer: io.TextIOBase, masks: Masks) -> Iterator[None]:
    """The step's prints and log records go to ``buffer`` (and on to where they went)."""
    handler = logging.StreamHandler(_Tee(None, buffer, masks))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, buffer, masks), _Tee(err, buffer, masks)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        root.removeHandler(handler)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, MlrigError):
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _load_inputs(task: StepTask) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for argument, item in task.inputs.items():
        data = task.artifact_store.get(item.digest)
        values[argument] = materializers.load(
            data,
            materializer=item.materializer,
            data_type=item.data_type,
            versions=item.versions,
            allow_pickle=task.allow_pickle,
            what=f"artifact '{item.name}' of step '{item.producer}' ({item.artifact_id})",
        )
    return values


def _outputs_of(task: StepTask, value: Any) -> list[tuple[str, Any]]:
    if not task.outputs:
        return []
    if not task.returns_tuple:
        return [(task.outputs[0], value)]
    if not isinstance(value, (tuple, list)) or len(value) != len(task.outputs):
        got = f"{len(value)} values" if isinstance(value, (tuple, list)) else (
            f"a '{materializers.data_type(value)}'")
        raise MlrigError(
            f"Step '{task.step}' is annotated with {len(task.outputs)} outputs but returned {got}."
        )
    return list(zip(task.outputs, value, strict=True))


def _save_outputs(task: StepTask, value: Any) -> tuple[OutputResult, ...]:
    results = []
    for name, item in _outputs_of(task, value):
        try:
            data, materializer = materializers.save(item, task.allow_pickle)
        except MlrigError as exc:
            raise MlrigError(f"Output '{name}': {exc.message} {exc.hint or ''}".strip()) from exc
        digest = materializers.digest_of(data)
        uri = task.artifact_store.put(digest, data)
        results.append(OutputResult(
            name=name, digest=digest, uri=uri, size=len(data),
            data_type=materializers.data_type(item), materializer=materializer.name,
            materializer_version=materializer.version,
            versions=materializers.versions_of(materializer),
        ))
    return tuple(results)


def execute_step(task: StepTask) -> StepResult:
    """Run one step: load its inputs, call it (retrying), save its outputs. Never raises:
    a failure is a result with ``ok=False``, its traceback in ``log``. No secret value of
    the stack is in the log, the step's live output or the error (``task.masks``)."""
    buffer = StepLog(task.step, task.logs_dir, task.run_dir, task.driver_host)
    log = _Tee(None, buffer, task.masks)
    started = time.time()
    attempts = 0

    def result(ok: bool, outputs: tuple[OutputResult, ...] = (),
               exc: BaseException | None = None) -> StepResult:
        text, spilled = buffer.finish()
        return StepResult(task.step, ok, started, time.time(), attempts, text, outputs,
                          error=None if exc is None else task.masks(_one_line(exc)),
                          log_file=spilled)

    def failed(exc: BaseException) -> StepResult:
        return result(False, exc=exc)

    with _captured(buffer, task.masks):
        try:
            func = task.func
            if func is None:
                target = resolve(task.ref)
                func = target.func if isinstance(target, StepSpec) else target
            inputs = _load_inputs(task)
        except Exception as exc:
            traceback.print_exc(file=log)
            return failed(exc)
        while True:
            attempts += 1
            try:
                value = func(**inputs, **task.parameters)
                outputs = _save_outputs(task, value)
                return result(True, outputs)
            except Exception as exc:
                log.write(f"Attempt {attempts} of step '{task.step}' failed:\n")
                traceback.print_exc(file=log)
                if attempts > task.retries:
                    return failed(exc)
                log.write(f"Retrying step '{task.step}' in {task.retry_delay:g} s.\n")
                time.sleep(task.retry_delay)


# ----------------------------------------------------------------------------- parameters
_ADAPTERS: dict[Any, Any] = {}


def _adapter(annotation: Any, factory: Any) -> Any:
    """One pydantic TypeAdapter per annotation (building one costs more than validating)."""
    try:
        found = _ADAPTERS.get(annotation)
    except TypeError:  # not hashable
        return factory(annotation)
    if found is None:
        found = _ADAPTERS[annotation] = factory(annotation)
    return found


def validate_parameters(node: StepNode, overrides: Mapping[str, Any]) -> tuple[
    dict[str, Any], dict[str, Any]
]:
    """``(values for the function, their JSON form for the record)`` of a step's parameters:
    the pipeline call's, with ``overrides`` (the config file's) on top, and the defaults."""
    import inspect

    from pydantic import TypeAdapter, ValidationError
    from pydantic_core import to_jsonable_python

    spec = node.spec
    for name in overrides:
        if name in node.inputs:
            raise InputError(
                f"The config sets '{name}' of step '{node.name}', which is an input (the "
                f"output of step '{node.inputs[name].node}'), not a parameter."
            )
        if name not in spec.signature.parameters:
            known = [n for n in spec.signature.parameters if n not in node.inputs]
            raise InputError(
                f"Step '{node.name}' has no parameter '{name}' (its parameters: "
                f"{', '.join(repr(k) for k in known) or 'none'})."
            )
    given = {**node.parameters, **overrides}
    values: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    for name, parameter in spec.signature.parameters.items():
        if name in node.inputs:
            continue
        if name in given:
            value = given[name]
        elif parameter.default is not inspect.Parameter.empty:
            value = parameter.default
        else:
            raise InputError(
                f"Step '{node.name}' needs a value for its parameter '{name}': give it in the "
                f"pipeline or in the config (parameters: {{{node.name}: {{{name}: ...}}}})."
            )
        annotation = spec.annotation(name)
        if annotation is not inspect.Parameter.empty:
            try:
                value = _adapter(annotation, TypeAdapter).validate_python(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise InputError(
                    f"Parameter '{name}' of step '{node.name}' is not valid: {first['msg']} "
                    f"(got {value!r})."
                ) from None
            except Exception as exc:  # a type pydantic does not know
                raise InputError(
                    f"Parameter '{name}' of step '{node.name}' has a type mlrig cannot "
                    f"validate: {exc}"
                ) from None
        try:
            recorded[name] = to_jsonable_python(value)
        except Exception:
            raise InputError(
                f"Parameter '{name}' of step '{node.name}' cannot be recorded: a "
                f"'{materializers.data_type(value)}' has no JSON form. Pass it as an input "
                "(the output of a step) instead."
            ) from None
        values[name] = value
    return values, recorded


# ----------------------------------------------------------------------------- the run
@dataclass
class RunSettings:
    pipeline: str
    stack: str
    profile: str
    orchestrator: str  # '<name> (<flavor>)'
    logs_dir: Path
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the run's config document
    step_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    enable_cache: bool = True
    resumed_from: str | None = None
    #: step name -> a finished step run of the run being resumed
    reuse: Mapping[str, StepRunRecord] = field(default_factory=dict)
    emit: Callable[[Event], None] = lambda event: None
    #: the stack's resolved secret values: what the run records or prints shows their
    #: references instead
    masks: Masks = field(default_factory=Masks)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class _LazyExecutor:
    """The orchestrator's executor, opened when the first step is submitted: a run whose
    steps all come from the cache starts no worker process and reaches no cluster."""

    def __init__(self, orchestrator: Orchestrator, stack: contextlib.ExitStack) -> None:
        self.orchestrator = orchestrator
        self.stack = stack
        self.executor: Executor | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.executor is None:
            opened = self.stack.enter_context(self.orchestrator.executor())
            if opened is None:
                raise MlrigError("The orchestrator runs steps in process but gave no executor.")
            self.executor = opened
        return self.executor.submit(fn, *args, **kwargs)


def new_id() -> str:
    return uuid.uuid4().hex


class _Run:
    def __init__(self, graph: PipelineGraph, orchestrator: Orchestrator, *,
                 artifact_store: ArtifactStore, metadata: MetadataStore,
                 settings: RunSettings,
                 parameters: Mapping[str, tuple[dict[str, Any], dict[str, Any]]]) -> None:
        self.graph = graph
        self.orchestrator = orchestrator
        self.store = artifact_store
        self.metadata = metadata
        self.settings = settings
        self.run_id = settings.run_id
        self.masks = settings.masks
        self.identity = self.masks(artifact_store.identity)
        self.records: dict[str, StepRunRecord] = {}
        self.artifacts: dict[str, ArtifactRecord] = {}  # id -> record, as far as known
        self.parameters = dict(parameters)
        self.reused_names: set[str] = set()
        self.failed: list[str] = []

    def artifact(self, artifact_id: str) -> ArtifactRecord:
        record = self.artifacts.get(artifact_id)
        if record is None:
            record = self.metadata.get_artifact(artifact_id)
            self.artifacts[artifact_id] = record
        return record

    def inputs_of(self, node: StepNode) -> dict[str, InputArtifact]:
        result = {}
        for argument, out in node.inputs.items():
            upstream = self.records[out.node]
            artifact = self.artifact(upstream.outputs[out.output])
            result[argument] = InputArtifact(
                artifact.id, out.output, out.node, artifact.digest, artifact.materializer,
                artifact.data_type, dict(artifact.versions))
        return result

    def base_record(self, node: StepNode, inputs: Mapping[str, InputArtifact],
                    parts: dict[str, str]) -> StepRunRecord:
        return StepRunRecord(
            id=new_id(), run_id=self.run_id, name=node.name, status=StepStatus.PENDING,
            cache_key=caching.key_of(parts), cache_parts=parts,
            parameters=self.parameters[node.name][1],
            inputs={argument: item.artifact_id for argument, item in inputs.items()},
            upstream=tuple(node.upstream),
        )

    # -- one step, before it runs: reuse, cache hit, or a task
    def begin(self, node: StepNode) -> StepTask | None:
        """The step's record when it needs not run (reused, cached); else its task."""
        inputs = self.inputs_of(node)
        parts = self.masks.values(caching.parts_for(
            node, self.parameters[node.name][1], {a: i.digest for a, i in inputs.items()},
            self.identity))
        record = self.base_record(node, inputs, parts)
        now = time.time()
        reused = self.settings.reuse.get(node.name)
        if reused is not None and all(u in self.reused_names for u in node.upstream):
            self.reused_names.add(node.name)
            self.finish_without_running(node, replace(
                record, status=StepStatus.CACHED, cached=True, outputs=dict(reused.outputs),
                cache_key=reused.cache_key, cache_parts=dict(reused.cache_parts),
                started=now, finished=now, logs_uri=reused.logs_uri,
                original_step_run_id=reused.original_step_run_id or reused.id))
            self.settings.emit(StepReused(node.name, self.settings.resumed_from or ""))
            return None
        if self.settings.enable_cache and node.spec.enable_cache:
            hit = self.metadata.find_cached(record.cache_key or "")
            if hit is not None and set(hit.outputs) == {o.name for o in node.spec.outputs}:
                self.finish_without_running(node, replace(
                    record, status=StepStatus.CACHED, cached=True, outputs=dict(hit.outputs),
                    started=now, finished=now, logs_uri=hit.logs_uri,
                    original_step_run_id=hit.id))
                self.settings.emit(StepCached(node.name))
                return None
        record = replace(record, status=StepStatus.RUNNING, started=now)
        self.log_directory()  # a long log is spilled there while the step runs
        self.records[node.name] = record
        self.metadata.save_step_run(record)
        self.settings.emit(StepStarting(node.name))
        return StepTask(
            step=node.name, ref=node.spec.ref, inputs=inputs,
            parameters=self.parameters[node.name][0], artifact_store=self.store,
            outputs=tuple(o.name for o in node.spec.outputs),
            returns_tuple=node.spec.returns_tuple, allow_pickle=node.spec.allow_pickle,
            retries=node.spec.retries, retry_delay=node.spec.retry_delay,
            func=node.spec.func if self.orchestrator.in_process else None,
            masks=self.masks, logs_dir=str(self.settings.logs_dir), run_dir=self.run_id,
            driver_host=socket.gethostname(),
        )

    def finish_without_running(self, node: StepNode, record: StepRunRecord) -> None:
        self.records[node.name] = record
        self.metadata.save_step_run(record)

    def log_directory(self) -> Path:
        """The run's log directory (made, no link followed below the logs directory)."""
        from mlrig.fsutil import ensure_dir

        root = self.settings.logs_dir
        directory = root / self.run_id
        ensure_dir(root)
        return ensure_dir(directory, root=root)

    def write_log(self, step: str, result: StepResult) -> str:
        """The step's log file: the spilled file renamed into place, or the text written."""
        from mlrig.fsutil import atomic_write

        root = self.settings.logs_dir
        directory = self.log_directory()
        if result.log_file is not None:
            return str(adopt(root, self.run_id, result.log_file, step))
        path = directory / f"{step}.log"
        atomic_write(path, self.masks(result.log), durable=False, root=root)
        return str(path)

    # -- one step, after it ran
    def end(self, node: StepNode, result: StepResult) -> None:
        record = self.records[node.name]
        logs_uri = self.write_log(node.name, result)
        result = replace(result, error=self.masks.optional(result.error))
        if not result.ok:
            self.failed.append(node.name)
            record = replace(record, status=StepStatus.FAILED, started=result.started,
                             finished=result.finished, attempts=result.attempts,
                             error=result.error, logs_uri=logs_uri)
            self.records[node.name] = record
            self.metadata.save_step_run(record)
            self.settings.emit(StepFailed(node.name, result.error or ""))
            return
        outputs = {}
        for out in result.outputs:
            artifact = ArtifactRecord(
                id=new_id(), name=out.name, digest=out.digest, uri=self.masks(out.uri),
                size=out.size,
                data_type=out.data_type, materializer=out.materializer,
                materializer_version=out.materializer_version, producer_step_run_id=record.id,
                created=result.finished, versions=dict(out.versions))
            self.metadata.save_artifact(artifact)
            self.artifacts[artifact.id] = artifact
            outputs[out.name] = artifact.id
        record = replace(record, status=StepStatus.COMPLETED, started=result.started,
                         finished=result.finished, attempts=result.attempts, outputs=outputs,
                         logs_uri=logs_uri)
        self.records[node.name] = record
        self.metadata.save_step_run(record)
        duration = round((result.finished - result.started) * 1000)
        self.settings.emit(StepFinished(node.name, duration))

    def skip(self, node: StepNode) -> None:
        record = StepRunRecord(
            id=new_id(), run_id=self.run_id, name=node.name, status=StepStatus.SKIPPED,
            parameters=self.parameters[node.name][1], upstream=tuple(node.upstream))
        self.records[node.name] = record
        self.metadata.save_step_run(record)

    # -- the whole run
    def execute(self) -> PipelineRunRecord:
        started = time.time()
        run = PipelineRunRecord(
            id=self.run_id, pipeline=self.graph.name, status=RunStatus.RUNNING,
            stack=self.settings.stack, profile=self.settings.profile,
            orchestrator=self.settings.orchestrator, started=started,
            parameters=dict(self.settings.parameters), host=socket.gethostname(),
            pid=os.getpid(), resumed_from=self.settings.resumed_from)
        self.metadata.create_run(run)
        self.settings.emit(PipelineRunStarted(self.graph.name, self.run_id, self.settings.stack,
                                              self.settings.profile))
        error: str | None = None
        try:
            with contextlib.ExitStack() as stack:
                if self.orchestrator.in_process:
                    self.run_inline()
                else:
                    self.run_on(_LazyExecutor(self.orchestrator, stack))
        except BaseException as exc:
            error = self.masks(f"The run stopped: {_one_line(exc)}")
            for name, record in list(self.records.items()):
                if record.status is StepStatus.RUNNING:
                    self.records[name] = replace(record, status=StepStatus.FAILED,
                                                 finished=time.time(), error=error)
                    with contextlib.suppress(Exception):
                        self.metadata.save_step_run(self.records[name])
            with contextlib.suppress(Exception):
                self.metadata.finish_run(self.run_id, RunStatus.FAILED, time.time(), error)
            raise
        if self.failed:
            first = self.records[self.failed[0]]
            error = f"Step '{first.name}' failed: {first.error}"
        status = RunStatus.FAILED if self.failed else RunStatus.COMPLETED
        finished = time.time()
        self.metadata.finish_run(self.run_id, status, finished, error)
        self.settings.emit(PipelineRunFinished(self.graph.name, self.run_id, status.value,
                                               round((finished - started) * 1000)))
        return replace(run, status=status, finished=finished, error=error,
                       steps=tuple(self.records[n] for n in self.graph.nodes))

    def blocked(self, node: StepNode) -> bool:
        return any(self.records[u].status in (StepStatus.FAILED, StepStatus.SKIPPED)
                   for u in node.upstream)

    def run_inline(self) -> None:
        for name, node in self.graph.nodes.items():
            if self.blocked(node):
                self.skip(node)
                continue
            task = self.begin(node)
            if task is not None:
                self.end(node, execute_step(task))
            del name

    def run_on(self, executor: Executor) -> None:
        waiting = dict(self.graph.nodes)
        running: dict[Future[Any], StepNode] = {}
        while waiting or running:
            progressed = True
            while progressed:
                progressed = False
                for name, node in list(waiting.items()):
                    if not all(u in self.records and self.records[u].status not in (
                            StepStatus.RUNNING, StepStatus.PENDING) for u in node.upstream):
                        continue
                    del waiting[name]
                    progressed = True
                    if self.blocked(node):
                        self.skip(node)
                        continue
                    task = self.begin(node)
                    if task is not None:
                        running[executor.submit(execute_step, task)] = node
            if not running:
                if waiting:  # cannot happen with a traced graph: a step waits on a later one
                    raise MlrigError(f"Steps {sorted(waiting)} wait on steps never run.")
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker died, or the task could not be sent
                    now = time.time()
                    result = StepResult(
                        node.name, False, self.records[node.name].started or now, now, 1,
                        "".join(traceback.format_exception(exc)),
                        error=f"Its worker failed: {_one_line(exc)}")
                self.end(node, result)


Parameters = dict[str, tuple[dict[str, Any], dict[str, Any]]]


def validate_all(graph: PipelineGraph,
                 step_parameters: Mapping[str, Mapping[str, Any]]) -> Parameters:
    """Every step's parameters validated (``InputError``, one line, for the first bad one):
    step name -> (values for the function, their JSON form)."""
    unknown = set(step_parameters) - set(graph.nodes)
    if unknown:
        raise InputError(
            f"The config sets parameters of step '{sorted(unknown)[0]}', which pipeline "
            f"'{graph.name}' does not have (its steps: "
            f"{', '.join(repr(n) for n in graph.nodes)})."
        )
    return {name: validate_parameters(node, dict(step_parameters.get(name, {})))
            for name, node in graph.nodes.items()}


def run(graph: PipelineGraph, orchestrator: Orchestrator, *, artifact_store: ArtifactStore,
        metadata: MetadataStore, settings: RunSettings,
        parameters: Parameters | None = None) -> PipelineRunRecord:
    """Run ``graph`` and record it; the run's record (with its steps) whatever happened to
    the steps (a failed step is a ``failed`` run, not an exception). ``parameters`` from
    :func:`validate_all` (validated here when not given)."""
    if parameters is None:
        parameters = validate_all(graph, settings.step_parameters)
    return _Run(graph, orchestrator, artifact_store=artifact_store, metadata=metadata,
                settings=settings, parameters=parameters).execute()
