"""Authoring pipelines: ``from mlrig import step, pipeline``.

Beside ``client.py``: a pipeline called in Python runs on the active stack (or the
``stack=``/``profile=`` given in code) through the core, which resolves the stack and hands
the run to ``mlrig.runtime``::

    from typing import Annotated
    from mlrig import pipeline, step

    @step
    def load() -> tuple[Annotated[list[int], "xs"], Annotated[list[int], "ys"]]:
        return [1, 2, 3], [2, 4, 6]

    @step(retries=2, retry_delay=1.0)
    def fit(xs: list[int], ys: list[int], scale: float = 1.0) -> float:
        return scale * sum(ys) / sum(xs)

    @pipeline
    def training():
        xs, ys = load()
        fit(xs, ys, scale=2.0)     # xs, ys: inputs (wired edges); scale: a parameter

    if __name__ == "__main__":
        training()                         # the active stack
        training.run(config="run.yaml")    # parameters: {fit: {scale: 3.0}}
        training.run(stack="dask-stack", profile="team")

See :mod:`mlrig.runtime.dag` for the conventions of outputs and parameters, and
``docs/pipelines.md`` for the whole story.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from mlrig.runtime.dag import (
    DefinitionError,
    PipelineSpec,
    StepSpec,
    current_tracer,
    importing_for_steps,
)
from mlrig.runtime.engine import StepFailedError

if TYPE_CHECKING:
    from mlrig.events import Event, Listener
    from mlrig.runtime.records import PipelineRunRecord

__all__ = ["DefinitionError", "Pipeline", "Step", "StepFailedError", "pipeline", "step"]

F = TypeVar("F", bound=Callable[..., Any])


class Step(StepSpec):
    """A step function. Called inside a pipeline, it wires the step into the graph and
    returns placeholders for its outputs; called anywhere else, it is the plain function
    (handy in unit tests)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = current_tracer()
        if tracer is None:
            return self.func(*args, **kwargs)
        return tracer.add(self, args, dict(kwargs))


@overload
def step(func: F, /) -> Step: ...


@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    allow_pickle: bool = False,
    enable_cache: bool = True,
) -> Callable[[F], Step]: ...


def step(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    allow_pickle: bool = False,
    enable_cache: bool = True,
) -> Any:
    """Make a function a step: ``@step`` or ``@step(retries=2, retry_delay=5)``.

    Args:
        name: the step's name in runs (default: the function's name).
        retries: how many times a failing call is tried again before the step fails.
        retry_delay: seconds between two tries.
        allow_pickle: let this step's outputs be pickled when no materializer handles their
            type, and its inputs be loaded from pickles (off: loading a pickle runs code).
        enable_cache: whether a matching earlier run may stand in for this step.
    """
    def decorate(function: Callable[..., Any]) -> Step:
        return Step(function, name=name, retries=retries, retry_delay=retry_delay,
                    allow_pickle=allow_pickle, enable_cache=enable_cache)

    return decorate(func) if func is not None else decorate


def _printer(event: Event) -> None:
    """The default listener of a pipeline run in Python: its lines on stderr."""
    prefix = "Warning: " if event.level == "warning" else ""
    print(f"{prefix}{event.message}", file=sys.stderr, flush=True)


class Pipeline(PipelineSpec):
    """A pipeline: ``p()`` / ``p.run(...)`` runs it on the active stack."""

    def __call__(self, **arguments: Any) -> PipelineRunRecord:
        return self.run(**arguments)

    def run(
        self,
        *,
        config: str | Path | Mapping[str, Any] | None = None,
        stack: str | None = None,
        profile: str | None = None,
        enable_cache: bool | None = None,
        config_path: str | Path | None = None,
        events: Listener | None = None,
        **arguments: Any,
    ) -> PipelineRunRecord:
        """Run the pipeline and return its record (``.id``, ``.status``, ``.steps``).

        Args:
            config: a YAML file (or a mapping) with ``parameters: {step: {name: value}}``
                and ``enable_cache``.
            stack, profile: run on this stack / profile instead of the active ones (the
                flag scope, as ``mlrig --stack/--profile``).
            enable_cache: override the config and the pipeline's default.
            config_path: mlrig's config directory (default as the CLI: ``MLRIG_CONFIG_PATH``
                or the user's).
            events: receives each progress line as a typed event (default: printed on
                stderr).
            arguments: the pipeline function's own arguments.

        Raises:
            StepFailedError: a step failed (the run is recorded ``failed``; resume it with
                ``mlrig pipeline runs resume RUN``).
            MlrigError: bad parameters or config, or preflight (a component of the stack is
                not ready); nothing ran.
        """
        if self.ref.module == "__mp_main__" or importing_for_steps():
            raise DefinitionError(
                f"Pipeline '{self.name}' is run while its module is imported to find its "
                f"steps ({self.ref.file or self.ref.module}): put the call under "
                "if __name__ == '__main__':"
            )
        from mlrig.core import pipelines as core
        from mlrig.core.profiles import create_initial_config
        from mlrig.core.session import Session

        session = Session(config_path, profile=profile, stack=stack,
                          events=events or _printer, bootstrap=create_initial_config)
        try:
            return core.run_pipeline(session, self, arguments=arguments, config=config,
                                     enable_cache=enable_cache)
        finally:
            session.close()


@overload
def pipeline(func: F, /) -> Pipeline: ...


@overload
def pipeline(*, name: str | None = None, enable_cache: bool = True) -> Callable[[F], Pipeline]: ...


def pipeline(func: Callable[..., Any] | None = None, /, *, name: str | None = None,
             enable_cache: bool = True) -> Any:
    """Make a function a pipeline: ``@pipeline`` or ``@pipeline(name=..., enable_cache=...)``.

    The function only calls steps: each call wires the step into the graph (the outputs it
    returns are placeholders to give to later steps). Calling the pipeline runs it.
    """
    def decorate(function: Callable[..., Any]) -> Pipeline:
        return Pipeline(function, name=name, enable_cache=enable_cache)

    return decorate(func) if func is not None else decorate


def resume_run(run_id: str, *, config_path: str | Path | None = None,
               events: Listener | None = None) -> PipelineRunRecord:
    """Re-run the failed run ``run_id`` from its failed step, reusing the finished ones."""
    from mlrig.core import pipelines as core
    from mlrig.core.profiles import create_initial_config
    from mlrig.core.session import Session

    session = Session(config_path, events=events or _printer, bootstrap=create_initial_config)
    try:
        return core.resume_run(session, run_id)
    finally:
        session.close()
