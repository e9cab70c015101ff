"""Pipeline runs on a stack: run, resume, preflight, and why a step ran (explain-cache).

The core resolves the stack (``runtime_stack``: which stack, chosen by which scope, its
components built with their secret references resolved) and hands the run to
:mod:`mlrig.runtime.engine`. Order of a run:

1. the pipeline function is traced into a graph (no step runs);
2. the config (``parameters: {step: {name: value}}``, ``enable_cache``) is read and every
   step's parameters are validated: a bad one is one line, nothing recorded;
3. preflight: every component of the stack with a run-time implementation is built and
   checked (``check()``), and with an orchestrator that runs steps in other processes,
   every step must be importable there; a failure is one line naming the component, the
   stack and the scope that chose it — no step has run, nothing is recorded;
4. the engine runs the steps and records the run; a failed step raises
   :class:`~mlrig.runtime.engine.StepFailedError` naming it (its traceback is in its log).

The function helper R's ``mlrig pipeline runs explain-cache RUN STEP`` prints is
:func:`explain_cache` (a :class:`CacheExplanation`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.core.runtime_stack import RuntimeStack, runtime_stack
from mlrig.core.session import Session
from mlrig.exceptions import InputError, MlrigError, NotFoundError
from mlrig.models import ComponentType

if TYPE_CHECKING:
    from mlrig.runtime.caching import PartChange
    from mlrig.runtime.dag import PipelineGraph, PipelineSpec
    from mlrig.runtime.records import MetadataStore, PipelineRunRecord, StepRunRecord

CONFIG_KEYS = ("parameters", "enable_cache")


class PreflightError(MlrigError):
    """A component of the stack cannot do its part in a run; no step has run."""


# ----------------------------------------------------------------------------- loading
def load_pipeline(session: Session, target: str) -> PipelineSpec:
    """The pipeline ``FILE.py:NAME`` or ``module:NAME`` names (the module is imported; a
    file is loaded as a module of its own, not ``__main__``, so a script's
    ``if __name__ == "__main__":`` block does not run)."""
    from mlrig.runtime.dag import DefinitionError, PipelineSpec, load_file

    source, sep, name = target.rpartition(":")
    if not sep or not source or not name:
        raise InputError(
            f"'{target}' names no pipeline: give FILE.py:NAME or module:NAME."
        )
    try:
        if source.endswith(".py") or "/" in source or os.sep in source:
            path = Path(source)
            if not path.is_absolute():
                path = session.cwd / path
            if not path.is_file():
                raise NotFoundError(f"No file '{source}' (looked in {session.cwd}).")
            module = load_file(str(path.resolve()))
        else:
            import importlib
            import sys

            cwd = str(session.cwd)
            if cwd not in sys.path:
                sys.path.insert(0, cwd)
            module = importlib.import_module(source)
    except MlrigError:
        raise
    except ImportError as exc:
        raise NotFoundError(f"Cannot import '{source}': {exc}") from None
    except Exception as exc:
        raise DefinitionError(
            f"Loading '{source}' failed: {type(exc).__name__}: {exc}"
        ) from None
    except SystemExit as exc:  # a script that exits while it is imported
        raise DefinitionError(
            f"Loading '{source}' exited (SystemExit {exc.code!r}) before it defined '{name}'; "
            "keep the code that runs on its own under 'if __name__ == \"__main__\":'."
        ) from None
    found = getattr(module, name, None)
    if not isinstance(found, PipelineSpec):
        what = "nothing" if found is None else f"a '{type(found).__name__}'"
        raise NotFoundError(
            f"'{name}' in '{source}' is {what}, not a pipeline (a function decorated with "
            "@pipeline)."
        )
    return found


def read_config(session: Session, config: str | Path | Mapping[str, Any] | None) -> dict[
    str, Any
]:
    """The run config (a YAML file or a mapping): ``parameters`` per step, ``enable_cache``."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        data: Any = dict(config)
        where = "the config"
    else:
        from mlrig.fsutil import parse_yaml, read_text

        path = Path(config).expanduser()
        if not path.is_absolute():
            path = session.cwd / path
        text = read_text(path)
        if text is None:
            raise NotFoundError(f"No config file '{config}'.")
        data = parse_yaml(text, path) or {}
        where = f"the config file '{config}'"
    if not isinstance(data, dict):
        raise InputError(f"{where[0].upper()}{where[1:]} is not a mapping.")
    unknown = [k for k in data if k not in CONFIG_KEYS]
    if unknown:
        raise InputError(
            f"{where[0].upper()}{where[1:]} has an unknown key '{unknown[0]}' (known: "
            f"{', '.join(CONFIG_KEYS)})."
        )
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(
        isinstance(v, dict) for v in parameters.values()
    ):
        raise InputError(
            f"'parameters' in {where} maps each step's name to its parameters "
            "(parameters: {train: {C: 0.5}})."
        )
    enable_cache = data.get("enable_cache", True)
    if not isinstance(enable_cache, bool):
        raise InputError(f"'enable_cache' in {where} is true or false.")
    return {"parameters": parameters, "enable_cache": enable_cache}


# ----------------------------------------------------------------------------- preflight
@dataclass
class Implementations:
    orchestrator: Any
    artifact_store: Any
    metadata_store: Any
    label: str  # '<orchestrator name> (<flavor>)'


def _component_error(rs: RuntimeStack, type_: ComponentType, exc: BaseException) -> (
    PreflightError
):
    component = rs.component(type_)
    name = f"'{component.name}' ({component.flavor})" if component else "(none)"
    message = exc.message if isinstance(exc, MlrigError) else f"{type(exc).__name__}: {exc}"
    hint = exc.hint if isinstance(exc, MlrigError) else None
    library_hint = exc.library_hint if isinstance(exc, MlrigError) else None
    return rs.masks.error(PreflightError(  # type: ignore[return-value]
        f"Preflight: the {type_.display_name} {name} of {rs.describe_choice()} is not "
        f"ready: {message.rstrip('.')}.",
        hint, library_hint=library_hint,
    ))


def preflight(rs: RuntimeStack, graph: PipelineGraph | None = None) -> Implementations:
    """Build and check every component of the stack that has a run-time implementation
    (secret references are resolved on the way); with an orchestrator that runs steps in
    other processes, every step of ``graph`` must be importable by name."""
    from mlrig.runtime.registry import IMPLEMENTATIONS

    built: dict[ComponentType, Any] = {}
    required = (ComponentType.ORCHESTRATOR, ComponentType.ARTIFACT_STORE,
                ComponentType.METADATA_STORE)
    order = [*required, *(t for t in rs.components if t not in required)]
    for type_ in order:
        component = rs.component(type_)
        if component is None:
            continue
        if type_ not in required and (type_.value, component.flavor) not in IMPLEMENTATIONS:
            continue  # a configuration record only: a run does not use it
        try:
            implementation = rs.implementation(type_)
            implementation.check()
        except Exception as exc:
            raise _component_error(rs, type_, exc) from None
        built[type_] = implementation
    for type_ in required:
        if type_ not in built:
            raise _component_error(rs, type_, MlrigError("the stack has none"))
    orchestrator = built[ComponentType.ORCHESTRATOR]
    component = rs.components[ComponentType.ORCHESTRATOR]
    label = f"{component.name} ({component.flavor})"
    if graph is not None and not getattr(orchestrator, "in_process", True):
        for node in graph.nodes.values():
            ref = node.spec.ref
            if not ref.importable or (ref.module in ("__main__", "__mp_main__")
                                      and ref.file is None):
                raise PreflightError(
                    f"Preflight: step '{node.name}' ({ref}) cannot be imported by the worker "
                    f"processes of the orchestrator {label} of {rs.describe_choice()}: "
                    "define it at the top level of a module or script file."
                )
    return Implementations(orchestrator, built[ComponentType.ARTIFACT_STORE],
                           built[ComponentType.METADATA_STORE], label)


# ----------------------------------------------------------------------------- running
def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=repr)


def run_pipeline(
    session: Session,
    definition: PipelineSpec,
    *,
    arguments: Mapping[str, Any] | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
    stack: str | None = None,
    profile: str | None = None,
    enable_cache: bool | None = None,
    _resume: PipelineRunRecord | None = None,
) -> PipelineRunRecord:
    """Run ``definition`` on the active stack (or ``stack`` of ``profile``): its record.
    Raises ``StepFailedError`` (the run is recorded ``failed``) when a step failed."""
    from mlrig.runtime import engine

    settings_config = read_config(session, config)
    graph = definition.trace(dict(arguments or {}))
    rs = runtime_stack(session, stack=stack, profile=profile)
    cache = settings_config.get("enable_cache", True) and definition.enable_cache
    if enable_cache is not None:
        cache = enable_cache
    step_parameters = settings_config.get("parameters", {})
    parameters = engine.validate_all(graph, step_parameters)
    built = preflight(rs, graph)
    reuse: dict[str, StepRunRecord] = {}
    if _resume is not None:
        from mlrig.runtime.records import StepStatus

        reuse = {s.name: s for s in _resume.steps
                 if s.status in (StepStatus.COMPLETED, StepStatus.CACHED) and s.outputs is not None}
    document = {
        "source": str(definition.ref),
        "file": definition.ref.file,
        "arguments": _jsonable(dict(arguments or {})),
        "config": _jsonable(settings_config),
    }
    settings = engine.RunSettings(
        pipeline=graph.name, stack=rs.stack.name, profile=rs.profile,
        orchestrator=built.label, logs_dir=rs.data_dir / "logs", parameters=document,
        step_parameters=step_parameters, enable_cache=bool(cache),
        resumed_from=_resume.id if _resume is not None else None, reuse=reuse,
        emit=session.emit, masks=rs.masks,
    )
    try:
        record = engine.run(graph, built.orchestrator, artifact_store=built.artifact_store,
                            metadata=built.metadata_store, settings=settings,
                            parameters=parameters)
    except Exception as exc:
        masked = rs.masks.error(exc)
        if masked is exc:
            raise
        raise masked from None
    if record.status.value == "failed":
        failed = next(s for s in record.steps if s.status.value == "failed")
        where = f" Its log: {failed.logs_uri}" if failed.logs_uri else ""
        raise engine.StepFailedError(
            f"Step '{failed.name}' of pipeline '{graph.name}' failed: {failed.error}.{where}"
            .replace("..", "."),
            hint=f"Fix it, then run 'mlrig pipeline runs resume {record.id}'.",
            library_hint=f"Fix it, then call resume_run('{record.id}').",
            run_id=record.id, step=failed.name,
        )
    return record


# ----------------------------------------------------------------------------- resume
def _process_gone(run: PipelineRunRecord) -> bool:
    """Whether the process that drives a 'running' run is gone (on this host)."""
    if run.host and run.host != socket.gethostname():
        return False
    if run.pid <= 0:
        return True
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _metadata_of(session: Session) -> tuple[RuntimeStack, MetadataStore]:
    rs = runtime_stack(session)
    try:
        metadata = rs.implementation(ComponentType.METADATA_STORE)
    except Exception as exc:
        raise _component_error(rs, ComponentType.METADATA_STORE, exc) from None
    return rs, metadata


def resume_run(session: Session, run_id: str) -> PipelineRunRecord:
    """Re-run the failed run ``run_id`` from its failed step: the steps that finished in it
    are reused (not run, not looked up in the cache), the others run. The new run records
    ``resumed_from``. A run whose process was killed (still 'running', its process gone)
    is first recorded failed."""
    import time

    from mlrig.runtime.dag import FunctionRef, resolve
    from mlrig.runtime.records import RunStatus

    _, metadata = _metadata_of(session)
    run = metadata.get_run(run_id)
    if run.status is RunStatus.RUNNING:
        if not _process_gone(run):
            raise InputError(
                f"Run {run.id} is still running (process {run.pid} on {run.host})."
            )
        metadata.finish_run(run.id, RunStatus.FAILED, time.time(),
                            f"Its process ({run.pid} on {run.host}) ended without finishing.")
        run = metadata.get_run(run.id)
    if run.status is RunStatus.COMPLETED:
        raise InputError(f"Run {run.id} of pipeline '{run.pipeline}' completed: "
                         "there is nothing to resume.")
    document = dict(run.parameters)
    source = str(document.get("source") or "")
    module, _, qualname = source.partition(":")
    if not module or not qualname:
        raise InputError(f"Run {run.id} does not record which pipeline it ran.")
    from mlrig.runtime.dag import PipelineSpec

    try:
        definition = resolve(FunctionRef(module, qualname, document.get("file")))
    except MlrigError as exc:
        raise NotFoundError(
            f"Cannot find pipeline '{run.pipeline}' of run {run.id} ({source}): {exc.message}"
        ) from None
    if not isinstance(definition, PipelineSpec):
        raise NotFoundError(f"'{source}' of run {run.id} is not a pipeline any more.")
    config = document.get("config") or {}
    return run_pipeline(
        session, definition, arguments=document.get("arguments") or {}, config=config,
        stack=run.stack, profile=run.profile, _resume=run,
    )


# ----------------------------------------------------------------------------- explain-cache
@dataclass(frozen=True)
class CacheExplanation:
    """Why a step of a run ran or came from the cache: every part of its cache key next to
    the same part in the previous run of that step (of the same pipeline)."""

    run_id: str
    pipeline: str
    step: str
    status: str  # the step run's status
    cached: bool
    cache_key: str | None
    original_step_run_id: str | None  # the step run a cached step's outputs came from
    previous_run_id: str | None
    previous_status: str | None
    previous_key: str | None
    parts: tuple[PartChange, ...]

    @property
    def changed(self) -> list[str]:
        """The names of the parts that differ from the previous run of the step."""
        return [p.name for p in self.parts if p.changed]

    @property
    def summary(self) -> str:
        """One sentence: why the step ran or was served from the cache."""
        step = f"Step '{self.step}'"
        if self.cache_key is None:
            return f"{step} did not run ({self.status}): it has no cache key."
        if self.cached:
            return (f"{step} was served from the cache: every part of its key matched an "
                    "earlier run.")
        if self.previous_run_id is None:
            return f"{step} ran: no earlier run of it was recorded."
        if self.changed:
            names = ", ".join(f"'{n}'" for n in self.changed)
            return f"{step} ran: {names} changed since run {self.previous_run_id}."
        if self.previous_status not in ("completed", "cached"):
            return (f"{step} ran: its key is the same as in run {self.previous_run_id}, where "
                    f"it {self.previous_status}, so there was nothing to reuse.")
        return (f"{step} ran although its key matches run {self.previous_run_id}: caching was "
                "disabled for it.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "pipeline": self.pipeline,
            "step": self.step,
            "status": self.status,
            "cached": self.cached,
            "cache_key": self.cache_key,
            "original_step_run": self.original_step_run_id,
            "previous_run": self.previous_run_id,
            "previous_status": self.previous_status,
            "previous_key": self.previous_key,
            "changed": self.changed,
            "summary": self.summary,
            "parts": [
                {"name": p.name, "value": p.value, "previous": p.previous, "changed": p.changed}
                for p in self.parts
            ],
        }


def explain_cache(session: Session, run_id: str, step: str) -> CacheExplanation:
    """Every part of the cache key of ``step`` in run ``run_id`` (of the active stack's
    metadata store) against the previous run of that step, and which changed."""
    from mlrig.runtime.caching import compare

    _, metadata = _metadata_of(session)
    run = metadata.get_run(run_id)
    current = next((s for s in run.steps if s.name == step), None)
    if current is None:
        names = ", ".join(f"'{s.name}'" for s in run.steps) or "none"
        raise NotFoundError(f"Run {run.id} has no step '{step}' (its steps: {names}).")
    previous = metadata.last_step_run(run.pipeline, step, before_run=run.id)
    parts = compare(dict(current.cache_parts),
                    dict(previous.cache_parts) if previous is not None else None)
    if previous is None:
        parts = [replace(p, previous=None) for p in parts]
    return CacheExplanation(
        run_id=run.id, pipeline=run.pipeline, step=step, status=current.status.value,
        cached=current.cached, cache_key=current.cache_key,
        original_step_run_id=current.original_step_run_id,
        previous_run_id=previous.run_id if previous is not None else None,
        previous_status=previous.status.value if previous is not None else None,
        previous_key=previous.cache_key if previous is not None else None,
        parts=tuple(parts),
    )
