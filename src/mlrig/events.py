"""What the library reports while it works: typed events, and the one sentence of each.

The core and the stores never build a progress sentence: they emit an :class:`Event`, a
frozen dataclass with plain typed fields (``StackRegistered(name='dev')``), a stable
``kind`` (``"stack_registered"``), a ``level`` (``"info"`` or ``"warning"``) and a
:meth:`~Event.to_dict` for a JSON consumer. Each event class writes its sentence exactly once,
in its :attr:`~Event.message` (``Registered stack with name 'dev'.``); the CLI prints that on
stderr, the default listener (:func:`log`) logs it on the ``mlrig`` logger.

Who receives them: a :data:`Listener` (``events=`` of :class:`~mlrig.client.Client`) gets the
event objects; an :data:`EventSink` (``on_event=``, the older form) gets
``(level, message)``. :func:`listener_for` turns what a caller gave into the one listener the
core calls.

A new event: a class below, in the group of its noun, with ``kind=`` (snake_case, never
changed once released), its fields and its sentence; then emit it where it happens
(``session.emit(NewThing(...))``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from mlrig.models import ComponentType

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: Any) -> Any:
        return lambda cls: cls

INFO, WARNING = "info", "warning"


@dataclass_transform(frozen_default=True)
class Event:
    """Something the library reports: a progress line or a warning.

    A subclass declares its fields and ``kind=`` (and ``level=WARNING`` for a warning) and
    is made a frozen dataclass: its fields are positional or keyword arguments, no
    attribute can be set afterwards, and equal fields make equal events.
    """

    kind: ClassVar[str]
    level: ClassVar[str]
    _names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, *, kind: str, level: str = INFO, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind in KINDS:
            raise TypeError(f"Two event classes have the kind '{kind}'.")
        if level not in (INFO, WARNING):
            raise TypeError(f"The event level '{level}' is neither '{INFO}' nor '{WARNING}'.")
        # a dataclass (fields(), asdict(), replace() work) whose methods are the ones below:
        # generating them for each of the classes would cost every command's start-up
        # several milliseconds
        dataclasses.dataclass(cls, init=False, repr=False, eq=False)
        cls.kind, cls.level = kind, level
        cls._names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        KINDS[kind] = cls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self._names
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} field(s), "
                            f"not {len(args)}.")
        values = dict(zip(names[:len(args)], args, strict=True))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{type(self).__name__} got an unexpected or repeated "
                                f"field {name!r}.")
            values[name] = value
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f"{type(self).__name__} misses the field(s) {', '.join(missing)}.")
        for name in names:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._names)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Event)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._names)
        return f"{type(self).__name__}({fields})"

    @property
    def message(self) -> str:
        """The sentence the CLI prints (without the ``Warning:`` prefix of a warning)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., "level": ..., <fields>, "message": ...}``, JSON-able: a component
        type is its value (``"artifact_store"``), a tuple a list."""
        data: dict[str, Any] = {"kind": self.kind, "level": self.level}
        for name in self._names:
            data[name] = _plain(getattr(self, name))
        data["message"] = self.message
        return data


#: every event class by its kind
KINDS: dict[str, type[Event]] = {}

#: receives each event as an object (``Client(events=...)``)
Listener = Callable[[Event], None]
#: receives each event as ``(level, message)`` (``Client(on_event=...)``)
EventSink = Callable[[str, str], None]


def _plain(value: Any) -> Any:
    if isinstance(value, ComponentType):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def from_dict(data: dict[str, Any]) -> Event:
    """The event that :meth:`Event.to_dict` wrote (``level`` and ``message`` are derived,
    so they are not read)."""
    import typing

    cls = KINDS.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"Unknown event kind {data.get('kind')!r}.")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = data[f.name]
        hint = hints[f.name]
        if hint is ComponentType:
            value = ComponentType(value)
        elif typing.get_origin(hint) is tuple:
            value = tuple(value)
        values[f.name] = value
    return cls(**values)


# ---------------------------------------------------------------------------- listeners
def log(event: Event) -> None:
    """The default listener: the event's sentence on the ``mlrig`` logger (a warning as
    ``logging.WARNING``, the rest as ``logging.INFO``)."""
    log_event(event.level, event.message)


def log_event(level: str, message: str) -> None:
    """:func:`log` for an :data:`EventSink`: the ``mlrig`` logger (imported only when used)."""
    import logging

    logging.getLogger("mlrig").log(logging.WARNING if level == WARNING else logging.INFO,
                                   message)


def lines(on_event: EventSink) -> Listener:
    """A listener that hands ``on_event`` each event as ``(level, message)``."""
    def listener(event: Event) -> None:
        on_event(event.level, event.message)

    return listener


def listener_for(on_event: EventSink | None = None, events: Listener | None = None) -> Listener:
    """The listener for a caller that gave ``on_event`` (lines), ``events`` (objects) or
    neither (:func:`log`); giving both is a ``TypeError``."""
    if on_event is not None and events is not None:
        raise TypeError("Pass on_event (level, message) or events (Event objects), not both.")
    if events is not None:
        return events
    if on_event is not None:
        return lines(on_event)
    return log


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _shared_by(profiles: tuple[str, ...]) -> str:
    """``profile 'a' uses it too`` / ``profiles 'a', 'b' use it too``."""
    names = _names(profiles)
    return f"profile {names} uses it too" if len(profiles) == 1 else f"profiles {names} use it too"


def _instead_of(source_profile: str | None) -> str:
    return ("the one in the bundle" if source_profile is None
            else f"the one of profile '{source_profile}'")


# ---------------------------------------------------------------------------- profiles
class DefaultProfileCreating(Event, kind="default_profile_creating"):
    """The first run creates the ``default`` profile."""

    @property
    def message(self) -> str:
        return "Creating default profile..."


class DefaultProfileCreated(Event, kind="default_profile_created"):
    """The ``default`` profile exists and is the active one."""

    @property
    def message(self) -> str:
        return "Created and activated default profile."


class ProfileInitializing(Event, kind="profile_initializing"):
    """A new profile's store is being set up (or attached to)."""

    name: str

    @property
    def message(self) -> str:
        return f"Initializing profile `{self.name}`..."


class StoreInitializing(Event, kind="store_initializing"):
    """A new, empty store is being created."""

    @property
    def message(self) -> str:
        return "Initializing store..."


class StoreAttached(Event, kind="store_attached"):
    """A new profile uses a store that already holds stacks (``masked_url``: secrets
    masked)."""

    masked_url: str
    stacks: int

    @property
    def message(self) -> str:
        return f"Attached to the existing store at {self.masked_url} ({self.stacks} stack(s))."


class ProfileCopied(Event, kind="profile_copied"):
    """``profile copy`` made ``target`` from ``source``."""

    source: str
    target: str
    stacks: int
    components: int
    flavors: int

    @property
    def message(self) -> str:
        return (f"Copied profile '{self.source}' to '{self.target}' ({self.stacks} stack(s), "
                f"{self.components} component(s), {self.flavors} flavor(s)).")


class ProfileImported(Event, kind="profile_imported"):
    """``profile import`` made the profile ``name`` from a bundle."""

    name: str
    stacks: int
    components: int
    flavors: int

    @property
    def message(self) -> str:
        return (f"Imported profile '{self.name}' ({self.stacks} stack(s), "
                f"{self.components} component(s), {self.flavors} flavor(s)).")


class DefaultComponentDataKept(Event, kind="default_component_data_kept"):
    """A deleted profile's default component directory holds files mlrig did not make."""

    path: str

    @property
    def message(self) -> str:
        return (f"Kept '{self.path}': it holds files mlrig did not make there (the data of a "
                "default component of the deleted profile).")


class ProfileRunDataKept(Event, kind="profile_run_data_kept"):
    """A deleted profile's run data directory holds files mlrig did not make there: what
    mlrig wrote (logs, the default secrets file) is gone, the rest is kept."""

    path: str

    @property
    def message(self) -> str:
        return (f"Kept '{self.path}': it holds files mlrig did not make there (the run data "
                "of the deleted profile; its logs and secrets file are removed).")


class ProfileDirectoryKept(Event, kind="profile_directory_kept"):
    """A deleted profile's own directory holds files mlrig did not make: its store is gone,
    the directory stays."""

    path: str

    @property
    def message(self) -> str:
        return (f"Kept '{self.path}', the profile's directory: it holds files mlrig did not "
                "make there.")


class StoreKept(Event, kind="store_kept"):
    """A deleted profile's store stays: other ``profiles`` use it."""

    path: str
    profiles: tuple[str, ...]

    @property
    def message(self) -> str:
        return f"Kept the store at '{self.path}' with its data: {_shared_by(self.profiles)}."


class ProfileStoreMoved(Event, kind="profile_store_moved"):
    """A renamed profile's store moved with it."""

    path: str

    @property
    def message(self) -> str:
        return f"Moved the profile's store to '{self.path}'."


class StoreLeft(Event, kind="store_left"):
    """A renamed profile's store stays where it is: other ``profiles`` use it."""

    path: str
    profiles: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"Left the store at '{self.path}' (the profile keeps its URL): "
                f"{_shared_by(self.profiles)}.")


class ProfileVariableStale(Event, kind="profile_variable_stale", level=WARNING):
    """An environment ``variable`` still names a renamed profile."""

    variable: str
    old: str
    new: str

    @property
    def message(self) -> str:
        return (f"{self.variable} still names the profile '{self.old}', which is now called "
                f"'{self.new}': update it (export {self.variable}={self.new}).")


class ProfileMigrating(Event, kind="profile_migrating"):
    """A profile moves to another store type (URLs with secrets masked)."""

    name: str
    from_type: str
    from_url: str
    to_type: str
    to_url: str

    @property
    def message(self) -> str:
        return (f"Migrating profile '{self.name}' from the {self.from_type} store at "
                f"{self.from_url} to the {self.to_type} store at {self.to_url}...")


class StoreContentsCopied(Event, kind="store_contents_copied"):
    """What a migration copied into the new store."""

    components: int
    stacks: int
    flavors: int

    @property
    def message(self) -> str:
        return (f"Copied {self.components} component(s), {self.stacks} stack(s) and "
                f"{self.flavors} custom flavor(s).")


class OldStoreRemoved(Event, kind="old_store_removed"):
    """After a migration: the old store was mlrig's, and is gone."""

    store_type: str
    masked_url: str

    @property
    def message(self) -> str:
        return f"Removed the old {self.store_type} store at {self.masked_url}."


class OldStoreKept(Event, kind="old_store_kept"):
    """After a migration: the old store stays, other ``profiles`` use it."""

    store_type: str
    masked_url: str
    profiles: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"Kept the old {self.store_type} store at {self.masked_url} with its data: "
                f"{_shared_by(self.profiles)}.")


class OldStoreNotOwned(Event, kind="old_store_not_owned"):
    """After a migration: the old store stays, mlrig did not create it."""

    store_type: str
    masked_url: str

    @property
    def message(self) -> str:
        return (f"Kept the old {self.store_type} store at {self.masked_url} (mlrig did not "
                "create it there); remove it when nobody needs it any more.")


# ---------------------------------------------------------------------------- stacks
class StackRegistered(Event, kind="stack_registered"):
    """A stack was registered (also by a copy, an import, a new profile)."""

    name: str

    @property
    def message(self) -> str:
        return f"Registered stack with name '{self.name}'."


class StackDeregistered(Event, kind="stack_deregistered"):
    """A stack was deleted."""

    name: str

    @property
    def message(self) -> str:
        return f"Deregistered stack with name '{self.name}'."


class StackUpdated(Event, kind="stack_updated"):
    """A stack's components changed."""

    name: str

    @property
    def message(self) -> str:
        return f"Updated stack with name '{self.name}'."


class StackRenamed(Event, kind="stack_renamed"):
    """A stack was renamed (and every scope mlrig owns follows it)."""

    old: str
    new: str

    @property
    def message(self) -> str:
        return f"Renamed stack '{self.old}' to '{self.new}'."


class StackHasNoComponent(Event, kind="stack_has_no_component", level=WARNING):
    """``stack remove-component`` for a type the stack has no component of."""

    stack: str
    type: ComponentType

    @property
    def message(self) -> str:
        return f"Stack '{self.stack}' has no {self.type.display_name}; nothing to remove."


class StackScopeStale(Event, kind="stack_scope_stale", level=WARNING):
    """A scope mlrig cannot rewrite (a flag, a variable: ``source``) still names a renamed
    stack."""

    scope: str
    source: str
    old: str
    new: str

    @property
    def message(self) -> str:
        return (f"The {self.scope} scope ({self.source}) still names the stack '{self.old}', "
                f"which is now called '{self.new}'; update it.")


class StackUsesComponent(Event, kind="stack_uses_component"):
    """A stack follows its component's rename."""

    stack: str
    type: ComponentType
    name: str

    @property
    def message(self) -> str:
        return f"Stack '{self.stack}' now uses the {self.type.display_name} '{self.name}'."


# ---------------------------------------------------------------------------- components
class ComponentRegistered(Event, kind="component_registered"):
    """A component was registered (also by a copy, an import, a new profile)."""

    type: ComponentType
    name: str

    @property
    def message(self) -> str:
        return (f"Registered stack component with type '{self.type.value}' and name "
                f"'{self.name}'.")


class ComponentDeregistered(Event, kind="component_deregistered"):
    """A component was deleted."""

    type: ComponentType
    name: str

    @property
    def message(self) -> str:
        return f"Deregistered stack component (type: {self.type.value}) with name '{self.name}'."


class ComponentUpdated(Event, kind="component_updated"):
    """A component's configuration changed."""

    type: ComponentType
    name: str

    @property
    def message(self) -> str:
        return f"Updated stack component with type '{self.type.value}' and name '{self.name}'."


class ComponentPathMadeAbsolute(Event, kind="component_path_made_absolute"):
    """A relative path given for a component's path attribute was stored as an absolute
    path, resolved against the directory the command ran in."""

    type: ComponentType
    name: str
    attribute: str
    given: str
    stored: str

    @property
    def message(self) -> str:
        return (f"The relative path '{self.given}' ({self.attribute}) of the "
                f"{self.type.display_name} '{self.name}' is stored as '{self.stored}'.")


class SecretsUnknown(Event, kind="secrets_unknown", level=WARNING):
    """A component's flavor cannot be loaded, so which values are secret is unknown: all
    of them are masked."""

    flavor: str
    type: ComponentType
    name: str

    @property
    def message(self) -> str:
        return (f"The flavor '{self.flavor}' of the {self.type.display_name} '{self.name}' "
                "cannot be loaded, so every value is masked (--show-secrets shows them).")


# ---------------------------------------------------------------------------- flavors
class FlavorRegistered(Event, kind="flavor_registered"):
    """A copy or an import registered a custom flavor (``detail``: the plan's, e.g. its
    source)."""

    type: ComponentType
    name: str
    detail: str

    @property
    def message(self) -> str:
        return (f"Registered flavor '{self.name}' for the component type '{self.type.value}' "
                f"({self.detail}).")


class FlavorOverrides(Event, kind="flavor_overrides", level=WARNING):
    """A custom flavor has the name of a ``built-in`` or ``plugin`` flavor (``origin``) and
    now applies to the components ``users``."""

    type: ComponentType
    name: str
    origin: str
    users: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"The custom flavor '{self.name}' overrides the {self.origin} flavor of the "
                f"same name for {self.type.plural.replace('_', ' ')} in this profile"
                + (f"; it now applies to {', '.join(repr(u) for u in self.users)}."
                   if self.users else "."))


class PluginFlavorProblem(Event, kind="plugin_flavor_problem", level=WARNING):
    """An installed plugin flavor cannot be loaded (``problem``: the flavor registry's
    sentence, which errors quote too)."""

    problem: str

    @property
    def message(self) -> str:
        return self.problem


# -------------------------------------------------------------------------- copies and imports
class ComponentCopyRenamed(Event, kind="component_copy_renamed", level=WARNING):
    """The target ``profile`` has a differently configured component of the name, so the
    copy got another ``name``."""

    type: ComponentType
    source_name: str
    name: str
    profile: str

    @property
    def message(self) -> str:
        return (f"The {self.type.display_name} '{self.source_name}' exists in profile "
                f"'{self.profile}' with a different configuration; registered the copy as "
                f"'{self.name}'.")


class ComponentReused(Event, kind="component_reused"):
    """The target ``profile`` has the same component; it is used (``detail``: the plan's
    reason)."""

    type: ComponentType
    name: str
    profile: str
    detail: str

    @property
    def message(self) -> str:
        return (f"Reusing the {self.type.display_name} '{self.name}' of profile "
                f"'{self.profile}' ({self.detail}).")


class DefaultComponentMapped(Event, kind="default_component_mapped"):
    """A default component of the source (``source_profile``; ``None``: a bundle) is
    replaced by the target ``profile``'s own default component ``name``."""

    type: ComponentType
    name: str
    profile: str
    source_profile: str | None

    @property
    def message(self) -> str:
        return (f"Using the default {self.type.display_name} '{self.name}' of profile "
                f"'{self.profile}' instead of {_instead_of(self.source_profile)} (each "
                "profile's default components keep their own paths).")


class ExistingComponentUsed(Event, kind="existing_component_used"):
    """``--use-existing``: the target ``profile``'s same-named component is used instead of
    the source's (``source_profile``; ``None``: a bundle)."""

    type: ComponentType
    name: str
    profile: str
    source_profile: str | None
    detail: str

    @property
    def message(self) -> str:
        return (f"Using the {self.type.display_name} '{self.name}' of profile "
                f"'{self.profile}' instead of {_instead_of(self.source_profile)} "
                f"(--use-existing; {self.detail}).")


class TransferNote(Event, kind="transfer_note", level=WARNING):
    """One of a copy's or an import's plan ``notes`` (the plan's sentence, which its
    ``--dry-run`` document shows too)."""

    note: str

    @property
    def message(self) -> str:
        return self.note


# ---------------------------------------------------------------------------- SQL stores
class SchemaUpgrading(Event, kind="schema_upgrading"):
    """An older SQL store is being upgraded (``backup``: the copy of a SQLite file)."""

    masked_url: str
    from_rev: str
    to_rev: str
    backup: str | None

    @property
    def message(self) -> str:
        return (f"Upgrading the SQL store at {self.masked_url} from schema revision "
                f"{self.from_rev} to {self.to_rev}"
                + (f" (backup: {self.backup})..." if self.backup else "..."))


class SchemaUpgraded(Event, kind="schema_upgraded"):
    """An older SQL store now has the schema revision ``to_rev``."""

    masked_url: str
    from_rev: str
    to_rev: str

    @property
    def message(self) -> str:
        return f"Upgraded the SQL store at {self.masked_url} to schema revision {self.to_rev}."


class PasswordFileReadable(Event, kind="password_file_readable", level=WARNING):
    """A SQL profile's ``password_file`` can be read by others (``mode``: its permission
    bits)."""

    path: str
    mode: int

    @property
    def message(self) -> str:
        return (f"The password file '{self.path}' has mode {self.mode:o}; others can read it "
                f"(fix: chmod 600 '{self.path}').")


class TokenFileReadable(Event, kind="token_file_readable", level=WARNING):
    """A rest profile's ``token_file`` can be read by others (``mode``: its permission
    bits)."""

    path: str
    mode: int

    @property
    def message(self) -> str:
        return (f"The token file '{self.path}' has mode {self.mode:o}; others can read it "
                f"(fix: chmod 600 '{self.path}').")


# ---------------------------------------------------------------------- interrupted operations
def operation_phrase(op: str, name: str | None, new: str | None = None) -> str:
    """What a pending operation is for, in words: ``rename of stack 'a' to 'b'``
    (``name`` is the old name of a rename)."""
    if op == "rename_stack":
        return f"rename of stack '{name}' to '{new}'"
    if op == "rename_profile":
        return f"rename of profile '{name}' to '{new}'"
    if op == "create_profile":
        return f"creation of profile '{name}'"
    if op == "delete_profile":
        return f"deletion of profile '{name}'"
    return f"operation '{op}'"


class InterruptedOperationWaiting(Event, kind="interrupted_operation_waiting", level=WARNING):
    """A crashed operation (``op``, recorded at ``path``) cannot be finished from a read-only
    configuration directory."""

    op: str
    name: str | None
    new: str | None
    path: str

    @property
    def message(self) -> str:
        return (f"The interrupted {operation_phrase(self.op, self.name, self.new)} "
                f"('{self.path}') cannot be finished: the configuration directory is "
                "read-only. The next command that can write finishes it.")


class InterruptedStackRenameFinished(Event, kind="interrupted_stack_rename_finished",
                                     level=WARNING):
    """The files that still named the old stack (``updated``) now name the new one."""

    profile: str
    old: str
    new: str
    updated: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"Finished the interrupted rename of stack '{self.old}' to '{self.new}' "
                f"(profile '{self.profile}'): updated {', '.join(self.updated)}.")


class InterruptedProfileRenameFinished(Event, kind="interrupted_profile_rename_finished",
                                       level=WARNING):
    """The repository file that still named the old profile (``updated``) names the new
    one."""

    old: str
    new: str
    updated: str

    @property
    def message(self) -> str:
        return (f"Finished the interrupted rename of profile '{self.old}' to '{self.new}': "
                f"updated {self.updated}.")


class InterruptedProfileRenameRolledBack(Event, kind="interrupted_profile_rename_rolled_back",
                                         level=WARNING):
    """A crashed profile rename that had not committed was undone."""

    old: str
    new: str

    @property
    def message(self) -> str:
        return f"Rolled back the interrupted rename of profile '{self.old}' to '{self.new}'."


class InterruptedProfileCreationRemoved(Event, kind="interrupted_profile_creation_removed",
                                        level=WARNING):
    """The half-built store of a crashed profile creation is gone."""

    name: str

    @property
    def message(self) -> str:
        return f"Removed the store of the interrupted creation of profile '{self.name}'."


class InterruptedProfileDeletionFinished(Event, kind="interrupted_profile_deletion_finished",
                                         level=WARNING):
    """The deleted profile's store directory (``path``) is gone."""

    name: str
    path: str

    @property
    def message(self) -> str:
        return f"Finished the interrupted deletion of profile '{self.name}': removed {self.path}."


class InterruptedProfileDeletionStoreRemoved(
        Event, kind="interrupted_profile_deletion_store_removed", level=WARNING):
    """The deleted profile's store is gone; its directory (``path``) stays: it holds files
    mlrig did not make."""

    name: str
    path: str

    @property
    def message(self) -> str:
        return (f"Finished the interrupted deletion of profile '{self.name}': removed its store "
                f"and kept {self.path}, which holds files mlrig did not make there.")


class InterruptedProfileDeletionUnsure(Event, kind="interrupted_profile_deletion_unsure",
                                       level=WARNING):
    """A record of an older mlrig does not say what the deleted profile's store made, so its
    directory (``path``) stays."""

    name: str
    path: str

    @property
    def message(self) -> str:
        return (f"Finished the interrupted deletion of profile '{self.name}': kept {self.path}; "
                "remove it yourself if it holds nothing you need.")


class InterruptedProfileDeletionKept(Event, kind="interrupted_profile_deletion_kept",
                                     level=WARNING):
    """The deleted profile's store directory (``path``) stays: ``profiles`` attached to it
    since."""

    name: str
    path: str
    profiles: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"Finished the interrupted deletion of profile '{self.name}': kept "
                f"{self.path}, which profile(s) {', '.join(self.profiles)} use.")


# ---------------------------------------------------------------------------- pipeline runs
class PipelineRunStarted(Event, kind="pipeline_run_started"):
    """A pipeline run (``run_id``) started on ``stack`` of ``profile``."""

    pipeline: str
    run_id: str
    stack: str
    profile: str

    @property
    def message(self) -> str:
        return (f"Running pipeline '{self.pipeline}' on stack '{self.stack}' of profile "
                f"'{self.profile}' (run {self.run_id}).")


class StepStarting(Event, kind="step_starting"):
    """A step of the run starts."""

    step: str

    @property
    def message(self) -> str:
        return f"Step '{self.step}' has started."


class StepFinished(Event, kind="step_finished"):
    """A step completed in ``duration_ms`` milliseconds."""

    step: str
    duration_ms: int

    @property
    def message(self) -> str:
        return f"Step '{self.step}' has finished in {self.duration_ms} ms."


class StepCached(Event, kind="step_cached"):
    """A step's cache key matched a completed earlier run: its outputs are reused."""

    step: str

    @property
    def message(self) -> str:
        return f"Using cached version of step '{self.step}'."


class StepReused(Event, kind="step_reused"):
    """A resumed run reuses a step that finished in the run it resumes (``run_id``)."""

    step: str
    run_id: str

    @property
    def message(self) -> str:
        return f"Reusing step '{self.step}' of run {self.run_id}."


class StepFailed(Event, kind="step_failed", level=WARNING):
    """A step failed after its retries (``error`` is one line; the traceback is in its log)."""

    step: str
    error: str

    @property
    def message(self) -> str:
        return f"Step '{self.step}' failed: {self.error}"


class PipelineRunFinished(Event, kind="pipeline_run_finished"):
    """The run ended with ``status`` after ``duration_ms`` milliseconds."""

    pipeline: str
    run_id: str
    status: str
    duration_ms: int

    @property
    def message(self) -> str:
        return (f"Pipeline '{self.pipeline}' run {self.run_id} {self.status} in "
                f"{self.duration_ms} ms.")
