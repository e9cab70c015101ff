"""Materializers: how a step's output value becomes bytes in the artifact store, and back.

Each materializer has a ``name`` and a ``version`` (recorded with every artifact and part of
the cache key), says which values it ``handles`` and turns one into bytes (``save``) and
bytes back into a value (``load``). The bytes are what the artifact store keeps under their
``sha256`` digest, so the same value saved twice is stored once.

Built in, in the order they are tried: ``bytes``, ``str``, ``pydantic`` (a model, as JSON),
``numpy`` (``np.save`` without pickle), ``pandas`` (parquet when pyarrow is installed, else
pandas' JSON ``table`` format), ``json`` (None, bool, int, float, str, and lists, tuples and
str-keyed dicts of them). Custom types: :func:`register` a class with ``name``, ``version``,
``types`` (the classes it handles, subclasses included), ``save(value) -> bytes`` and
``load(data, data_type) -> value``; a registered materializer is tried before the built-ins.

Pickle is refused unless the step opts in (``@step(allow_pickle=True)``): loading a pickle
runs whatever code it names. An artifact written under another Python (major.minor) or
another version of the library its materializer uses warns (:class:`ArtifactVersionWarning`)
before it is loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import platform
import sys
import warnings
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from mlrig.exceptions import InputError, MlrigError


class MaterializerError(MlrigError):
    """A value cannot be saved, or an artifact cannot be loaded."""


class ArtifactVersionWarning(UserWarning):
    """An artifact was written by another Python or library version than this one."""


@runtime_checkable
class Materializer(Protocol):
    name: str
    version: str

    def handles(self, value: Any) -> bool: ...

    def save(self, value: Any) -> bytes: ...

    def load(self, data: bytes, data_type: str) -> Any: ...

    def libraries(self) -> Mapping[str, str]:
        """The versions of the libraries whose format the bytes follow (recorded)."""


def data_type(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _import_type(name: str) -> Any:
    module, _, qualname = name.rpartition(".")
    # a nested class: 'pkg.mod.Outer.Inner' — walk back until a module imports
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            target = getattr(target, attr)
        return target
    raise MaterializerError(f"Cannot import the type '{name}' ({module}:{qualname}).")


def _version_of(module: str) -> str:
    mod = sys.modules.get(module)
    return str(getattr(mod, "__version__", "")) if mod is not None else ""


class _Builtin:
    name = ""
    version = "1"
    library = ""  # the module whose version is recorded

    def libraries(self) -> Mapping[str, str]:
        return {self.library: _version_of(self.library)} if self.library else {}


class BytesMaterializer(_Builtin):
    name = "bytes"

    def handles(self, value: Any) -> bool:
        return isinstance(value, (bytes, bytearray, memoryview))

    def save(self, value: Any) -> bytes:
        return bytes(value)

    def load(self, data: bytes, data_type: str) -> Any:
        return bytearray(data) if data_type == "builtins.bytearray" else data


class StrMaterializer(_Builtin):
    name = "str"

    def handles(self, value: Any) -> bool:
        return type(value) is str

    def save(self, value: Any) -> bytes:
        return str(value).encode("utf-8", "surrogatepass")

    def load(self, data: bytes, data_type: str) -> Any:
        return data.decode("utf-8", "surrogatepass")


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) in (list, tuple):
        return all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())
    return False


class JsonMaterializer(_Builtin):
    name = "json"

    def handles(self, value: Any) -> bool:
        return _is_json(value)

    def save(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    def load(self, data: bytes, data_type: str) -> Any:
        value = json.loads(data)
        return tuple(value) if data_type == "builtins.tuple" else value


class PydanticMaterializer(_Builtin):
    name = "pydantic"
    library = "pydantic"

    def handles(self, value: Any) -> bool:
        if "pydantic" not in sys.modules:
            return False
        from pydantic import BaseModel

        return isinstance(value, BaseModel)

    def save(self, value: Any) -> bytes:
        return bytes(value.model_dump_json().encode())

    def load(self, data: bytes, data_type: str) -> Any:
        from pydantic import BaseModel

        cls = _import_type(data_type)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise MaterializerError(f"'{data_type}' is not a pydantic model.")
        return cls.model_validate_json(data)


class NumpyMaterializer(_Builtin):
    name = "numpy"
    library = "numpy"

    def handles(self, value: Any) -> bool:
        np = sys.modules.get("numpy")
        return np is not None and isinstance(value, np.ndarray) and value.dtype != object

    def save(self, value: Any) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return buffer.getvalue()

    def load(self, data: bytes, data_type: str) -> Any:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


class PandasMaterializer(_Builtin):
    """Parquet (pyarrow) when it can be imported, else pandas' JSON ``table`` format."""

    library = "pandas"

    def __init__(self) -> None:
        try:
            import importlib.util

            self.parquet = importlib.util.find_spec("pyarrow") is not None
        except (ImportError, ValueError):
            self.parquet = False
        self.name = "pandas.parquet" if self.parquet else "pandas.json"

    def handles(self, value: Any) -> bool:
        pd = sys.modules.get("pandas")
        return pd is not None and isinstance(value, pd.DataFrame)

    def libraries(self) -> Mapping[str, str]:
        versions = {"pandas": _version_of("pandas")}
        if self.parquet:
            import pyarrow  # type: ignore[import-not-found, unused-ignore]

            versions["pyarrow"] = str(pyarrow.__version__)
        return versions

    def save(self, value: Any) -> bytes:
        if self.parquet:
            buffer = io.BytesIO()
            value.to_parquet(buffer)
            return buffer.getvalue()
        return str(value.to_json(orient="table")).encode()

    def load(self, data: bytes, data_type: str) -> Any:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]

        if self.parquet:
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_json(io.StringIO(data.decode()), orient="table")


class PandasJsonMaterializer(PandasMaterializer):
    """Loads ``pandas.json`` artifacts when pyarrow is installed (saving uses parquet)."""

    def __init__(self) -> None:
        self.parquet = False
        self.name = "pandas.json"


class PickleMaterializer(_Builtin):
    name = "pickle"

    def handles(self, value: Any) -> bool:
        return True

    def save(self, value: Any) -> bytes:
        import pickle

        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, data: bytes, data_type: str) -> Any:
        import pickle

        return pickle.loads(data)


PICKLE = PickleMaterializer()
_BUILTINS: list[Any] = [
    BytesMaterializer(),
    StrMaterializer(),
    PydanticMaterializer(),
    NumpyMaterializer(),
    PandasMaterializer(),
    JsonMaterializer(),
]
_CUSTOM: list[Any] = []


def register(materializer: Any) -> Any:
    """Register a custom materializer (a class or an instance; usable as a decorator).

    It needs ``name`` (unique), ``version``, ``types`` (a tuple of classes), ``save(value)
    -> bytes`` and ``load(data, data_type) -> value``; ``libraries()`` is optional.
    """
    instance = materializer() if isinstance(materializer, type) else materializer
    for attr in ("name", "version", "types", "save", "load"):
        if not hasattr(instance, attr):
            raise InputError(f"A materializer needs '{attr}'; {materializer!r} has none.")
    if not isinstance(instance.name, str) or not instance.name:
        raise InputError("A materializer's name is a non-empty string.")
    if any(m.name == instance.name for m in _CUSTOM + _BUILTINS) or instance.name == "pickle":
        existing = next((m for m in _CUSTOM if m.name == instance.name), None)
        if existing is None or type(existing).__qualname__ != type(instance).__qualname__:
            raise InputError(f"A materializer named '{instance.name}' is already registered.")
        # the same class registered again: its module imported again (by file, by a worker)
        _CUSTOM.remove(existing)
    if not hasattr(instance, "handles"):
        types = tuple(instance.types)

        def handles(value: Any, _types: tuple[type, ...] = types) -> bool:
            return isinstance(value, _types)

        instance.handles = handles
    if not hasattr(instance, "libraries"):
        instance.libraries = dict
    _CUSTOM.insert(0, instance)
    return materializer


def all_materializers() -> list[Any]:
    return [*_CUSTOM, *_BUILTINS]


def fingerprint() -> str:
    """Names and versions of every registered materializer (a cache-key part when an
    output's type is not known before the step runs)."""
    text = ",".join(f"{m.name}@{m.version}" for m in all_materializers())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def for_annotation(annotation: Any) -> str:
    """The ``name@version`` that will save a value of type ``annotation``, or
    ``any@<fingerprint>`` when that depends on the value."""
    if isinstance(annotation, type):
        for materializer in _CUSTOM:
            if issubclass(annotation, tuple(materializer.types)):
                return f"{materializer.name}@{materializer.version}"
        simple = {bytes: "bytes", str: "str", bool: "json", int: "json", float: "json"}
        if annotation in simple:
            found = next(m for m in _BUILTINS if m.name == simple[annotation])
            return f"{found.name}@{found.version}"
    return f"any@{fingerprint()}"


def choose(value: Any, allow_pickle: bool) -> Any:
    for materializer in all_materializers():
        if materializer.handles(value):
            return materializer
    if allow_pickle:
        return PICKLE
    raise MaterializerError(
        f"No materializer saves a '{data_type(value)}' without pickle.",
        hint="Register one (mlrig.runtime.materializers.register) or let the step use "
        "pickle: @step(allow_pickle=True).",
    )


def by_name(name: str) -> Any:
    if name == "pickle":
        return PICKLE
    for materializer in all_materializers():
        if materializer.name == name:
            return materializer
    if name == "pandas.json":
        return PandasJsonMaterializer()
    raise MaterializerError(
        f"No materializer named '{name}' is registered in this process (import the module "
        "that registers it)."
    )


def python_version() -> str:
    return platform.python_version()


def versions_of(materializer: Any) -> dict[str, str]:
    versions = {"python": python_version()}
    versions.update({k: v for k, v in dict(materializer.libraries()).items() if v})
    return versions


def save(value: Any, allow_pickle: bool) -> tuple[bytes, Any]:
    """``(bytes, materializer)`` for ``value``."""
    materializer = choose(value, allow_pickle)
    try:
        data = materializer.save(value)
    except MlrigError:
        raise
    except Exception as exc:
        raise MaterializerError(
            f"The materializer '{materializer.name}' could not save a '{data_type(value)}': "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(data, (bytes, bytearray)):
        raise MaterializerError(f"The materializer '{materializer.name}' did not return bytes.")
    return bytes(data), materializer


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def version_differences(recorded: Mapping[str, str], materializer: Any) -> list[str]:
    """What differs between the versions an artifact was written with and this process."""
    current = versions_of(materializer)
    differences = []
    for key, was in recorded.items():
        now = current.get(key)
        if key == "python":
            if was.split(".")[:2] != (now or "").split(".")[:2]:
                differences.append(f"Python {was} (this is {now})")
        elif now is not None and now != was:
            differences.append(f"{key} {was} (this is {now})")
    return differences


def load(
    data: bytes,
    *,
    materializer: str,
    data_type: str,
    versions: Mapping[str, str],
    allow_pickle: bool,
    what: str,
) -> Any:
    """The value of an artifact; ``what`` names it in messages ('artifact 'x' of step 'y'')."""
    if materializer == "pickle" and not allow_pickle:
        raise MaterializerError(
            f"The {what} is a pickle: loading it could run any code, so mlrig refuses.",
            hint="Load it only if you trust who wrote it: @step(allow_pickle=True) for a "
            "step's input, allow_pickle=True for load().",
        )
    found = by_name(materializer)
    differences = version_differences(versions, found)
    if differences:
        warnings.warn(
            f"The {what} was written with {', '.join(differences)}; loading it anyway.",
            ArtifactVersionWarning,
            stacklevel=3,
        )
    try:
        return found.load(data, data_type)
    except MlrigError:
        raise
    except Exception as exc:
        raise MaterializerError(
            f"The {what} could not be loaded by materializer '{materializer}': "
            f"{type(exc).__name__}: {exc}"
        ) from exc
