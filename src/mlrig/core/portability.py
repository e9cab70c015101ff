"""The export/import bundle: one versioned YAML document for a stack or a whole profile.

A stack bundle (``kind: mlrig-stack``)::

    format_version: 1
    kind: mlrig-stack
    mlrig_version: 0.1.0
    secrets_included: false
    stack:
      name: dev
      components: {artifact_store: lake, metadata_store: default, orchestrator: default}
    components:
    - type: artifact_store
      name: lake
      flavor: s3
      id: 5d62...
      config: {path: s3://bucket/prefix, region: eu-west-1}
      omitted_secrets: [secret]
    - type: metadata_store
      name: default
      flavor: sqlite
      id: 9f3a...
      config: {uri: /home/me/.config/mlrig/local_stores/9f3a.../metadata.db}
      profile_default: true       # the exporting profile's default, as mlrig created it
    flavors:                      # custom flavors the components use (profile flavors only)
    - {type: orchestrator, name: airflow, source: my_pkg.flavors.AirflowOrchestrator}

A profile bundle (``kind: mlrig-profile``) has ``profile: {name, active_stack}`` and
``stacks: [{name, components}]`` instead of ``stack``, and holds every component and every
custom flavor of the profile.

Secret attributes (fields a flavor marks secret) are left out unless asked for; the names of
the ones left out are listed in ``omitted_secrets`` so that an import can say what is missing.

``profile_default: true`` marks a component that was the exporting profile's ``default`` as
mlrig created it (:mod:`mlrig.core.defaults`): an import into a profile that has its own
default of the same type and flavor uses that one instead. Older bundles do not have the key;
for them (and whenever it is absent) the import applies the same rule to the component's
configuration. ``profile_default: false`` makes it an ordinary component.

Parsing is strict: a bundle is untrusted input, every name is validated like a name typed on
the command line and every reference is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrig.core.defaults import DEFAULT, DEFAULT_FLAVORS, is_profile_default
from mlrig.exceptions import CorruptFileError, InputError, MlrigError, shown_text, shown_value
from mlrig.models import (
    Component,
    ComponentType,
    ContentComponent,
    Contents,
    FlavorRecord,
    Stack,
)
from mlrig.names import validate_name

BUNDLE_FORMAT_VERSION = 1
STACK_KIND = "mlrig-stack"
PROFILE_KIND = "mlrig-profile"
KINDS = (STACK_KIND, PROFILE_KIND)


def _component_dict(entry: ContentComponent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": entry.component.type.value,
        "name": entry.component.name,
        "flavor": entry.component.flavor,
        "id": entry.component.id,
        "config": dict(entry.component.config),
    }
    if entry.omitted_secrets:
        data["omitted_secrets"] = sorted(entry.omitted_secrets)
    if entry.profile_default:
        data["profile_default"] = True
    return data


@dataclass
class Bundle:
    """An export: the file format around a :class:`~mlrig.models.Contents`.

    ``kind`` is ``mlrig-stack`` (one stack: :attr:`stack`) or ``mlrig-profile`` (every
    stack, with ``profile_name`` and ``active_stack``). ``contents`` holds the stacks, the
    components they use (each with the names of the secret attributes left out) and the
    custom flavors.
    """

    kind: str
    contents: Contents
    profile_name: str | None = None
    active_stack: str | None = None
    secrets_included: bool = False
    mlrig_version: str | None = None

    @property
    def stack(self) -> Stack:
        """The stack of a stack bundle."""
        return self.contents.stacks[0]

    def to_yaml(self) -> str:
        """The bundle as the YAML text ``stack export`` / ``profile export`` write."""
        return dump_bundle(self)

    def to_document(self) -> dict[str, Any]:
        from mlrig._version import __version__

        doc: dict[str, Any] = {
            "format_version": BUNDLE_FORMAT_VERSION,
            "kind": self.kind,
            "mlrig_version": __version__,
            "secrets_included": self.secrets_included,
        }
        if self.kind == PROFILE_KIND:
            doc["profile"] = {"name": self.profile_name, "active_stack": self.active_stack}
            doc["stacks"] = [_stack_dict(s) for s in self.contents.stacks]
        else:
            doc["stack"] = _stack_dict(self.stack)
        doc["components"] = [_component_dict(c) for c in self.contents.components]
        doc["flavors"] = [f.to_dict() for f in self.contents.flavors]
        return doc

    def component(self, type_: ComponentType, name: str) -> ContentComponent | None:
        return self.contents.component(type_, name)


def _stack_dict(stack: Stack) -> dict[str, Any]:
    return {"name": stack.name, "components": stack.to_dict()}


# ---------------------------------------------------------------------------- writing
def dump_bundle(bundle: Bundle) -> str:
    from mlrig.fsutil import dump_yaml

    return dump_yaml(bundle.to_document())


def write_bundle(bundle: Bundle, path: Path) -> None:
    """Write atomically; a bundle holding secrets is private to the user (0600)."""
    from mlrig.fsutil import atomic_write

    mode = 0o600 if bundle.secrets_included else 0o644
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        raise InputError(f"Cannot export to '{path}': {exc.strerror or exc}.") from None
    if is_dir:
        raise InputError(f"Cannot export to '{path}': it is a directory.")
    atomic_write(path, dump_bundle(bundle), mode=mode, create_parents=False)


# ---------------------------------------------------------------------------- reading
#: the largest bundle file read (a profile of 10,000 components exports to a few MB)
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
#: the most YAML values (nodes: mappings, lists, scalars) a bundle may have; counted while
#: the file is read, before anything is built from it
MAX_BUNDLE_NODES = 1_000_000
#: the longest ``mlrig_version`` string kept from a bundle
_MAX_VERSION_LENGTH = 64


def read_bundle(path: Path) -> Bundle:
    """Read and validate a bundle.

    Its limits (size, number of values, no YAML aliases) are checked while the file is
    read, and so are its header and stacks (kind, names, mandatory components), from an
    outline of the document that leaves its components out: a bad bundle is refused in
    about the time it takes to read it, before the (far costlier) parse of every component.
    """
    from mlrig.fsutil import outline_yaml, parse_yaml, read_text

    text = read_text(path, limit=MAX_BUNDLE_BYTES)
    if text is None:
        raise InputError(f"The file '{path}' does not exist.")
    outline = outline_yaml(text, path, skip=_BULKY_KEYS, max_nodes=MAX_BUNDLE_NODES)
    if outline is not None:
        _parse_outline(outline, str(path))
    return parse_bundle(parse_yaml(text, path), str(path))


#: the parts of a bundle that grow with its size, parsed after everything else
_BULKY_KEYS = frozenset({"components", "flavors"})


def _fail(source: str, problem: str) -> CorruptFileError:
    return CorruptFileError(f"The bundle '{source}' is not valid: {problem}.")


@dataclass
class _Outline:
    kind: str
    stacks: list[Stack]
    profile_name: str | None
    active_stack: str | None
    mlrig_version: str | None


def parse_bundle(data: Any, source: str = "<bundle>") -> Bundle:
    """Validate a parsed document and turn it into a :class:`Bundle`.

    The order keeps a bad bundle cheap to refuse: the header, then the stacks (names and the
    mandatory components they must have), and only then every component and flavor entry.
    """
    outline = _parse_outline(data, source)
    try:
        components = [_parse_component(c) for c in _list(data, "components")]
        flavors = [_parse_flavor(f) for f in _list(data, "flavors")]
    except (InputError, ValueError, TypeError, KeyError) as exc:
        raise _fail(source, _problem(exc)) from None
    bundle = Bundle(
        kind=outline.kind,
        contents=Contents(tuple(outline.stacks), tuple(components), tuple(flavors)),
        profile_name=outline.profile_name, active_stack=outline.active_stack,
        secrets_included=bool(data.get("secrets_included", False)),
        mlrig_version=outline.mlrig_version,
    )
    _check_references(bundle, source)
    return bundle


def _parse_outline(data: Any, source: str) -> _Outline:
    """Everything but the components and flavors: the header, the profile, the stacks."""
    if not isinstance(data, dict):
        raise _fail(source, "it is not a mapping")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(source, "'format_version' is missing (is this an mlrig export?)")
    if version > BUNDLE_FORMAT_VERSION:
        raise CorruptFileError(
            f"The bundle '{source}' has format version {shown_text(str(version), 30)}, newer "
            f"than this mlrig supports ({BUNDLE_FORMAT_VERSION}).",
            hint="Upgrade mlrig to import it.",
        )
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise _fail(source, f"unknown kind {shown_value(kind)} (expected one of "
                            f"{', '.join(KINDS)})")
    raw_version = data.get("mlrig_version")
    if raw_version is not None and (not isinstance(raw_version, (str, int, float))
                                    or isinstance(raw_version, bool)
                                    or len(str(raw_version)) > _MAX_VERSION_LENGTH):
        raise _fail(source, f"'mlrig_version' {shown_value(raw_version)} is not a version")
    try:
        if kind == STACK_KIND:
            stacks = [_parse_stack(data.get("stack"))]
            profile_name, active_stack = None, None
        else:
            stacks = [_parse_stack(s) for s in _list(data, "stacks")]
            profile = data.get("profile") or {}
            if not isinstance(profile, dict):
                raise ValueError("'profile' is not a mapping")
            profile_name = _opt_name("profile", profile.get("name"))
            active_stack = _opt_name("stack", profile.get("active_stack"))
    except (InputError, ValueError, TypeError, KeyError) as exc:
        raise _fail(source, _problem(exc)) from None
    _check_stacks(stacks, active_stack, source)
    return _Outline(kind, stacks, profile_name, active_stack,
                    str(raw_version) if raw_version else None)


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):  # a missing key: its repr, bounded
        return f"the entry {shown_value(exc.args[0] if exc.args else None)} is missing"
    text = exc.message if isinstance(exc, MlrigError) else str(exc)
    return shown_text(text.rstrip("."), 300)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise TypeError(f"'{key}' is not a list")
    return value


def _opt_name(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    return _name(kind, value)


def _name(kind: str, value: Any) -> str:
    """A name from the bundle: a string (anything else is refused without rendering it in
    full), validated like a name typed on the command line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**100:
        value = str(value)  # `name: 42` in a hand-written bundle
    if not isinstance(value, str):
        raise TypeError(f"the {kind} name {shown_value(value)} is not a string")
    return validate_name(kind, value)


def _type(value: Any) -> ComponentType:
    if not isinstance(value, str):
        raise TypeError(f"the component type {shown_value(value)} is not a string")
    return ComponentType.parse(shown_text(value, 100))


def _parse_component(raw: Any) -> ContentComponent:
    if not isinstance(raw, dict):
        raise TypeError("a component entry is not a mapping")
    type_ = _type(raw["type"])
    name = _name("component", raw["name"])
    flavor = raw.get("flavor")
    if not isinstance(flavor, str) or not flavor:
        raise ValueError(f"the {type_.display_name} '{name}' has no flavor")
    config = raw.get("config") or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"the config of the {type_.display_name} '{name}' is not a mapping")
    omitted = raw.get("omitted_secrets") or []
    if not isinstance(omitted, list) or not all(isinstance(k, str) for k in omitted):
        raise ValueError(f"'omitted_secrets' of the {type_.display_name} '{name}' is not a "
                         "list of names")
    profile_default = raw.get("profile_default")
    if profile_default is not None and not isinstance(profile_default, bool):
        raise ValueError(f"'profile_default' of the {type_.display_name} '{name}' is not "
                         "true or false")
    if profile_default and (name != DEFAULT or type_ not in DEFAULT_FLAVORS):
        raise ValueError(f"the {type_.display_name} '{name}' is marked 'profile_default', "
                         "which only a default orchestrator, metadata store or artifact "
                         "store can be")
    raw_id = raw.get("id")
    component = Component(type_, name, flavor, dict(config))
    if isinstance(raw_id, str) and raw_id:
        component.id = raw_id
    # a bundle that does not say (written before the key existed): judged by the config
    if profile_default is None:
        profile_default = is_profile_default(component)
    return ContentComponent(component, tuple(omitted), profile_default)


def _parse_flavor(raw: Any) -> FlavorRecord:
    if not isinstance(raw, dict):
        raise TypeError("a flavor entry is not a mapping")
    type_ = _type(raw["type"])
    name = _name("flavor", raw["name"])
    source = raw.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError(f"the flavor '{name}' has no source")
    return FlavorRecord(type_, name, source)


def _parse_stack(raw: Any) -> Stack:
    if not isinstance(raw, dict):
        raise TypeError("a stack entry is not a mapping")
    name = _name("stack", raw["name"])
    comps = raw.get("components") or {}
    if not isinstance(comps, dict):
        raise TypeError(f"the components of stack '{name}' are not a mapping")
    parts = {_type(t): _name("component", n) for t, n in comps.items()}
    return Stack(name, parts)


def _check_stacks(stacks: list[Stack], active_stack: str | None, source: str) -> None:
    """What can be checked from the stacks alone: unique names, mandatory components, the
    active stack."""
    from mlrig.models import MANDATORY_TYPES

    names: set[str] = set()
    for stack in stacks:
        if stack.name in names:
            raise _fail(source, f"the stack '{stack.name}' appears twice")
        names.add(stack.name)
        missing = [t.display_name for t in MANDATORY_TYPES if t not in stack.components]
        if missing:
            raise _fail(source, f"stack '{stack.name}' lacks a mandatory component "
                                f"({', '.join(missing)})")
    if active_stack is not None and active_stack not in names:
        raise _fail(source, f"the active stack '{active_stack}' is not in the bundle")


def _check_references(bundle: Bundle, source: str) -> None:
    seen: set[tuple[ComponentType, str]] = set()
    for entry in bundle.contents.components:
        key = (entry.component.type, entry.component.name)
        if key in seen:
            raise _fail(source, f"the {key[0].display_name} '{key[1]}' appears twice")
        seen.add(key)
    flavor_keys: set[tuple[ComponentType, str]] = set()
    for flavor in bundle.contents.flavors:
        if (flavor.type, flavor.name) in flavor_keys:
            raise _fail(source, f"the flavor '{flavor.name}' ({flavor.type.value}) appears "
                                "twice")
        flavor_keys.add((flavor.type, flavor.name))
    for stack in bundle.contents.stacks:
        for type_, name in stack.components.items():
            if (type_, name) not in seen:
                raise _fail(source, f"stack '{stack.name}' uses the {type_.display_name} "
                                    f"'{name}', which the bundle does not contain")
