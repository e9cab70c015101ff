"""Built-in flavor configs validated by pydantic-core alone, without importing pydantic.

Every component write validates its config. For a plugin's or a profile's flavor that is
its pydantic model (:func:`mlrig.flavors.validate_config`); importing pydantic and building
the model costs a command about as much as the whole rest of it. A built-in flavor's model
is therefore also kept *compiled*: :mod:`mlrig.flavors.builtin._schemas` holds each model's
core schema — the very description pydantic hands to pydantic-core, as plain data, with
each model turned into a typed dict and its field checks pointing at the functions of
:mod:`mlrig.flavors.builtin._checks` — and :func:`validate` runs it with
``pydantic_core.SchemaValidator``. The validation, the values kept and the error messages
are pydantic's own (the same engine on the same schema); the models stay the one source of
truth:

* ``python scripts/gen_flavor_schemas.py`` writes ``_schemas.py`` from the models
  (:func:`render`);
* a test fails when the file is not what :func:`render` gives, and another compares both
  paths on many configs, valid and not.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from mlrig.exceptions import InputError

if TYPE_CHECKING:
    from pydantic import BaseModel

CHECKS_MODULE = "mlrig.flavors.builtin._checks"
#: keys of a core schema that only serve the JSON schema (descriptions, titles, extras)
_DROPPED = frozenset({"metadata", "ref", "serialization"})


# -- compiling (pydantic loaded) --------------------------------------------------------------
def compile_model(model: type[BaseModel]) -> dict[str, Any]:
    """The core schema that validates ``model`` into a dict, as plain data and functions of
    :mod:`._checks`."""
    model.model_rebuild()
    schema: dict[str, Any] = dict(model.__pydantic_core_schema__)
    if schema.get("type") != "model" or schema["schema"].get("type") != "model-fields":
        raise ValueError(f"{model.__name__} is not a plain model of fields")
    inner = schema["schema"]
    if inner.get("computed_fields") or inner.get("extras_schema") is not None:
        raise ValueError(f"{model.__name__} has computed or typed extra fields")
    fields: dict[str, Any] = {}
    for name, field in inner["fields"].items():
        if field.get("type") != "model-field" or field.get("validation_alias") is not None:
            raise ValueError(f"{model.__name__}.{name} is not a plain field")
        body = _plain(field["schema"], f"{model.__name__}.{name}")
        fields[name] = {"type": "typed-dict-field", "schema": body,
                        "required": body.get("type") != "default"}
    compiled: dict[str, Any] = {"type": "typed-dict", "fields": fields}
    extra = schema.get("config", {}).get("extra_fields_behavior")
    if extra is not None:
        compiled["extra_behavior"] = extra
    return compiled


class _Ref:
    """A function of :mod:`._checks`, written as its name."""

    def __init__(self, function: Callable[..., Any], where: str) -> None:
        if getattr(function, "__module__", None) != CHECKS_MODULE:
            raise ValueError(f"{where}: the check {function!r} is not a function of "
                             f"{CHECKS_MODULE} (a compiled schema can only name those)")
        self.name = function.__name__

    def __repr__(self) -> str:
        return f"_checks.{self.name}"


def _plain(node: Any, where: str) -> Any:
    if isinstance(node, dict):
        return {k: _plain(v, where) for k, v in node.items() if k not in _DROPPED}
    if isinstance(node, list | tuple):
        return [_plain(v, where) for v in node]
    if node is None or isinstance(node, str | int | float | bool):
        return node
    if callable(node):
        return _Ref(node, where)
    raise ValueError(f"{where}: {node!r} cannot be written as plain data")


class _Name:
    """A module constant of ``_schemas.py``, written as its name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def render(flavors: Iterable[tuple[str, type[BaseModel]]]) -> str:
    """The source of ``_schemas.py`` for ``(flavor class name, config model)`` pairs. A field
    that several flavors declare alike is written once, as a constant they share (the
    validator only reads its schema)."""
    schemas = {name: compile_model(model) for name, model in flavors}
    seen: dict[str, int] = {}
    for schema in schemas.values():
        for field in schema["fields"].values():
            seen[repr(field)] = seen.get(repr(field), 0) + 1
    shared: dict[str, _Name] = {}
    constants: list[str] = []
    for schema in schemas.values():
        for key, field in schema["fields"].items():
            text = repr(field)
            if seen[text] < 2:
                continue
            if text not in shared:
                shared[text] = _Name(f"_FIELD_{len(shared) + 1}")
                head = f"{shared[text]}: dict[str, Any] = "
                constants.append(head + _literal(field, 0, len(head)))
            schema["fields"][key] = shared[text]
    body = _literal(schemas, 0, len("SCHEMAS: dict[str, dict[str, Any]] = "))
    return (
        '"""The built-in flavors\' config schemas, compiled for pydantic-core (see\n'
        ':mod:`mlrig.flavors.compiled`).\n\n'
        "Generated by ``python scripts/gen_flavor_schemas.py`` from the pydantic models of\n"
        ":mod:`mlrig.flavors.builtin`: do not edit; a test checks it is up to date.\n"
        '"""\n\n'
        "from typing import Any\n\n"
        "from mlrig.flavors.builtin import _checks\n\n"
        + "".join(f"{c}\n" for c in constants)
        + f"\nSCHEMAS: dict[str, dict[str, Any]] = {body}\n"
    )


def _literal(node: Any, indent: int, lead: int = 0, width: int = 96) -> str:
    """``node`` as Python source starting ``lead`` columns into a line indented by
    ``indent``: on that line if it fits, else one item per line."""
    flat = repr(node)
    if lead + len(flat) + 1 <= width or not isinstance(node, dict | list) or not node:
        return flat
    pad = " " * (indent + 4)
    if isinstance(node, dict):
        items = []
        for key, value in node.items():
            head = f"{pad}{key!r}: "
            items.append(f"{head}{_literal(value, indent + 4, len(head), width)},")
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(value, indent + 4, len(pad), width)}," for value in node]
    return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"


def builtin_models(specs: Iterable[Any]) -> list[tuple[str, type[BaseModel]]]:
    """The class name and config model of every built-in flavor of ``specs``
    (:func:`mlrig.flavors.builtin_specs`; imports them all)."""
    return [(spec.source.rsplit(".", 1)[-1], spec.load().CONFIG) for spec in specs]


# -- validating (pydantic-core only) ----------------------------------------------------------
#: what :func:`validate` needs of pydantic-core (all defined by its compiled extension)
_ENGINE_NAMES = ("SchemaValidator", "ValidationError", "to_jsonable_python")
_PACKAGE = "pydantic_core"
_EXTENSION = "pydantic_core._pydantic_core"


def engine() -> Any:
    """pydantic-core's validation engine: its compiled extension module.

    ``import pydantic_core`` also runs the package's ``__init__``, which imports
    ``core_schema`` (the typed helpers that *build* schemas, 175 KB of source) and
    ``typing_extensions``: about 20 ms, most of what validating a config costs a command.
    :func:`validate` needs only the three names of :data:`_ENGINE_NAMES`, which the
    extension defines, so the extension is loaded by itself, under its own name: a later
    ``import pydantic_core`` (pydantic, a plugin) finds it in ``sys.modules`` and uses it,
    and :class:`_AttachExtension` gives the package its ``_pydantic_core`` attribute then.
    Anything unexpected (a release that moved the extension, a Python that cannot load it
    alone) falls back to the plain import: slower, never different.
    """
    loaded = sys.modules.get(_PACKAGE) or sys.modules.get(_EXTENSION)
    if loaded is not None and all(hasattr(loaded, name) for name in _ENGINE_NAMES):
        return loaded
    if loaded is None:
        module = _load_extension_alone()
        if module is not None:
            return module
    import pydantic_core

    return pydantic_core


def _load_extension_alone() -> Any:
    from importlib.machinery import ExtensionFileLoader, PathFinder

    try:
        package = PathFinder.find_spec(_PACKAGE)
        where = package.submodule_search_locations if package is not None else None
        spec = PathFinder.find_spec(_EXTENSION, list(where)) if where else None
        if spec is None or not isinstance(spec.loader, ExtensionFileLoader):
            return None
        module = spec.loader.create_module(spec)
    except (ImportError, OSError):
        return None
    if module is None:
        return None
    # from here the extension is initialised: it must stay in sys.modules, as a second
    # initialisation in one process is refused
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    sys.modules[_EXTENSION] = module
    spec.loader.exec_module(module)
    sys.meta_path.insert(0, _AttachExtension())
    if all(hasattr(module, name) for name in _ENGINE_NAMES):
        return module
    return None


class _AttachExtension:
    """A meta-path finder that is only ever asked once for ``pydantic_core``: it lets the
    usual finders find the package and sets the package's ``_pydantic_core`` attribute to
    the extension :func:`engine` loaded, before the package's ``__init__`` runs (Python
    sets a submodule's attribute only when it imports the submodule itself)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != _PACKAGE:
            return None
        from importlib.machinery import PathFinder

        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            from importlib.abc import Loader

            spec.loader = cast(Loader, _WithExtension(spec.loader))
        return spec


class _WithExtension:
    """A package loader that sets the extension attribute before running the package."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        extension = sys.modules.get(_EXTENSION)
        if extension is not None:
            module._pydantic_core = extension
        module.__loader__ = self._loader
        self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def _is_plain_string(schema: dict[str, Any]) -> bool:
    while schema.get("type") in ("default", "function-after", "nullable"):
        schema = schema["schema"]
    return schema.get("type") == "str"


def prepare(plain_string: Callable[[str], bool | None], values: dict[str, Any]
            ) -> dict[str, Any]:
    """Parse JSON given on the command line (``--tags=["a"]``) for the fields that are not
    plain strings (``plain_string(name)`` False; None: not a field, left as given)."""
    prepared: dict[str, Any] = {}
    for key, value in values.items():
        if plain_string(key) is False and isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        prepared[key] = value
    return prepared


def invalid(errors: Iterable[Any], label: str, flavor: str) -> InputError:
    """The one-line error for a config pydantic(-core) refused."""
    problems = "; ".join(_describe(err) for err in errors)
    return InputError(f"Invalid configuration for {label} (flavor '{flavor}'): {problems}.")


def _describe(err: Any) -> str:
    location = ".".join(str(p) for p in err.get("loc", ())) or "config"
    if err.get("type") == "extra_forbidden":
        return f"'{location}' is not an attribute of this flavor"
    message = str(err.get("msg", "invalid")).replace("\n", " ")
    return f"{location}: {message}"


def validate(class_name: str, flavor: str, values: dict[str, Any], label: str
             ) -> dict[str, Any]:
    """Validate ``values`` with the compiled schema of the built-in flavor class
    ``class_name``; the JSON-able config kept, as the model would dump it (defaults filled
    in, ``None`` left out)."""
    from mlrig.flavors.builtin._schemas import SCHEMAS

    core = engine()

    schema = SCHEMAS[class_name]
    fields: dict[str, Any] = schema["fields"]

    def plain_string(key: str) -> bool | None:
        return _is_plain_string(fields[key]["schema"]) if key in fields else None

    try:
        result = core.SchemaValidator(schema).validate_python(prepare(plain_string, values))
    except core.ValidationError as exc:
        raise invalid(exc.errors(), label, flavor) from None
    kept: dict[str, Any] = core.to_jsonable_python(result)
    return {key: value for key, value in kept.items() if value is not None}
