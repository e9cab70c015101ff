"""The records mlrig keeps: component types, components, stacks, flavors, profiles, and the
contents (stacks, components, flavors) that copies, imports, exports and migrations move.

These are plain dataclasses on purpose: they are built on every command, and pydantic is
reserved for what needs validation of user input (flavor config schemas), which keeps the
start-up of read-only commands cheap. Serialisation is explicit (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlrig.profile_entry import profile_fields


class ComponentType(str, enum.Enum):
    """The 12 component types; the first three are mandatory in every stack.

    Wherever the API takes a type it also takes its name: ``"artifact_store"``,
    ``"artifact-store"`` or ``"ARTIFACT_STORE"`` (see :meth:`parse`).
    """

    ORCHESTRATOR = "orchestrator"
    METADATA_STORE = "metadata_store"
    ARTIFACT_STORE = "artifact_store"
    CONTAINER_REGISTRY = "container_registry"
    STEP_OPERATOR = "step_operator"
    SECRETS_MANAGER = "secrets_manager"
    FEATURE_STORE = "feature_store"
    MODEL_DEPLOYER = "model_deployer"
    EXPERIMENT_TRACKER = "experiment_tracker"
    ALERTER = "alerter"
    DATA_VALIDATOR = "data_validator"
    ANNOTATOR = "annotator"

    def __str__(self) -> str:
        return self.value

    @property
    def mandatory(self) -> bool:
        """Whether every stack needs a component of this type."""
        return self in MANDATORY_TYPES

    @property
    def cli_name(self) -> str:
        """Name of the CLI group and option: ``artifact-store``."""
        return self.value.replace("_", "-")

    @property
    def display_name(self) -> str:
        """Name used in sentences: ``artifact store``."""
        return self.value.replace("_", " ")

    @property
    def plural(self) -> str:
        """``artifact_stores``, ``container_registries``: the key of ``<type> list -o json``."""
        if self is ComponentType.CONTAINER_REGISTRY:
            return "container_registries"
        return f"{self.value}s"

    @property
    def short_option(self) -> str:
        """The option of ``mlrig stack register`` for this type: ``-a``."""
        return _SHORT_OPTIONS[self]

    @classmethod
    def parse(cls, value: str) -> ComponentType:
        """Accept ``artifact_store``, ``artifact-store`` or ``ARTIFACT_STORE``; an unknown
        name is an :class:`~mlrig.exceptions.InputError` listing the known ones."""
        key = value.strip().lower().replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            from mlrig.exceptions import InputError

            known = ", ".join(t.value for t in cls)
            raise InputError(f"Unknown component type '{value}'. Known types: {known}.") from None


MANDATORY_TYPES = (
    ComponentType.ORCHESTRATOR,
    ComponentType.METADATA_STORE,
    ComponentType.ARTIFACT_STORE,
)

_SHORT_OPTIONS = {
    ComponentType.ORCHESTRATOR: "-o",
    ComponentType.METADATA_STORE: "-m",
    ComponentType.ARTIFACT_STORE: "-a",
    ComponentType.CONTAINER_REGISTRY: "-c",
    ComponentType.STEP_OPERATOR: "-s",
    ComponentType.SECRETS_MANAGER: "-x",
    ComponentType.FEATURE_STORE: "-f",
    ComponentType.MODEL_DEPLOYER: "-d",
    ComponentType.EXPERIMENT_TRACKER: "-e",
    ComponentType.ALERTER: "-al",
    ComponentType.DATA_VALIDATOR: "-dv",
    ComponentType.ANNOTATOR: "-an",
}


def new_id() -> str:
    import uuid

    return uuid.uuid4().hex


@dataclass
class Component:
    """A registered component: ``(type, name)`` is unique within a profile.

    ``flavor`` names its flavor, ``config`` holds its attribute values as the flavor's schema
    validated them, and ``id`` stays the same through renames (a copy gets a new one).
    """

    type: ComponentType
    name: str
    flavor: str
    config: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (``type`` as its value): the form stores and bundles keep."""
        return {
            "id": self.id,
            "type": self.type.value,
            "name": self.name,
            "flavor": self.flavor,
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Component:
        """The inverse of :meth:`to_dict` (a new id if the dict has none)."""
        return cls(
            type=ComponentType(data["type"]),
            name=str(data["name"]),
            flavor=str(data["flavor"]),
            config=dict(data.get("config") or {}),
            id=str(data.get("id") or new_id()),
        )


@dataclass
class Stack:
    """A named set of at most one component per type, referenced by component name.

    ``components`` maps each :class:`ComponentType` the stack has to a component's name.
    """

    name: str
    components: dict[ComponentType, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{type value: component name}``, sorted by type (the stack's name is the key)."""
        return {t.value: n for t, n in sorted(self.components.items(), key=lambda i: i[0].value)}

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Stack:
        """The inverse of :meth:`to_dict`."""
        return cls(name=name, components={ComponentType(t): str(n) for t, n in data.items()})

    def uses(self, type_: ComponentType, name: str) -> bool:
        """Whether the stack's component of ``type_`` is ``name``."""
        return self.components.get(type_) == name


@dataclass(frozen=True)
class FlavorRecord:
    """A custom flavor registered in a profile: where its class lives.

    ``source`` is the dotted path of its :class:`~mlrig.flavors.base.Flavor` subclass.
    """

    type: ComponentType
    name: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (``type`` as its value)."""
        return {"type": self.type.value, "name": self.name, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlavorRecord:
        """The inverse of :meth:`to_dict`."""
        return cls(type=ComponentType(data["type"]), name=str(data["name"]),
                   source=str(data["source"]))


#: a component type, or its name (``"artifact_store"``, ``"artifact-store"``)
TypeLike = ComponentType | str


def component_type(value: TypeLike) -> ComponentType:
    """The :class:`ComponentType` of a type or a type name (InputError if there is none)."""
    return value if isinstance(value, ComponentType) else ComponentType.parse(value)


@dataclass
class ProfileConfig:
    """A profile as the global configuration knows it: its store and its active stack.

    ``store_type`` is ``local``, ``sql`` or ``rest``; ``store_url`` is the store's URL as
    kept in ``config.yaml``; ``active_stack`` is the profile's own active stack (a scope may
    choose another); ``options`` are its store options (SQL: ``password_env`` or
    ``password_file``). :class:`~mlrig.client.ProfileInfo` names the same fields the same way.
    """

    name: str
    store_type: str
    store_url: str
    active_stack: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Its entry in ``config.yaml`` (the name is the key)."""
        data: dict[str, Any] = {
            "store_type": self.store_type,
            "store_url": self.store_url,
            "active_stack": self.active_stack,
        }
        if self.options:
            data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> ProfileConfig:
        """Strict: a field of the wrong type is a ValueError (the file is corrupt), never
        coerced, so a damaged file is reported instead of being rewritten mangled
        (:func:`mlrig.profile_entry.profile_fields`)."""
        store_type, url, active, options = profile_fields(name, data)
        return cls(name=name, store_type=store_type, store_url=url, active_stack=active,
                   options=options)


@dataclass(frozen=True)
class ContentComponent:
    """A component as a copy, an import or an export carries it.

    ``omitted_secrets`` names the secret attributes left out of ``component.config`` (an
    export without ``--include-secrets``); ``profile_default`` tells whether it is its
    profile's ``default`` as mlrig created it (then the target profile's own default of the
    same type and flavor stands in for it).
    """

    component: Component
    omitted_secrets: tuple[str, ...] = ()
    profile_default: bool = False

    @property
    def key(self) -> tuple[ComponentType, str]:
        return (self.component.type, self.component.name)


def _component_order(entry: ContentComponent) -> tuple[str, str]:
    return (entry.component.type.value, entry.component.name)


def _flavor_order(record: FlavorRecord) -> tuple[str, str]:
    return (record.type.value, record.name)


@dataclass(frozen=True, eq=False)
class Contents:
    """Some stacks with their components and the custom flavors those use: what a copy, an
    import, an export or a migration moves, and what a store holds.

    Two contents are equal (``==``) when they hold the same stacks, components (with their
    ids and configurations) and flavors, in any order.
    """

    stacks: tuple[Stack, ...] = ()
    components: tuple[ContentComponent, ...] = ()
    flavors: tuple[FlavorRecord, ...] = ()

    @classmethod
    def of(cls, stacks: Iterable[Stack] = (),
           components: Iterable[Component | ContentComponent] = (),
           flavors: Iterable[FlavorRecord] = ()) -> Contents:
        """Contents from plain records (a :class:`Component` is carried as it is)."""
        return cls(tuple(stacks),
                   tuple(c if isinstance(c, ContentComponent) else ContentComponent(c)
                         for c in components),
                   tuple(flavors))

    @property
    def empty(self) -> bool:
        return not (self.components or self.stacks or self.flavors)

    def summary(self) -> str:
        """``3 component(s), 1 stack(s) and 0 custom flavor(s)``"""
        return (f"{len(self.components)} component(s), {len(self.stacks)} stack(s) and "
                f"{len(self.flavors)} custom flavor(s)")

    def component(self, type_: ComponentType, name: str) -> ContentComponent | None:
        return next((c for c in self.components if c.key == (type_, name)), None)

    def canonical(self) -> Contents:
        """The same contents in a canonical order (stacks by name, components and flavors by
        type and name)."""
        return Contents(tuple(sorted(self.stacks, key=lambda s: s.name)),
                        tuple(sorted(self.components, key=_component_order)),
                        tuple(sorted(self.flavors, key=_flavor_order)))

    __hash__ = None  # type: ignore[assignment]  # equal contents may hold mutable configs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Contents):
            return NotImplemented
        mine, theirs = self.canonical(), other.canonical()
        return (mine.stacks, mine.components, mine.flavors) == (
            theirs.stacks, theirs.components, theirs.flavors)
