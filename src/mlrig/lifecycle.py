"""Reshaping what a profile holds: update, rename and copy stacks and components, register
and delete custom flavors, export and import stacks.

These are methods of :class:`mlrig.client.Client` (through :class:`LifecycleMixin`). The
rules they follow:

* every change that touches several objects is **one store transaction** (a component rename
  rewrites the stacks that use it in the same commit; a copy or an import creates its
  flavors, components and stack together or not at all);
* a rename **moves every pointer mlrig owns** (the profile's active stack in config.yaml, the
  current repository's active stack) and warns about the ones it can't (``MLRIG_ACTIVE_STACK``);
  the pointers are moved after the store commit under an intent (:mod:`mlrig.intents`), so a
  crash in between is finished by the next command;
* a same-named but different component in a target profile is a conflict, never silently
  replaced (see :mod:`mlrig.transfer_plan`) — except a profile's own ``default`` components as
  mlrig created them: a stack copied or imported into another profile uses that profile's
  defaults, and says so (see :mod:`mlrig.profile_defaults`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlrig.exceptions import AlreadyExistsError, InputError, InUseError, NotFoundError
from mlrig.models import Component, ComponentType, FlavorRecord, Stack, new_id
from mlrig.names import validate_name

if TYPE_CHECKING:
    from mlrig.client import Client
    from mlrig.portability import Bundle, BundleComponent
    from mlrig.stores.base import StoreView
    from mlrig.transfer_plan import SecretValues, SourceComponent, TransferPlan

# Heavier modules (the flavor registry, the bundle format, the planner) are imported by the
# methods that need them: the Client is on every command's start-up path.

TypeLike = ComponentType | str
RESERVED_ATTRIBUTES = ("name", "id", "uuid", "type", "flavor")


def _client(obj: object) -> Client:
    return cast("Client", obj)


def _type(value: TypeLike) -> ComponentType:
    return value if isinstance(value, ComponentType) else ComponentType.parse(value)


@dataclass
class RenameResult:
    """What a rename did: the files whose pointers it moved, what it could not move.

    ``updated`` lists the files changed (the global configuration, a repository's file);
    ``not_updated`` the scopes that still name ``old`` (an environment variable, a flag).
    """

    old: str
    new: str
    updated: list[str] = field(default_factory=list)
    not_updated: list[str] = field(default_factory=list)


@dataclass
class Snapshot:
    """Stacks with their components and custom flavors, read from one profile."""

    stacks: list[Stack]
    components: list[SourceComponent]
    flavors: list[FlavorRecord]


def snapshot_of(view: StoreView, stacks: list[Stack],
                components: list[Component] | None = None,
                all_flavors: bool = False) -> Snapshot:
    """The components the stacks use (or ``components``) and the custom flavors they need."""
    from mlrig.profile_defaults import is_profile_default
    from mlrig.transfer_plan import SourceComponent

    if components is None:
        components = []
        for stack in stacks:
            for type_, name in sorted(stack.components.items(), key=lambda i: i[0].value):
                component = view.get_component(type_, name)
                if component is None:
                    raise NotFoundError(
                        f"Stack '{stack.name}' refers to the {type_.display_name} '{name}', "
                        "which is not registered.")
                if component not in components:
                    components.append(component)
    records = view.list_flavors()
    if not all_flavors:
        used = {(c.type, c.flavor) for c in components}
        records = [f for f in records if (f.type, f.name) in used]
    return Snapshot(stacks, [SourceComponent(c, profile_default=is_profile_default(c))
                             for c in components], records)


class LifecycleMixin:
    """Stack, component and flavor lifecycle; mixed into :class:`mlrig.client.Client`."""

    # ================================================================== stacks
    def update_stack(self, name: str | None,
                     components: Mapping[TypeLike, str | None]) -> Stack:
        """Replace component slots of a stack (the active one with ``name=None``).

        Args:
            name: the stack, or ``None`` for the active one.
            components: component type (a :class:`ComponentType` or its name) -> the name of a
                registered component, for the slots to set; ``None`` values are left out and the
                other slots are kept.

        Returns:
            The updated :class:`Stack`.

        Raises:
            InputError: no component is given, or a name or type is not valid.
            NotFoundError: the stack or a component does not exist.
        """
        c = _client(self)
        parts = {_type(t): validate_name("component", n) for t, n in components.items()
                 if n is not None}
        if not parts:
            raise InputError("Nothing to update: give at least one component option "
                             "(for example -a ARTIFACT_STORE).")
        profile = c.profile_choice().name
        target = c.active_stack_name if name is None else name
        with c.store(profile).write() as txn:
            stack = txn.get_stack(target)
            if stack is None:
                raise NotFoundError(f"Stack '{target}' cannot be updated as it does not exist.")
            updated = Stack(target, {**stack.components, **parts})
            txn.update_stack(updated)
        c._say(f"Updated stack with name '{target}'.")
        return updated

    def remove_stack_components(self, name: str | None,
                                types: Iterable[TypeLike]) -> tuple[Stack, list[ComponentType]]:
        """Take optional components out of a stack (the active one with ``name=None``).

        A type of which the stack has no component is skipped, with a warning event.

        Args:
            name: the stack, or ``None`` for the active one.
            types: the component types to take out (:class:`ComponentType` or names).

        Returns:
            The updated :class:`Stack` and the types that were taken out.

        Raises:
            InputError: no type is given, or a mandatory one (orchestrator, metadata store, artifact
                store).
            NotFoundError: the stack does not exist.
        """
        c = _client(self)
        wanted = [_type(t) for t in types]
        if not wanted:
            raise InputError("Nothing to remove: name at least one optional component type.")
        mandatory = [t.display_name for t in wanted if t.mandatory]
        if mandatory:
            raise InputError(
                f"The {', '.join(mandatory)} of a stack cannot be removed: every stack needs "
                "an orchestrator, a metadata store and an artifact store.",
                hint="Replace it with 'mlrig stack update' instead.",
                library_hint="Replace it with client.update_stack(NAME, {TYPE: COMPONENT}).",
            )
        profile = c.profile_choice().name
        target = c.active_stack_name if name is None else name
        with c.store(profile).write() as txn:
            stack = txn.get_stack(target)
            if stack is None:
                raise NotFoundError(f"Stack '{target}' cannot be updated as it does not exist.")
            removed = [t for t in wanted if t in stack.components]
            parts = {t: n for t, n in stack.components.items() if t not in removed}
            updated = Stack(target, parts)
            if removed:
                txn.update_stack(updated)
        for type_ in wanted:
            if type_ not in removed:
                c._warn(f"Stack '{target}' has no {type_.display_name}; nothing to remove.")
        return updated, removed

    def rename_stack(self, old: str, new: str) -> RenameResult:
        """Rename a stack of the active profile and move every pointer mlrig owns to it.

        The pointers are the profile's active stack in the global configuration and the current
        repository's active stack; a scope mlrig cannot change (the ``stack`` argument of the
        Client, ``MLRIG_ACTIVE_STACK``) is reported with a warning event.

        Args:
            old: the stack's name.
            new: its new name.

        Returns:
            A :class:`RenameResult`: ``updated`` (the files whose pointers moved) and
            ``not_updated`` (the scopes that still name ``old``).

        Raises:
            NotFoundError: the stack does not exist.
            AlreadyExistsError: a stack is called ``new`` already.
            InputError: ``new`` is not a valid name.
        """
        from mlrig import context as ctx
        from mlrig.intents import RENAME_STACK, intent, move_stack_pointers

        c = _client(self)
        validate_name("stack", new)
        profile = c.profile_choice().name
        store = c.store(profile)
        with store.read() as view:
            if view.get_stack(old) is None:
                raise NotFoundError(f"Stack '{old}' cannot be renamed as it does not exist.")
            if old == new:
                return RenameResult(old, new)
            if view.get_stack(new) is not None:
                raise AlreadyExistsError(
                    f"Stack '{new}' already exists. Please choose a different name.")
        repo = c.repository()
        record = {"op": RENAME_STACK, "profile": profile, "old": old, "new": new,
                  "repo_root": str(repo.root) if repo is not None else None}
        result = RenameResult(old, new)
        with intent(c.config_dir, record, c._on_event):
            with store.write() as txn:
                stack = txn.get_stack(old)
                if stack is None:
                    raise NotFoundError(
                        f"Stack '{old}' cannot be renamed as it does not exist.")
                txn.update_stack(Stack(new, dict(stack.components)), old_name=old)
            # the commit point: from here on the rename is finished, even after a crash
            result.updated = move_stack_pointers(c.config_dir, profile, old, new,
                                                 record["repo_root"])
        c._config = None
        for setting in ctx.stack_settings(c._scope_inputs(), profile):
            if setting.name == old and setting.scope in (ctx.FLAG, ctx.ENVIRONMENT):
                result.not_updated.append(setting.describe())
                c._warn(f"The {setting.scope} scope ({setting.source}) still names the stack "
                        f"'{old}', which is now called '{new}'; update it.")
        c._say(f"Renamed stack '{old}' to '{new}'.")
        return result

    def _profiles_for_copy(self, from_profile: str | None,
                           to_profile: str | None) -> tuple[str, str]:
        c = _client(self)
        config = c.config()
        active = (c.profile_choice().name
                  if from_profile is None or to_profile is None else "")
        source = from_profile or active
        target = to_profile or active
        if source not in config.profiles:
            raise NotFoundError(f"Unable to find source profile '{source}'.",
                                hint="Run 'mlrig profile list'.",
                                library_hint="client.list_profiles() lists the profiles.")
        if target not in config.profiles:
            raise NotFoundError(f"Unable to find target profile '{target}'.",
                                hint="Run 'mlrig profile list'.",
                                library_hint="client.list_profiles() lists the profiles.")
        return source, target

    def copy_stack(self, source: str, target: str, *, from_profile: str | None = None,
                   to_profile: str | None = None, rename_conflicts: bool = False,
                   use_existing: bool = False, dry_run: bool = False) -> TransferPlan:
        """Copy a stack, with the components and custom flavors it uses, in one transaction.

        Identical components in the target are reused, and the source profile's ``default``
        components as mlrig created them are replaced by the target's own; a same-named,
        differently configured component is a conflict, unless ``rename_conflicts`` (copy it
        as NAME-2) or ``use_existing`` (use the target's instead).

        Args:
            source: the stack to copy.
            target: the copy's name.
            from_profile: the profile to copy from (default: the active one).
            to_profile: the profile to copy to (default: the active one).
            rename_conflicts: create a differing component under a new name (``name-2``, ...)
                instead of refusing.
            use_existing: use the target's same-named component of a differing one instead
                of refusing.
            dry_run: only plan: nothing is written, and the plan may hold conflicts.

        Returns:
            The :class:`TransferPlan`: what happened (or would happen) to each flavor, component and
            stack.

        Raises:
            NotFoundError: the stack or a profile does not exist.
            AlreadyExistsError: the target stack exists, or a conflict (nothing was changed).
            InputError: ``target`` is not a valid name, or both ways out are asked for.
        """
        from mlrig.transfer_plan import plan_transfer

        c = _client(self)
        validate_name("stack", target)
        src_profile, dst_profile = self._profiles_for_copy(from_profile, to_profile)
        with c.store(src_profile).read() as view:
            stack = view.get_stack(source)
            if stack is None:
                raise NotFoundError(f"Stack '{source}' cannot be copied as it does not exist.")
            snap = snapshot_of(view, [stack])
        new_stack = Stack(target, dict(stack.components))

        def plan_in(view: StoreView) -> TransferPlan:
            if view.get_stack(target) is not None:
                raise AlreadyExistsError(
                    f"Can't copy stack as a stack with the name '{target}' already exists "
                    f"in profile '{dst_profile}'.")
            return plan_transfer(view, snap.components, snap.flavors, [new_stack],
                                 rename_conflicts=rename_conflicts,
                                 use_existing=use_existing)

        if dry_run:
            with c.store(dst_profile).read() as view:
                return plan_in(view)
        with c.store(dst_profile).write() as txn:
            plan = plan_in(txn)
            plan.raise_if_refused()
            plan.apply(txn)
        self._report(plan, dst_profile, f"the one of profile '{src_profile}'")
        return plan

    def _report(self, plan: TransferPlan, profile: str, origin: str) -> None:
        """Say what a transfer into ``profile`` did; ``origin`` names where the components
        came from ("the one of profile 'x'", "the one in the bundle")."""
        from mlrig.transfer_plan import CREATE, RENAME, REUSE, USE_DEFAULT, USE_EXISTING

        c = _client(self)
        for a in plan.actions:
            if a.kind == "flavor" and a.action == CREATE:
                assert a.type is not None
                c._say(f"Registered flavor '{a.name}' for the component type "
                       f"'{a.type.value}' ({a.detail}).")
            elif a.kind == "component" and a.type is not None:
                if a.action == CREATE:
                    c._say(f"Registered stack component with type '{a.type.value}' and name "
                           f"'{a.name}'.")
                elif a.action == RENAME:
                    c._warn(f"The {a.type.display_name} '{a.source_name}' exists in profile "
                            f"'{profile}' with a different configuration; registered the copy "
                            f"as '{a.name}'.")
                elif a.action == REUSE:
                    c._say(f"Reusing the {a.type.display_name} '{a.name}' of profile "
                           f"'{profile}' ({a.detail}).")
                elif a.action == USE_DEFAULT:
                    c._say(f"Using the default {a.type.display_name} '{a.name}' of profile "
                           f"'{profile}' instead of {origin} (each profile's default "
                           "components keep their own paths).")
                elif a.action == USE_EXISTING:
                    c._say(f"Using the {a.type.display_name} '{a.name}' of profile "
                           f"'{profile}' instead of {origin} (--use-existing; {a.detail}).")
            elif a.kind == "stack" and a.action == CREATE:
                c._say(f"Registered stack with name '{a.name}'.")
        for note in plan.notes:
            c._warn(note)

    # ------------------------------------------------------------------ export / import
    def _bundle_components(self, view: StoreView, components: list[SourceComponent],
                           include_secrets: bool) -> list[BundleComponent]:
        from mlrig.portability import BundleComponent

        c = _client(self)
        result: list[BundleComponent] = []
        for entry in components:
            comp = entry.component
            if include_secrets:
                result.append(BundleComponent(comp, profile_default=entry.profile_default))
                continue
            try:
                secret = c.flavor_class(view, comp.type, comp.flavor).secret_fields()
            except (InputError, NotFoundError) as exc:
                raise InputError(
                    f"Cannot tell which attributes of the {comp.type.display_name} "
                    f"'{comp.name}' are secret: {exc.message}",
                    hint="Make its flavor importable, or export with --include-secrets.",
                    library_hint="Make its flavor importable, or pass include_secrets=True.",
                ) from None
            kept = {k: v for k, v in comp.config.items() if k not in secret}
            omitted = [k for k, v in comp.config.items() if k in secret and v is not None]
            result.append(BundleComponent(
                Component(comp.type, comp.name, comp.flavor, kept, id=comp.id), omitted,
                profile_default=entry.profile_default))
        return result

    def stack_bundle(self, name: str | None = None, include_secrets: bool = False) -> Bundle:
        """The export of a stack (the active one by default) as a :class:`Bundle`, in memory.

        The bundle holds the stack, the components it uses and the custom flavors they need. Secret
        attributes are left out (their names listed as omitted) unless ``include_secrets``.

        Args:
            name: the stack (default: the active one).
            include_secrets: keep secret attribute values in the bundle.

        Returns:
            The :class:`Bundle`.

        Raises:
            NotFoundError: the stack does not exist.
            InputError: a flavor cannot be loaded, so its secret attributes are unknown.
        """
        from mlrig.portability import STACK_KIND, Bundle

        c = _client(self)
        target = c.active_stack_name if name is None else name
        with c.store().read() as view:
            stack = view.get_stack(target)
            if stack is None:
                raise NotFoundError(f"Stack '{target}' does not exist.")
            snap = snapshot_of(view, [stack])
            components = self._bundle_components(view, snap.components, include_secrets)
        return Bundle(STACK_KIND, components, snap.flavors, [stack],
                      secrets_included=include_secrets)

    def export_stack(self, name: str, path: str | Path | None = None,
                     include_secrets: bool = False) -> Path:
        """Write a stack's bundle (see :meth:`stack_bundle`) to a YAML file.

        Args:
            name: the stack.
            path: the file, relative to the client's ``cwd`` (default: ``<name>.yaml`` there).
            include_secrets: keep secret attribute values in the file.

        Returns:
            The path written.

        Raises:
            NotFoundError: the stack does not exist.
            InputError: the file cannot be written, or a flavor cannot be loaded.
        """
        from mlrig.portability import write_bundle

        c = _client(self)
        bundle = self.stack_bundle(name, include_secrets)
        target = c.cwd / (Path(path).expanduser() if path else Path(f"{name}.yaml"))
        write_bundle(bundle, target)
        return target

    def plan_stack_import(self, source: str | Path | Bundle, name: str | None = None, *,
                          rename_conflicts: bool = False, use_existing: bool = False,
                          secrets: SecretValues | None = None) -> tuple[Bundle, TransferPlan]:
        """What :meth:`import_stack` would do, without writing anything.

        Takes the arguments of :meth:`import_stack`.

        Returns:
            The :class:`Bundle` read and the :class:`TransferPlan` (``ok`` is false if the import
            would be refused).

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist, or holds a profile.
        """
        from mlrig.transfer_plan import plan_transfer

        c = _client(self)
        bundle, stack = self._stack_from(source, name)
        with c.store().read() as view:
            plan = plan_transfer(view, _sources(bundle), bundle.flavors, [stack],
                                 rename_conflicts=rename_conflicts, use_existing=use_existing,
                                 validate=True, secrets=secrets)
        return bundle, plan

    def import_stack(self, source: str | Path | Bundle, name: str | None = None, *,
                     rename_conflicts: bool = False, use_existing: bool = False,
                     secrets: SecretValues | None = None) -> TransferPlan:
        """Register a stack from a bundle in the active profile, with its components and flavors.

        Everything is created in one transaction, or nothing is. Identical components are reused;
        the bundle's ``default`` components that were its profile's defaults as mlrig created them
        are replaced by this profile's own; a same-named, differently configured one is a conflict
        unless ``rename_conflicts`` or ``use_existing`` (as in :meth:`copy_stack`).

        Args:
            source: a bundle file (relative to the client's ``cwd``) or a :class:`Bundle`.
            name: the stack's name (default: the one in the bundle).
            rename_conflicts: create a differing component under a new name instead of refusing.
            use_existing: use this profile's same-named component instead of refusing.
            secrets: values for the secret attributes the bundle left out: ``{(ComponentType,
                component name): {attribute: value}}``.

        Returns:
            The :class:`TransferPlan` that was applied.

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist or holds a profile, or a config is not valid (a
                required secret is missing, say).
            AlreadyExistsError: the stack exists, or a conflict (nothing was changed).
        """
        from mlrig.transfer_plan import plan_transfer

        c = _client(self)
        bundle, stack = self._stack_from(source, name)
        profile = c.profile_choice().name
        with c.store(profile).write() as txn:
            plan = plan_transfer(txn, _sources(bundle), bundle.flavors, [stack],
                                 rename_conflicts=rename_conflicts, use_existing=use_existing,
                                 validate=True, secrets=secrets)
            plan.raise_if_refused()
            plan.apply(txn)
        self._report(plan, profile, "the one in the bundle")
        return plan

    def _stack_from(self, source: str | Path | Bundle,
                    name: str | None) -> tuple[Bundle, Stack]:
        from mlrig.portability import STACK_KIND, Bundle, read_bundle

        c = _client(self)
        if isinstance(source, Bundle):
            bundle = source
        else:
            bundle = read_bundle(c.cwd / Path(source).expanduser())
        if bundle.kind != STACK_KIND:
            raise InputError(
                f"'{source}' holds a whole profile ({bundle.kind}), not a stack.",
                hint="Import it with 'mlrig profile import'.",
                library_hint="Import it with client.import_profile(PATH).")
        stack_name = validate_name("stack", name) if name else bundle.stack.name
        return bundle, Stack(stack_name, dict(bundle.stack.components))

    # ================================================================== components
    def update_component(self, type_: TypeLike, name: str,
                         values: Mapping[str, Any]) -> Component:
        """Set attributes of a component; the merged config is validated by its flavor.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component.
            values: attribute -> new value (``name``, ``id``, ``uuid``, ``type`` and ``flavor``
                cannot be set; a component is renamed with :meth:`rename_component`).

        Returns:
            The updated :class:`Component`.

        Raises:
            NotFoundError: the component does not exist.
            InputError: no value is given, a reserved attribute is, or the flavor rejects the
                config.
        """
        from mlrig import flavors as flavor_registry

        c = _client(self)
        ctype = _type(type_)
        _refuse_reserved(values, ctype, name)
        if not values:
            raise InputError("Nothing to update: give attributes as --key=value.")
        with c.store().write() as txn:
            component = _existing(txn, ctype, name)
            cls = c.flavor_class(txn, ctype, component.flavor)
            merged = {**component.config, **values}
            config = flavor_registry.validate_config(cls, merged,
                                                     f"{ctype.display_name} '{name}'")
            updated = Component(ctype, name, component.flavor, config, id=component.id)
            txn.update_component(updated)
        c._say(f"Updated stack component with type '{ctype.value}' and name '{name}'.")
        return updated

    def remove_component_attributes(self, type_: TypeLike, name: str,
                                    attributes: Iterable[str]) -> Component:
        """Reset optional attributes (those with a default) of a component to their default.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component.
            attributes: the attribute names (a leading ``--`` and dashes are accepted).

        Returns:
            The updated :class:`Component`.

        Raises:
            NotFoundError: the component does not exist.
            InputError: no attribute is given, or one is not an optional attribute of the flavor.
        """
        from mlrig import flavors as flavor_registry

        c = _client(self)
        ctype = _type(type_)
        wanted = [a.lstrip("-").replace("-", "_") for a in attributes]
        if not wanted:
            raise InputError("Nothing to remove: name at least one attribute.")
        with c.store().write() as txn:
            component = _existing(txn, ctype, name)
            cls = c.flavor_class(txn, ctype, component.flavor)
            fields = cls.CONFIG.model_fields
            for attribute in wanted:
                if attribute not in fields:
                    raise InputError(
                        f"'{attribute}' is not an attribute of the {ctype.display_name} "
                        f"flavor '{component.flavor}'.",
                        hint=f"Its attributes: {', '.join(sorted(fields)) or 'none'}.")
                if fields[attribute].is_required():
                    raise InputError(
                        f"Cannot remove the required attribute '{attribute}' of the "
                        f"{ctype.display_name} '{name}': only optional attributes (those "
                        "with a default) can be removed.",
                        hint=f"Change it with 'mlrig {ctype.cli_name} update {name} "
                             f"--{attribute}=VALUE'.",
                        library_hint=f"Change it with client.update_component('{ctype.value}', "
                                     f"'{name}', {{'{attribute}': VALUE}}).")
            kept = {k: v for k, v in component.config.items() if k not in wanted}
            config = flavor_registry.validate_config(cls, kept,
                                                     f"{ctype.display_name} '{name}'")
            updated = Component(ctype, name, component.flavor, config, id=component.id)
            txn.update_component(updated)
        c._say(f"Updated stack component with type '{ctype.value}' and name '{name}'.")
        return updated

    def rename_component(self, type_: TypeLike, old: str, new: str) -> tuple[Component,
                                                                               list[str]]:
        """Rename a component; every stack using it follows in the same transaction.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            old: the component's name.
            new: its new name.

        Returns:
            The renamed :class:`Component` (same ``id``) and the names of the stacks that use it.

        Raises:
            NotFoundError: the component does not exist.
            AlreadyExistsError: a component of that type is called ``new`` already.
            InputError: ``new`` is not a valid name.
        """
        c = _client(self)
        ctype = _type(type_)
        validate_name(ctype.display_name, new)
        with c.store().write() as txn:
            component = _existing(txn, ctype, old)
            if old == new:
                return component, []
            if txn.get_component(ctype, new) is not None:
                raise AlreadyExistsError(
                    f"A component of type '{ctype.value}' with the name '{new}' already "
                    "exists. Please choose a different name.")
            stacks = sorted(txn.stacks_using(ctype, old))
            renamed = Component(ctype, new, component.flavor, dict(component.config),
                                id=component.id)
            txn.update_component(renamed, old_name=old)
        for stack in stacks:
            c._say(f"Stack '{stack}' now uses the {ctype.display_name} '{new}'.")
        return renamed, stacks

    def copy_component(self, type_: TypeLike, source: str, target: str, *,
                       from_profile: str | None = None,
                       to_profile: str | None = None) -> Component:
        """Copy a component under a new name (and a new id), possibly to another profile.

        A custom flavor it needs is copied with it.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            source: the component to copy.
            target: the copy's name.
            from_profile: the profile to copy from (default: the active one).
            to_profile: the profile to copy to (default: the active one).

        Returns:
            The new :class:`Component`.

        Raises:
            NotFoundError: the component or a profile does not exist.
            AlreadyExistsError: ``target`` exists in the target profile, or its flavor means
                something else there.
        """
        from mlrig.transfer_plan import plan_transfer

        c = _client(self)
        ctype = _type(type_)
        validate_name(ctype.display_name, target)
        src_profile, dst_profile = self._profiles_for_copy(from_profile, to_profile)
        with c.store(src_profile).read() as view:
            original = view.get_component(ctype, source)
            if original is None:
                raise NotFoundError(
                    f"No {ctype.display_name} with the name '{source}' is registered in "
                    f"profile '{src_profile}'.")
            copy = Component(ctype, target, original.flavor, dict(original.config),
                             id=new_id())
            snap = snapshot_of(view, [], [copy])
        with c.store(dst_profile).write() as txn:
            if txn.get_component(ctype, target) is not None:
                raise AlreadyExistsError(
                    f"A component of type '{ctype.value}' with the name '{target}' already "
                    f"exists in profile '{dst_profile}'.")
            plan = plan_transfer(txn, snap.components, snap.flavors, [])
            plan.raise_if_refused(rename_hint=False)
            plan.apply(txn)
        self._report(plan, dst_profile, f"the one of profile '{src_profile}'")
        return copy

    # ================================================================== flavors
    def register_flavor(self, type_: TypeLike, source: str) -> FlavorRecord:
        """Register a custom flavor in the active profile.

        The flavor is a :class:`~mlrig.flavors.base.Flavor` subclass, found by its dotted path; for
        this profile it overrides a built-in or plugin flavor of the same name (a warning event says
        so).

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            source: ``package.module.ClassName`` (or ``package.module:ClassName``), importable.

        Returns:
            The :class:`FlavorRecord` registered.

        Raises:
            InputError: the class cannot be imported, or is not a flavor of that type.
            AlreadyExistsError: the profile has a custom flavor of that name for the type.
        """
        from mlrig import flavors as flavor_registry

        c = _client(self)
        ctype = _type(type_)
        normalized = source.strip().replace(":", ".")
        cls = flavor_registry.load_flavor_class(normalized, expected_type=ctype)
        flavor_name = validate_name("flavor", str(cls.FLAVOR))
        record = FlavorRecord(ctype, flavor_name, normalized)
        with c.store().write() as txn:
            if any(f.name == flavor_name for f in txn.list_flavors(ctype)):
                raise AlreadyExistsError(
                    f"The flavor '{flavor_name}' for the component type '{ctype.value}' "
                    "is already registered in this profile.",
                    hint=f"Delete it first with 'mlrig {ctype.cli_name} flavor delete "
                         f"{flavor_name}'.",
                    library_hint=f"Delete it first with client.delete_flavor("
                                 f"'{ctype.value}', '{flavor_name}').")
            users = sorted(x.name for x in txn.list_components(ctype)
                           if x.flavor == flavor_name)
            txn.create_flavor(record)
        if flavor_registry.is_builtin(ctype, flavor_name):
            origin = "built-in"
        elif any(s.type is ctype and s.name == flavor_name
                 for s in flavor_registry.plugin_specs_all()):
            origin = "plugin"
        else:
            origin = ""
        if origin:
            c._warn(f"The custom flavor '{flavor_name}' overrides the {origin} flavor of the "
                    f"same name for {ctype.plural.replace('_', ' ')} in this profile"
                    + (f"; it now applies to {', '.join(repr(u) for u in users)}." if users
                       else "."))
        return record

    def delete_flavor(self, type_: TypeLike, name: str) -> None:
        """Delete a custom flavor of the active profile that no component uses.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the flavor's name.

        Raises:
            NotFoundError: no custom flavor of that name is registered for the type.
            InputError: it is a built-in flavor.
            InUseError: components use it (the message names them).
        """
        from mlrig import flavors as flavor_registry

        c = _client(self)
        ctype = _type(type_)
        with c.store().write() as txn:
            if not any(f.name == name for f in txn.list_flavors(ctype)):
                if flavor_registry.is_builtin(ctype, name):
                    raise InputError(
                        f"'{name}' is a built-in flavor of {ctype.plural.replace('_', ' ')}; "
                        "only flavors registered in a profile can be deleted.")
                raise NotFoundError(
                    f"No custom flavor '{name}' for the component type '{ctype.value}' is "
                    "registered in this profile.",
                    hint=f"Run 'mlrig {ctype.cli_name} flavor list'.",
                    library_hint=f"client.list_flavors('{ctype.value}') lists them.")
            users = sorted(x.name for x in txn.list_components(ctype) if x.flavor == name)
            if users:
                raise InUseError(
                    f"The flavor '{name}' cannot be deleted: the {ctype.display_name}(s) "
                    f"{', '.join(repr(u) for u in users)} use it.",
                    hint=f"Delete those first ('mlrig {ctype.cli_name} delete NAME').",
                    library_hint=f"Delete those first (client.delete_component("
                                 f"'{ctype.value}', NAME)).")
            txn.delete_flavor(ctype, name)

    def explain_component_type(self, type_: TypeLike) -> dict[str, Any]:
        """What a component type is for, and the flavors available for it.

        A flavor that cannot be loaded is described as such, not raised.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).

        Returns:
            A dict: ``type``, ``mandatory`` and ``flavors``, a list of ``{flavor, origin, source,
            description, attributes}`` where ``attributes`` maps each attribute to ``{required,
            secret, description}``.

        Raises:
            InputError: the type is unknown.
        """
        c = _client(self)
        ctype = _type(type_)
        flavors = []
        for spec in c.list_flavors(ctype):
            try:
                cls = spec.load()
                description = cls.DESCRIPTION
                fields = {name: {"required": info.is_required(),
                                 "secret": name in cls.secret_fields(),
                                 "description": info.description or ""}
                          for name, info in cls.CONFIG.model_fields.items()}
            except (InputError, NotFoundError) as exc:
                description, fields = f"(cannot be loaded: {exc.message})", {}
            flavors.append({"flavor": spec.name, "origin": spec.origin, "source": spec.source,
                            "description": description, "attributes": fields})
        return {"type": ctype.value, "mandatory": ctype.mandatory, "flavors": flavors}


def _sources(bundle: Bundle) -> list[SourceComponent]:
    from mlrig.transfer_plan import SourceComponent

    return [SourceComponent(b.component, list(b.omitted_secrets), b.is_profile_default)
            for b in bundle.components]


def _existing(view: StoreView, type_: ComponentType, name: str) -> Component:
    component = view.get_component(type_, name)
    if component is None:
        raise NotFoundError(f"No {type_.display_name} with the name '{name}' is registered.")
    return component


def _refuse_reserved(values: Mapping[str, Any], type_: ComponentType, name: str) -> None:
    for key in RESERVED_ATTRIBUTES:
        if key in values:
            hint = (f"Use 'mlrig {type_.cli_name} rename {name} NEW_NAME'." if key == "name"
                    else None)
            library_hint = (f"Use client.rename_component('{type_.value}', '{name}', NEW_NAME)."
                            if key == "name" else None)
            raise InputError(f"Cannot update mandatory property '{key}' of the "
                             f"{type_.display_name} '{name}'.", hint=hint,
                             library_hint=library_hint)
