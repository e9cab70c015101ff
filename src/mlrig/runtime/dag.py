"""Steps and pipelines as data: what ``@step`` and ``@pipeline`` describe, and the graph a
pipeline call traces.

A :class:`StepSpec` is one step function with what the engine needs to know about it:
where it is importable from (for worker processes), its outputs, its parameters, its
options. Calling a pipeline's function while a :class:`Tracer` is active does not run any
step: each step call adds a :class:`StepNode` to the graph and returns placeholders
(:class:`StepOutput`) that later calls take as inputs — that is how an edge is wired.

Outputs (the convention, see ``docs/pipelines.md``):

- ``-> T``: one output, named ``output``; ``-> Annotated[T, "name"]``: one output ``name``;
- ``-> tuple[A, B]``: two outputs ``output_0``, ``output_1``; each may be named with
  ``Annotated`` (``-> tuple[Annotated[A, "x"], Annotated[B, "y"]]``);
- ``-> None``: no output; no annotation at all: one output ``output``.

Arguments: an argument given a placeholder is an *input* (an artifact of an upstream step);
every other argument is a *parameter*: its value comes from the pipeline's call, else from
the run's config file (``parameters: {step: {name: value}}``, which wins over both), else
from the function's default; it is validated against the argument's type hint when the
run starts (pydantic), recorded with the run and part of the cache key.

This module imports nothing heavy: it runs when a user's module defines its steps.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrig.exceptions import InputError, MlrigError

SINGLE_OUTPUT = "output"


class DefinitionError(InputError):
    """A step or pipeline is defined or called in a way mlrig cannot run."""


def _step_name(name: str) -> str:
    """A step's name as every name in mlrig (it names the step's log file too)."""
    from mlrig.names import validate_name

    try:
        return validate_name("step", name)
    except InputError as exc:
        raise DefinitionError(exc.message) from None


@dataclass(frozen=True)
class OutputSpec:
    name: str
    annotation: Any  # the type hint (inspect.Parameter.empty when none)


@dataclass(frozen=True)
class FunctionRef:
    """Where a function is importable from: ``module:qualname``, and the file that defines
    it (a worker that cannot import the module loads the file)."""

    module: str
    qualname: str
    file: str | None

    @property
    def importable(self) -> bool:
        """Whether another process can find it by name (not a closure, not a lambda)."""
        return "<locals>" not in self.qualname and "<lambda>" not in self.qualname

    def __str__(self) -> str:
        return f"{self.module}:{self.qualname}"

    @classmethod
    def of(cls, func: Callable[..., Any]) -> FunctionRef:
        module = getattr(func, "__module__", None) or "__main__"
        file: str | None
        try:
            file = inspect.getsourcefile(func)
        except TypeError:
            file = None
        if file is not None:
            file = str(Path(file).resolve())
        return cls(module, func.__qualname__, file)


def _split_annotated(annotation: Any) -> tuple[Any, str | None]:
    """``Annotated[T, "name", ...]`` -> ``(T, "name")``; anything else -> ``(it, None)``."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        names = [e for e in extras if isinstance(e, str)]
        return base, (names[0] if names else None)
    return annotation, None


def output_specs(func: Callable[..., Any], hints: Mapping[str, Any]) -> tuple[
    tuple[OutputSpec, ...], bool
]:
    """The outputs of a step function from its return annotation, and whether the function
    returns them as a tuple (see the module docstring)."""
    if "return" not in hints:
        return (OutputSpec(SINGLE_OUTPUT, inspect.Parameter.empty),), False
    annotation = hints["return"]
    if annotation is None or annotation is type(None):
        return (), False
    base, name = _split_annotated(annotation)
    if typing.get_origin(base) is tuple and name is None:
        args = typing.get_args(base)
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            raise DefinitionError(
                f"Step '{func.__name__}' returns a tuple of unknown length: give each output "
                "a type (tuple[A, B]) so that mlrig knows how many there are."
            )
        outputs = []
        for index, item in enumerate(args):
            item_type, item_name = _split_annotated(item)
            outputs.append(OutputSpec(item_name or f"{SINGLE_OUTPUT}_{index}", item_type))
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            raise DefinitionError(f"Step '{func.__name__}' names two outputs alike: {names}.")
        return tuple(outputs), True
    return (OutputSpec(name or SINGLE_OUTPUT, base),), False


class StepSpec:
    """One step function and its options (made by ``@step``)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        retries: int = 0,
        retry_delay: float = 0.0,
        allow_pickle: bool = False,
        enable_cache: bool = True,
    ) -> None:
        if not callable(func):
            raise DefinitionError("@step decorates a function.")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise DefinitionError(f"retries of step '{func.__name__}' must be an integer >= 0.")
        if not isinstance(retry_delay, (int, float)) or retry_delay < 0:
            raise DefinitionError(f"retry_delay of step '{func.__name__}' must be >= 0 seconds.")
        self.func = func
        # a name given (it names the step's log file) is checked as every mlrig name; a
        # function's own name is an identifier (or '<lambda>')
        self.name = _step_name(name) if name else func.__name__
        self.retries = retries
        self.retry_delay = float(retry_delay)
        self.allow_pickle = allow_pickle
        self.enable_cache = enable_cache
        self.ref = FunctionRef.of(func)
        self.signature = inspect.signature(func)
        for parameter in self.signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise DefinitionError(
                    f"Step '{self.name}' takes *{parameter.name}: a step's arguments must be "
                    "named, so that each is an input or a parameter."
                )
        self._hints: dict[str, Any] | None = None
        self._outputs: tuple[tuple[OutputSpec, ...], bool] | None = None
        self._source_hash: str | None = None

    # type hints are resolved on first use: a module may define a step before the classes
    # its annotations name
    @property
    def hints(self) -> dict[str, Any]:
        if self._hints is None:
            try:
                self._hints = typing.get_type_hints(self.func, include_extras=True)
            except Exception as exc:  # a name in an annotation that does not resolve
                raise DefinitionError(
                    f"The type hints of step '{self.name}' do not resolve: {exc}."
                ) from None
        return self._hints

    @property
    def outputs(self) -> tuple[OutputSpec, ...]:
        if self._outputs is None:
            self._outputs = output_specs(self.func, self.hints)
        return self._outputs[0]

    @property
    def returns_tuple(self) -> bool:
        self.outputs  # noqa: B018  (computes _outputs)
        assert self._outputs is not None
        return self._outputs[1]

    @property
    def source_hash(self) -> str:
        """``sha256:<hex>`` of the step function's source (its code when no source)."""
        if self._source_hash is None:
            try:
                text = inspect.getsource(self.func).encode()
            except (OSError, TypeError):
                code = self.func.__code__
                text = code.co_code + repr(code.co_consts).encode() + repr(code.co_names).encode()
            self._source_hash = "sha256:" + hashlib.sha256(text).hexdigest()
        return self._source_hash

    def annotation(self, argument: str) -> Any:
        hint = self.hints.get(argument, inspect.Parameter.empty)
        return _split_annotated(hint)[0] if hint is not inspect.Parameter.empty else hint

    def __repr__(self) -> str:
        return f"StepSpec({self.name!r}, {self.ref})"


@dataclass(frozen=True)
class StepOutput:
    """A placeholder for one output of one step call inside a pipeline being traced."""

    node: str
    output: str

    def __bool__(self) -> bool:
        raise DefinitionError(
            f"The output '{self.output}' of step '{self.node}' has no value while the "
            "pipeline is wired: a pipeline function only calls steps, it cannot branch on "
            "their results."
        )

    def __iter__(self) -> typing.Iterator[Any]:
        raise DefinitionError(
            f"Step '{self.node}' has one output: it cannot be unpacked. Annotate its return "
            "type as tuple[A, B] for several outputs."
        )


@dataclass
class StepNode:
    """One call of a step in a pipeline: its name in the run, the step, its inputs (argument
    -> upstream output), its parameters (given in the pipeline call) and the steps it must
    run after."""

    name: str
    spec: StepSpec
    inputs: dict[str, StepOutput] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)

    @property
    def upstream(self) -> list[str]:
        seen: dict[str, None] = {}
        for out in self.inputs.values():
            seen[out.node] = None
        for name in self.after:
            seen[name] = None
        return list(seen)

    def missing_parameters(self) -> list[str]:
        """Arguments that are neither inputs nor given parameters and have no default."""
        return [
            name for name, p in self.spec.signature.parameters.items()
            if name not in self.inputs and name not in self.parameters
            and p.default is inspect.Parameter.empty
        ]


@dataclass
class PipelineGraph:
    """The traced graph of one pipeline call: its steps in the order they were called (a
    topological order: a step can only take outputs of earlier calls)."""

    name: str
    nodes: dict[str, StepNode]
    ref: FunctionRef
    arguments: dict[str, Any] = field(default_factory=dict)

    def downstream(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            for up in node.upstream:
                result[up].append(node.name)
        return result


class Tracer:
    """Collects the step calls of one pipeline call (one per thread, see :func:`tracing`)."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, StepNode] = {}

    def add(self, spec: StepSpec, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        after = kwargs.pop("after", None)
        try:
            bound = spec.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(
                f"Step '{spec.name}' is called with arguments it does not take in pipeline "
                f"'{self.pipeline}': {exc}."
            ) from None
        name = spec.name
        counter = 2
        while name in self.nodes:
            name = f"{spec.name}_{counter}"
            counter += 1
        node = StepNode(name, spec)
        for argument, value in bound.arguments.items():
            if isinstance(value, StepOutput):
                node.inputs[argument] = value
            elif isinstance(value, tuple) and value and all(
                isinstance(v, StepOutput) for v in value
            ):
                raise DefinitionError(
                    f"Argument '{argument}' of step '{name}' is given all the outputs of step "
                    f"'{value[0].node}': unpack them (a, b = {value[0].node}(...)) and pass one."
                )
            else:
                node.parameters[argument] = value
        for item in _as_list(after):
            if isinstance(item, (StepOutput, StepCall)):
                node.after.append(item.node)
            else:
                raise DefinitionError(
                    f"after= of step '{name}' takes outputs of earlier step calls."
                )
        self.nodes[name] = node
        outputs = [StepOutput(name, o.name) for o in spec.outputs]
        if not outputs:
            return StepCall(name)
        if len(outputs) == 1 and not spec.returns_tuple:
            return outputs[0]
        return tuple(outputs)


@dataclass(frozen=True)
class StepCall:
    """What a step without outputs returns in a pipeline: something to give ``after=``."""

    node: str


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


_local = threading.local()


def current_tracer() -> Tracer | None:
    return getattr(_local, "tracer", None)


def trace(pipeline: str, func: Callable[..., Any], arguments: Mapping[str, Any]) -> PipelineGraph:
    """Call ``func(**arguments)`` with a tracer active: the graph of its step calls."""
    if current_tracer() is not None:
        raise DefinitionError(
            f"Pipeline '{pipeline}' is called inside another pipeline: a pipeline calls steps."
        )
    tracer = Tracer(pipeline)
    _local.tracer = tracer
    try:
        func(**arguments)
    except MlrigError:
        raise
    except Exception as exc:
        raise DefinitionError(
            f"Pipeline '{pipeline}' failed while its steps were wired: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        _local.tracer = None
    if not tracer.nodes:
        raise DefinitionError(f"Pipeline '{pipeline}' calls no step.")
    return PipelineGraph(pipeline, tracer.nodes, FunctionRef.of(func), dict(arguments))


# ----------------------------------------------------------------------------- workers
#: set in a process that imports a user's module only to find its steps (a worker, or the
#: CLI loading FILE.py): a pipeline called while such a module is imported is refused
_importing_for_steps = threading.local()


def importing_for_steps() -> bool:
    return bool(getattr(_importing_for_steps, "active", False))


def file_module_name(path: str) -> str:
    """The module name a script is loaded under when it is not ``__main__``."""
    digest = hashlib.sha256(path.encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in Path(path).stem)
    return f"__mlrig_file_{stem}_{digest}"


def load_file(path: str, module_name: str | None = None) -> Any:
    """Import the script ``path`` as a module (once per process) and return it."""
    import importlib.util

    name = module_name or file_module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DefinitionError(f"Cannot load '{path}' as Python.")
    module = importlib.util.module_from_spec(spec)
    directory = str(Path(path).parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    sys.modules[name] = module
    previous = importing_for_steps()
    _importing_for_steps.active = True
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        _importing_for_steps.active = previous
    return module


def _module_root(ref: FunctionRef) -> str | None:
    """The sys.path entry under which ``ref.module`` is found at ``ref.file``."""
    if ref.file is None:
        return None
    path = Path(ref.file)
    parts = ref.module.split(".")
    if path.name == "__init__.py":
        path = path.parent
    root = path.parent
    for _ in parts[:-1]:
        root = root.parent
    return str(root)


def resolve(ref: FunctionRef) -> Any:
    """The object ``ref`` names, importing its module (or loading its file) if needed."""
    import importlib

    module = sys.modules.get(ref.module)
    if module is not None and ref.module == "__main__" and ref.file:
        # this process's __main__ is that script only if it was started from that file
        main_file = getattr(module, "__file__", None)
        if not main_file or str(Path(main_file).resolve()) != ref.file:
            module = None
    if module is None and ref.module in ("__main__", "__mp_main__"):
        if ref.file is None:
            raise DefinitionError(f"'{ref}' is defined in an interactive session: no file.")
        module = load_file(ref.file, "__mlrig_main__")
    if module is None and not ref.module.startswith("__mlrig_file_"):
        root = _module_root(ref)
        if root and root not in sys.path:
            sys.path.append(root)
        previous = importing_for_steps()
        _importing_for_steps.active = True
        try:
            module = importlib.import_module(ref.module)
        except ImportError:
            module = None
        finally:
            _importing_for_steps.active = previous
    if module is None:
        if ref.file is None:
            raise DefinitionError(f"Cannot import '{ref}'.")
        module = load_file(ref.file, ref.module)
    target: Any = module
    for part in ref.qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise DefinitionError(f"'{ref}' is not in module '{ref.module}' ({ref.file}).")
    return target


class PipelineSpec:
    """A pipeline function (made by ``@pipeline``): its name and where it is importable."""

    def __init__(self, func: Callable[..., Any], *, name: str | None = None,
                 enable_cache: bool = True) -> None:
        if not callable(func):
            raise DefinitionError("@pipeline decorates a function.")
        self.func = func
        self.name = name or func.__name__
        self.enable_cache = enable_cache
        self.ref = FunctionRef.of(func)

    def trace(self, arguments: Mapping[str, Any]) -> PipelineGraph:
        try:
            inspect.signature(self.func).bind(**arguments)
        except TypeError as exc:
            raise DefinitionError(
                f"Pipeline '{self.name}' does not take these arguments: {exc}."
            ) from None
        return trace(self.name, self.func, arguments)

    def __repr__(self) -> str:
        return f"PipelineSpec({self.name!r}, {self.ref})"
