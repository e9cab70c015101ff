"""The records of pipeline runs and the interfaces of the run-time components.

Every implementation of a metadata store, an artifact store and a secrets manager follows
one of the protocols here; the engine and the core use nothing else of them. The records
are plain frozen dataclasses: what a metadata store keeps, what the documents of
``mlrig pipeline runs … -o json`` are made from, what ``Client().get_pipeline_run()``
returns (wrapped with a way to load artifacts).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class RunStatus(str, enum.Enum):
    """A pipeline run's state. ``running`` becomes ``failed`` when its process is gone."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class StepStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run because an upstream step failed


@dataclass(frozen=True)
class ArtifactRecord:
    """One output of one step run. ``digest`` (``sha256:<hex>``) names the stored bytes:
    the same bytes are stored once, however many artifacts share them."""

    id: str
    name: str  # the output's name ('output' for a single unnamed output)
    digest: str
    uri: str  # where the artifact store keeps the bytes
    size: int
    data_type: str  # 'module.QualName' of the value
    materializer: str  # the materializer's name
    materializer_version: str
    producer_step_run_id: str
    created: float  # seconds since the epoch
    versions: Mapping[str, str] = field(default_factory=dict)  # python and libraries


@dataclass(frozen=True)
class StepRunRecord:
    id: str
    run_id: str
    name: str
    status: StepStatus
    cached: bool = False
    cache_key: str | None = None
    #: every part of the cache key, by name ('source', 'parameters', 'input:x', …)
    cache_parts: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)  # input name -> artifact id
    outputs: Mapping[str, str] = field(default_factory=dict)  # output name -> artifact id
    upstream: Sequence[str] = ()  # names of the steps this one consumes
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    error: str | None = None  # one line; the traceback is in the step's log
    logs_uri: str | None = None
    original_step_run_id: str | None = None  # the run a cached/reused step came from

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@dataclass(frozen=True)
class PipelineRunRecord:
    id: str
    pipeline: str
    status: RunStatus
    stack: str
    profile: str
    orchestrator: str  # '<component name> (<flavor>)'
    started: float
    finished: float | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the run's config
    host: str = ""
    pid: int = 0  # the process that drives the run: gone and 'running' means failed
    resumed_from: str | None = None
    error: str | None = None
    steps: Sequence[StepRunRecord] = ()  # filled when a run is read with its steps


@dataclass(frozen=True)
class RunPage:
    runs: Sequence[PipelineRunRecord]
    next_cursor: str | None


@runtime_checkable
class MetadataStore(Protocol):
    """Where runs are recorded. Every method is one transaction; safe to call from several
    processes at once (parallel steps, two runs on one stack)."""

    def check(self) -> None:
        """Preflight: raise ``MlrigError`` (one line) unless the store can be written."""

    def create_run(self, run: PipelineRunRecord) -> None: ...

    def finish_run(
        self, run_id: str, status: RunStatus, finished: float, error: str | None = None
    ) -> None: ...

    def save_step_run(self, step: StepRunRecord) -> None:
        """Insert or replace the step run ``step.id``."""

    def save_artifact(self, artifact: ArtifactRecord) -> None: ...

    def get_run(self, run_id: str) -> PipelineRunRecord:
        """The run (with its steps) whose id is ``run_id`` or starts with it (unique), or
        the newest run for ``latest``; ``NotFoundError`` otherwise."""

    def list_runs(
        self,
        *,
        pipeline: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        """Newest first, one page (keyset pagination: cost independent of the number of runs)."""

    def delete_run(self, run_id: str) -> None: ...

    def pipelines(self) -> Sequence[tuple[str, int, float]]:
        """(pipeline name, number of runs, last run start) for every pipeline recorded."""

    def find_cached(self, cache_key: str) -> StepRunRecord | None:
        """The newest completed (not cached) step run with this cache key."""

    def last_step_run(self, pipeline: str, step: str, before_run: str | None = None) -> (
        StepRunRecord | None
    ):
        """The newest run of that step of that pipeline (before ``before_run`` if given)."""

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        """One step run by its id (an artifact's producer); ``NotFoundError`` otherwise."""

    def get_artifact(self, artifact_id: str) -> ArtifactRecord: ...

    def list_artifacts(self, *, limit: int = 50, cursor: str | None = None) -> Sequence[
        ArtifactRecord
    ]: ...

    def consumers(self, artifact_id: str) -> Sequence[StepRunRecord]:
        """The step runs that read this artifact as an input."""


@runtime_checkable
class ArtifactStore(Protocol):
    """Content-addressed bytes. ``key`` is a digest (``sha256:<hex>``)."""

    @property
    def identity(self) -> str:
        """Stable name of where the bytes go (flavor + location), part of the cache key."""

    def check(self) -> None:
        """Preflight: raise ``MlrigError`` (one line) unless the store can be written."""

    def has(self, key: str) -> bool: ...

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key`` if not there yet (never a partial object under the
        final name); return its URI."""

    def get(self, key: str) -> bytes: ...

    def uri(self, key: str) -> str: ...


@runtime_checkable
class SecretsManager(Protocol):
    """Named secrets, each a set of key/value pairs."""

    def check(self) -> None: ...

    def names(self) -> Sequence[str]: ...

    def get(self, name: str) -> Mapping[str, str]:
        """``NotFoundError`` naming the secret when there is none."""

    def put(self, name: str, values: Mapping[str, str]) -> None:
        """Create or replace one secret (atomic, 0600)."""

    def delete(self, name: str) -> None: ...
