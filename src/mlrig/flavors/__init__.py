"""The flavor registry: built-in flavors, flavors of installed plugins and flavors registered
in a profile.

Nothing here imports pydantic or a flavor's module until a flavor's class is needed (to
validate a config or find its secret fields): listing flavors only reads this table, the
profile's records and the ``mlrig.flavors`` entry points.

Resolution order for ``(type, name)``, the same for lookup and for listing: the profile's
own flavors, then plugins, then built-ins — the nearer source wins, so that a profile (or an
installed package) can replace a flavor it needs changed without waiting for a release. A
profile flavor that shadows another one is allowed and reported as a warning when it is
registered. Two flavors of the same ``(type, name)`` inside one source are an error; a
plugin that cannot be loaded is reported (:func:`plugin_problems`), never silently dropped.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig import fsutil
from mlrig.exceptions import InputError, MlrigError, NotFoundError
from mlrig.models import ComponentType, FlavorRecord

if TYPE_CHECKING:
    from mlrig.flavors.base import Flavor

ENTRY_POINT_GROUP = "mlrig.flavors"
BUILT_IN, PLUGIN, PROFILE = "built-in", "plugin", "profile"

_B = "mlrig.flavors.builtin."
_BUILTINS: tuple[tuple[ComponentType, str, str], ...] = (
    (ComponentType.ORCHESTRATOR, "local", _B + "LocalOrchestrator"),
    (ComponentType.ORCHESTRATOR, "local_docker", _B + "LocalDockerOrchestrator"),
    (ComponentType.ORCHESTRATOR, "dask", _B + "DaskOrchestrator"),
    (ComponentType.METADATA_STORE, "sqlite", _B + "SQLiteMetadataStore"),
    (ComponentType.METADATA_STORE, "mysql", _B + "MySQLMetadataStore"),
    (ComponentType.METADATA_STORE, "postgresql", _B + "PostgreSQLMetadataStore"),
    (ComponentType.ARTIFACT_STORE, "local", _B + "LocalArtifactStore"),
    (ComponentType.ARTIFACT_STORE, "s3", _B + "S3ArtifactStore"),
    (ComponentType.ARTIFACT_STORE, "gcs", _B + "GCSArtifactStore"),
    (ComponentType.ARTIFACT_STORE, "azure", _B + "AzureArtifactStore"),
    (ComponentType.CONTAINER_REGISTRY, "default", _B + "DefaultContainerRegistry"),
    (ComponentType.CONTAINER_REGISTRY, "dockerhub", _B + "DockerHubContainerRegistry"),
    (ComponentType.SECRETS_MANAGER, "local", _B + "LocalSecretsManager"),
    (ComponentType.STEP_OPERATOR, "local", _B + "LocalStepOperator"),
    (ComponentType.FEATURE_STORE, "feast", _B + "FeastFeatureStore"),
    (ComponentType.MODEL_DEPLOYER, "mlflow", _B + "MLflowModelDeployer"),
    (ComponentType.EXPERIMENT_TRACKER, "mlflow", _B + "MLflowExperimentTracker"),
    (ComponentType.ALERTER, "slack", _B + "SlackAlerter"),
    (ComponentType.DATA_VALIDATOR, "great_expectations", _B + "GreatExpectationsDataValidator"),
    (ComponentType.ANNOTATOR, "label_studio", _B + "LabelStudioAnnotator"),
)


@dataclass(frozen=True)
class FlavorSpec:
    """A flavor known to mlrig, without importing it.

    ``source`` is the dotted path of its class; ``origin`` says where it comes from:
    ``built-in``, ``plugin`` (an installed package's ``mlrig.flavors`` entry point) or
    ``profile`` (registered in the profile).
    """

    type: ComponentType
    name: str
    source: str
    origin: str

    def load(self) -> builtins.type[Flavor]:
        return load_flavor_class(self.source, expected_type=self.type)

    def validate_config(self, values: dict[str, Any], component_label: str) -> dict[str, Any]:
        """Validate ``values`` with this flavor's config schema; the JSON-able config to
        keep. A built-in flavor's compiled schema runs on pydantic-core alone
        (:mod:`mlrig.flavors.compiled`: same checks, same messages, pydantic not imported);
        any other flavor's class is loaded and its model validates."""
        if self.origin == BUILT_IN:
            from mlrig.flavors import compiled

            return compiled.validate(self.source.rsplit(".", 1)[-1], self.name, values,
                                     component_label)
        return validate_config(self.load(), values, component_label)

    def secret_fields(self) -> frozenset[str]:
        """The config fields whose values are secret. A built-in flavor answers from
        :data:`BUILTIN_SECRET_FIELDS` (so masking a listing needs neither pydantic nor the
        flavor's module); any other flavor's class is loaded and asked."""
        if self.origin == BUILT_IN:
            return BUILTIN_SECRET_FIELDS.get(self.source.rsplit(".", 1)[-1], frozenset())
        return self.load().secret_fields()


#: the secret config fields of each built-in flavor class with any, as its schema declares
#: them (``Flavor.secret_fields()``); a test keeps the two equal
BUILTIN_SECRET_FIELDS: dict[str, frozenset[str]] = {
    "MySQLMetadataStore": frozenset({"password"}),
    "PostgreSQLMetadataStore": frozenset({"password"}),
    "S3ArtifactStore": frozenset({"secret", "token"}),
    "GCSArtifactStore": frozenset({"token"}),
    "AzureArtifactStore": frozenset({"account_key", "client_secret", "connection_string",
                                     "sas_token"}),
    "DockerHubContainerRegistry": frozenset({"password"}),
    "MLflowExperimentTracker": frozenset({"tracking_password", "tracking_token"}),
    "SlackAlerter": frozenset({"slack_token"}),
    "LabelStudioAnnotator": frozenset({"api_key"}),
}


def builtin_specs(type_: ComponentType | None = None) -> list[FlavorSpec]:
    return [
        FlavorSpec(t, n, s, BUILT_IN) for t, n, s in _BUILTINS if type_ is None or t is type_
    ]


class _Cache:
    #: where :func:`_entry_points` keeps what it found (``None``: nowhere); the core sets it
    #: to a file in the configuration directory (:func:`use_plugin_cache`)
    path: Path | None = None


#: seconds: a directory changed this recently may change again within its timestamp's
#: granularity, so a cache keyed by it is not written (read again next time)
_RACY_SECONDS = 2.0
#: how many ``sys.path`` variants the cache remembers
_CACHED_PATHS = 8


def use_plugin_cache(path: Path | None) -> None:
    """Keep the plugins' entry points found in ``path`` (JSON), so that a later command
    need not import :mod:`importlib.metadata` (its import and scan cost a command more
    than the rest of a flavor lookup). The cache holds the modification time of every
    ``sys.path`` directory: installing or removing a package changes its directory, and
    the entry points are looked up again."""
    if path != _Cache.path:
        _Cache.path = path
        _plugins.cache_clear()


def _path_key() -> list[list[Any]]:
    key: list[list[Any]] = []
    for entry in sys.path:
        try:
            key.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            key.append([entry, None])
    return key


def _entry_points() -> list[tuple[str, str]]:
    """``(name, value)`` of every ``mlrig.flavors`` entry point installed."""
    cache, key = _Cache.path, _path_key()
    kept: list[Any] = []
    if cache is not None:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
            kept = list(json.loads(fsutil.read_bytes(cache, limit=1 << 20, follow=False)[0]))
            for entry in kept:
                if entry["key"] == key:
                    return [(str(name), str(value)) for name, value in entry["entry_points"]]
    from importlib.metadata import entry_points

    points = [(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    newest = max((mtime for _, mtime in key if mtime is not None), default=0)
    if cache is not None and newest < (time.time() - _RACY_SECONDS) * 1e9:
        # one entry per sys.path seen lately (the console script's, ``python -m``'s, ...);
        # a cache that cannot be written (a read-only directory) only costs time
        fresh = [{"key": key, "entry_points": points},
                 *[e for e in kept if isinstance(e, dict)][:_CACHED_PATHS - 1]]
        with contextlib.suppress(OSError, MlrigError):
            fsutil.atomic_write(cache, json.dumps(fresh), durable=False,
                                root=cache.parent.parent)
    return points


@lru_cache(maxsize=1)
def _plugins() -> tuple[tuple[FlavorSpec, ...], tuple[str, ...]]:
    specs: list[FlavorSpec] = []
    problems: list[str] = []
    for ep_name, ep_value in _entry_points():
        source = ep_value.replace(":", ".")
        try:
            cls = load_flavor_class(source)
        except InputError as exc:
            # a broken plugin must not break mlrig: it is not offered, and it is said why
            problems.append(f"The plugin flavor '{ep_name}' ({ep_value}) cannot be loaded: "
                            f"{exc.message}")
            continue
        specs.append(FlavorSpec(cls.TYPE, cls.FLAVOR, source, PLUGIN))
    return tuple(specs), tuple(problems)


def plugin_specs_all() -> tuple[FlavorSpec, ...]:
    """Flavors contributed by installed packages through the ``mlrig.flavors`` entry points.

    Each entry point names a :class:`Flavor` subclass (``package.module:Class``); it is
    imported here to learn its type and name, which only happens when a command needs
    plugin flavors.
    """
    return _plugins()[0]


def forget_plugins() -> None:
    """Look the installed plugins up again on next use (after a package was installed)."""
    _plugins.cache_clear()


def plugin_problems() -> tuple[str, ...]:
    """One sentence for each installed plugin flavor that cannot be loaded."""
    return _plugins()[1]


def _unique(specs: list[FlavorSpec]) -> list[FlavorSpec]:
    """A source offers each ``(type, name)`` once."""
    seen: dict[tuple[ComponentType, str], FlavorSpec] = {}
    for spec in specs:
        other = seen.setdefault((spec.type, spec.name), spec)
        if other is not spec:
            raise InputError(
                f"Two {spec.origin} flavors are named '{spec.name}' for the component type "
                f"'{spec.type.value}': {other.source} and {spec.source}.",
                hint="Uninstall or rename one of them.")
    return specs


def all_specs(type_: ComponentType, profile_flavors: Iterable[FlavorRecord]) -> list[FlavorSpec]:
    """Every flavor of a type, in resolution order (profile, plugin, built-in); a name can
    appear once per source (the first one of a name is the one :func:`resolve` gives)."""
    result = _unique([FlavorSpec(f.type, f.name, f.source, PROFILE) for f in profile_flavors
                      if f.type is type_])
    result += _unique([s for s in plugin_specs_all() if s.type is type_])
    result += _unique(builtin_specs(type_))
    return result


def resolve(type_: ComponentType, name: str,
            profile_flavors: Iterable[FlavorRecord]) -> FlavorSpec:
    """The flavor ``name`` of a type, as :func:`all_specs` orders them."""
    specs = all_specs(type_, list(profile_flavors))
    for spec in specs:
        if spec.name == name:
            return spec
    known = sorted({s.name for s in specs})
    broken = " ".join(p for p in plugin_problems() if f"'{name}'" in p)
    raise NotFoundError(
        f"There is no flavor '{name}' for the component type '{type_.value}'. "
        f"Available: {', '.join(known) if known else 'none'}." + (f" {broken}" if broken else ""),
        hint=f"Run 'mlrig {type_.cli_name} flavor list'.",
        library_hint=f"client.list_flavors('{type_.value}') lists them.",
    )


def is_builtin(type_: ComponentType, name: str) -> bool:
    return any(t is type_ and n == name for t, n, _ in _BUILTINS)


def load_flavor_class(source: str, expected_type: ComponentType | None = None) -> type[Flavor]:
    """Import ``package.module.Class`` and check that it is a proper flavor."""
    from mlrig.flavors.base import Flavor

    module_name, _, class_name = source.replace(":", ".").rpartition(".")
    if not module_name or not class_name:
        raise InputError(f"Invalid flavor source '{source}': use 'package.module.ClassName'.")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        # a sentence of its own: callers and the CLI append a hint after it
        reason = str(exc).strip().rstrip(".")
        raise InputError(
            f"Cannot import the flavor source '{source}': {type(exc).__name__}"
            + (f": {reason}." if reason else "."),
            hint="Make sure the module is installed or on PYTHONPATH.",
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Flavor):
        raise InputError(f"'{source}' is not a subclass of mlrig.flavors.base.Flavor.")
    for attribute in ("TYPE", "FLAVOR", "CONFIG"):
        if not hasattr(cls, attribute):
            raise InputError(f"The flavor class '{source}' does not define {attribute}.")
    if not isinstance(cls.TYPE, ComponentType):
        raise InputError(f"The flavor class '{source}' has an invalid TYPE.")
    if expected_type is not None and cls.TYPE is not expected_type:
        raise InputError(
            f"The flavor class '{source}' is a flavor of '{cls.TYPE.value}', "
            f"not of '{expected_type.value}'."
        )
    return cls


def validate_config(flavor: type[Flavor], values: dict[str, Any],
                    component_label: str) -> dict[str, Any]:
    """Validate ``values`` against the flavor's schema; return the JSON-able config."""
    from pydantic import ValidationError

    from mlrig.flavors.compiled import invalid, prepare

    fields = flavor.CONFIG.model_fields

    def plain_string(key: str) -> bool | None:
        info = fields.get(key)
        return None if info is None else info.annotation in (str, str | None)

    try:
        model = flavor.CONFIG.model_validate(prepare(plain_string, values))
    except ValidationError as exc:
        raise invalid(exc.errors(), component_label, flavor.FLAVOR) from None
    result = dict(model.model_dump(mode="json", exclude_none=True))
    # JSON mode dumps SecretStr as "**********": keep the real value (masking is the job
    # of the outputs, and the stored value must be the one given)
    from pydantic import SecretStr

    for key in result:
        field_value = getattr(model, key, None)
        if isinstance(field_value, SecretStr):
            result[key] = field_value.get_secret_value()
    return result
