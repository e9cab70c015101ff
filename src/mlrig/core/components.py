"""Components: register, list, get, update, rename, copy and delete the components
of the active profile, and show their config with secrets masked."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.core.results import SECRET_MASK
from mlrig.core.runtime_stack import secret_reference
from mlrig.core.session import Session
from mlrig.events import (
    ComponentDeregistered,
    ComponentPathMadeAbsolute,
    ComponentRegistered,
    ComponentUpdated,
    SecretsUnknown,
    StackUsesComponent,
)
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    MlrigError,
    NotFoundError,
)
from mlrig.models import (
    Component,
    ComponentType,
    TypeLike,
    component_type,
    new_id,
)
from mlrig.names import validate_name
from mlrig.stores.base import StoreView

if TYPE_CHECKING:
    from mlrig.flavors import FlavorSpec


from mlrig.core.flavors import flavor_spec, list_flavors, plugin_cache

RESERVED_ATTRIBUTES = ("name", "id", "uuid", "type", "flavor")

#: the attributes of built-in flavors that name a local file or directory: a relative path
#: given for one is stored absolute, resolved against the directory the command runs in
#: (the client's ``cwd``), so a stack writes to the same place from every directory (as
#: a profile's ``--token-file`` or a SQLite store's path). ``~`` is kept as written (it is
#: the same place for the user wherever they are, and stays portable in an export); a
#: secret reference is kept as written and its value must be absolute (checked at run time).
PATH_ATTRIBUTES: dict[tuple[ComponentType, str], tuple[str, ...]] = {
    (ComponentType.ARTIFACT_STORE, "local"): ("path",),
    (ComponentType.SECRETS_MANAGER, "local"): ("secrets_file",),
    (ComponentType.METADATA_STORE, "sqlite"): ("uri",),
}
_SQLITE_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def _absolute(value: str, cwd: Path) -> str | None:
    """``value`` with a relative path made absolute against ``cwd``; ``None`` when it is no
    relative path (absolute, ``~``, a secret reference, empty, a SQLite URL of another
    form)."""
    import os

    prefix = next((p for p in _SQLITE_PREFIXES if value.startswith(p)), "")
    raw = value[len(prefix):]
    if (not raw.strip() or secret_reference(value) or raw.startswith(("~", ":memory:"))
            or os.path.isabs(raw) or "\x00" in raw):
        return None
    return prefix + os.path.normpath(os.path.join(cwd, raw))


def absolute_paths(session: Session, ctype: ComponentType, flavor: str, name: str,
                   values: Mapping[str, Any], *, events: list[tuple[str, str, str]]
                   ) -> dict[str, Any]:
    """``values`` with every relative path of a :data:`PATH_ATTRIBUTES` attribute made
    absolute; ``(attribute, given, stored)`` of each is added to ``events`` (reported by a
    ``ComponentPathMadeAbsolute`` once the change is written)."""
    result = dict(values)
    for attribute in PATH_ATTRIBUTES.get((ctype, flavor), ()):
        given = result.get(attribute)
        if not isinstance(given, str):
            continue
        stored = _absolute(given, session.cwd)
        if stored is not None:
            result[attribute] = stored
            events.append((attribute, given, stored))
    return result


def _existing(view: StoreView, type_: ComponentType, name: str) -> Component:
    component = view.get_component(type_, name)
    if component is None:
        raise NotFoundError(f"No {type_.display_name} with the name '{name}' is registered.")
    return component


def _refuse_reserved(values: Mapping[str, Any], type_: ComponentType, name: str) -> None:
    for key in RESERVED_ATTRIBUTES:
        if key in values:
            hint = (
                f"Use 'mlrig {type_.cli_name} rename {name} NEW_NAME'." if key == "name" else None
            )
            library_hint = (
                f"Use client.rename_component('{type_.value}', '{name}', NEW_NAME)."
                if key == "name"
                else None
            )
            raise InputError(
                f"Cannot update mandatory property '{key}' of the {type_.display_name} '{name}'.",
                hint=hint,
                library_hint=library_hint,
            )


def register_component(
    session: Session,
    type_: TypeLike,
    name: str,
    flavor: str,
    config: Mapping[str, Any] | None = None,
) -> Component:
    ctype = component_type(type_)
    validate_name(ctype.display_name, name)
    if not flavor:
        raise InputError(
            f"Please use the option to specify '--flavor'/'-f' of the {ctype.display_name} "
            "you want to register."
        )
    store = session.store()
    with store.write() as txn:
        if txn.get_component(ctype, name) is not None:
            raise AlreadyExistsError(
                f"A component of type '{ctype.value}' with the name '{name}' already exists."
            )
        made_absolute: list[tuple[str, str, str]] = []
        values = flavor_spec(session, txn, ctype, flavor).validate_config(
            absolute_paths(session, ctype, flavor, name, dict(config or {}),
                           events=made_absolute),
            f"{ctype.display_name} '{name}'"
        )
        component = Component(ctype, name, flavor, values)
        txn.create_component(component)
    for attribute, given, stored in made_absolute:
        session.emit(ComponentPathMadeAbsolute(ctype, name, attribute, given, stored))
    session.emit(ComponentRegistered(ctype, name))
    return component


def list_components(session: Session, type_: TypeLike) -> list[Component]:
    ctype = component_type(type_)
    with session.store().read() as view:
        return sorted(view.list_components(ctype), key=lambda c: c.name)


def get_component(session: Session, type_: TypeLike, name: str | None = None) -> Component:
    ctype = component_type(type_)
    if name is None:
        active = active_component_name(session, ctype)
        if active is None:
            raise NotFoundError(
                f"No {ctype.display_name} set for active stack ('{session.active_stack_name}')."
            )
        name = active
    with session.store().read() as view:
        component = view.get_component(ctype, name)
        if component is None:
            raise NotFoundError(f"No {ctype.display_name} with the name '{name}' is registered.")
    return component


def active_component_name(session: Session, type_: TypeLike) -> str | None:
    ctype = component_type(type_)
    from mlrig.core.stacks import get_stack  # (stacks and transfers: loaded when used)

    return get_stack(session).components.get(ctype)


def delete_component(session: Session, type_: TypeLike, name: str) -> None:
    ctype = component_type(type_)
    with session.store().write() as txn:
        if txn.get_component(ctype, name) is None:
            raise NotFoundError(f"No {ctype.display_name} with the name '{name}' is registered.")
        users = txn.stacks_using(ctype, name)
        if users:
            raise InUseError(
                f"Unable to delete the {ctype.display_name} '{name}': it is part of the "
                f"stack(s) {', '.join(repr(u) for u in sorted(users))}.",
                hint="Delete those stacks or give them another component first.",
            )
        txn.delete_component(ctype, name)
    session.emit(ComponentDeregistered(ctype, name))


def secret_fields(session: Session, component: Component) -> frozenset[str] | None:
    """The component's secret fields (``None``: its flavor cannot be loaded, so every value
    counts as secret)."""
    return secret_fields_of(session, [component])[(component.type, component.flavor)]


def secret_fields_of(session: Session, components: Iterable[Component]
                     ) -> dict[tuple[ComponentType, str], frozenset[str] | None]:
    """:func:`secret_fields` of each ``(type, flavor)`` of ``components``, in one read of
    the store (a listing masks every entry: one read per entry would cost a listing of
    thousands as many reads)."""
    from mlrig import flavors as flavor_registry

    wanted = {(c.type, c.flavor) for c in components}
    plugin_cache(session)
    try:
        with session.store().read() as view:
            records = {t: view.list_flavors(t) for t in {t for t, _ in wanted}}
    except MlrigError:
        return dict.fromkeys(wanted)
    found: dict[tuple[ComponentType, str], frozenset[str] | None] = {}
    for type_, flavor in wanted:
        try:
            found[(type_, flavor)] = flavor_registry.resolve(type_, flavor,
                                                             records[type_]).secret_fields()
        except MlrigError:
            found[(type_, flavor)] = None
    return found


def masked_config(
    session: Session, component: Component, show_secrets: bool = False
) -> dict[str, Any]:
    return masked_configs(session, [component], show_secrets)[0]


def masked_configs(session: Session, components: list[Component], show_secrets: bool = False
                   ) -> list[dict[str, Any]]:
    """The configs of ``components`` with their secret values masked (unless
    ``show_secrets``); a component whose flavor cannot be loaded has every value masked
    (and a ``SecretsUnknown`` event)."""
    if show_secrets:
        return [dict(c.config) for c in components]
    secrets = secret_fields_of(session, components)
    masked = []
    for component in components:
        secret = secrets[(component.type, component.flavor)]
        if secret is None:
            session.emit(SecretsUnknown(component.flavor, component.type, component.name))
        # a secret reference ({{NAME.KEY}}) is no secret: it is shown as it is stored
        masked.append({
            k: (SECRET_MASK if (secret is None or k in secret) and v is not None
                and secret_reference(v) is None else v)
            for k, v in component.config.items()
        })
    return masked


def _reconfigure(
    session: Session,
    ctype: ComponentType,
    name: str,
    change: Callable[[Component, FlavorSpec], dict[str, Any]],
) -> Component:
    """Give component ``name`` the config ``change`` makes of its current one, validated by its
    flavor, in one write transaction (what ``update`` and ``remove-attribute`` share)."""
    with session.store().write() as txn:
        component = _existing(txn, ctype, name)
        spec = flavor_spec(session, txn, ctype, component.flavor)
        config = spec.validate_config(change(component, spec),
                                      f"{ctype.display_name} '{name}'")
        updated = Component(ctype, name, component.flavor, config, id=component.id)
        txn.update_component(updated)
    session.emit(ComponentUpdated(ctype, name))
    return updated


def update_component(
    session: Session, type_: TypeLike, name: str, values: Mapping[str, Any]
) -> Component:
    ctype = component_type(type_)
    _refuse_reserved(values, ctype, name)
    if not values:
        raise InputError("Nothing to update: give attributes as --key=value.")
    made_absolute: list[tuple[str, str, str]] = []

    def change(component: Component, _: Any) -> dict[str, Any]:
        made_absolute.clear()  # a write tried again starts over
        return {**component.config, **absolute_paths(
            session, ctype, component.flavor, name, values, events=made_absolute)}

    updated = _reconfigure(session, ctype, name, change)
    for attribute, given, stored in made_absolute:
        session.emit(ComponentPathMadeAbsolute(ctype, name, attribute, given, stored))
    return updated


def remove_component_attributes(
    session: Session, type_: TypeLike, name: str, attributes: Iterable[str]
) -> Component:
    ctype = component_type(type_)
    wanted = [a.lstrip("-").replace("-", "_") for a in attributes]
    if not wanted:
        raise InputError("Nothing to remove: name at least one attribute.")

    def without(component: Component, spec: FlavorSpec) -> dict[str, Any]:
        fields = spec.load().CONFIG.model_fields
        for attribute in wanted:
            if attribute not in fields:
                raise InputError(
                    f"'{attribute}' is not an attribute of the {ctype.display_name} "
                    f"flavor '{component.flavor}'.",
                    hint=f"Its attributes: {', '.join(sorted(fields)) or 'none'}.",
                )
            if fields[attribute].is_required():
                raise InputError(
                    f"Cannot remove the required attribute '{attribute}' of the "
                    f"{ctype.display_name} '{name}': only optional attributes (those "
                    "with a default) can be removed.",
                    hint=f"Change it with 'mlrig {ctype.cli_name} update {name} "
                    f"--{attribute}=VALUE'.",
                    library_hint=f"Change it with client.update_component('{ctype.value}', "
                    f"'{name}', {{'{attribute}': VALUE}}).",
                )
        return {k: v for k, v in component.config.items() if k not in wanted}

    return _reconfigure(session, ctype, name, without)


def rename_component(
    session: Session, type_: TypeLike, old: str, new: str
) -> tuple[Component, list[str]]:
    ctype = component_type(type_)
    validate_name(ctype.display_name, new)
    with session.store().write() as txn:
        component = _existing(txn, ctype, old)
        if old == new:
            return component, []
        if txn.get_component(ctype, new) is not None:
            raise AlreadyExistsError(
                f"A component of type '{ctype.value}' with the name '{new}' already "
                "exists. Please choose a different name."
            )
        stacks = sorted(txn.stacks_using(ctype, old))
        renamed = Component(ctype, new, component.flavor, dict(component.config), id=component.id)
        txn.update_component(renamed, old_name=old)
    for stack in stacks:
        session.emit(StackUsesComponent(stack, ctype, new))
    return renamed, stacks


def copy_component(
    session: Session,
    type_: TypeLike,
    source: str,
    target: str,
    *,
    from_profile: str | None = None,
    to_profile: str | None = None,
) -> Component:
    ctype = component_type(type_)
    validate_name(ctype.display_name, target)
    from mlrig.core.transfer import profiles_for_copy, report, stack_contents, transfer

    src_profile, dst_profile = profiles_for_copy(session, from_profile, to_profile)
    with session.store(src_profile).read() as view:
        original = view.get_component(ctype, source)
        if original is None:
            raise NotFoundError(
                f"No {ctype.display_name} with the name '{source}' is registered in "
                f"profile '{src_profile}'."
            )
        copy = Component(ctype, target, original.flavor, dict(original.config), id=new_id())
        copied = stack_contents(view, [], [copy])

    def target_free(view: StoreView) -> None:
        if view.get_component(ctype, target) is not None:
            raise AlreadyExistsError(
                f"A component of type '{ctype.value}' with the name '{target}' already "
                f"exists in profile '{dst_profile}'."
            )

    plan = transfer(session.store(dst_profile), copied, check=target_free, rename_hint=False)
    report(session, plan, dst_profile, src_profile)
    return copy


def explain_component_type(session: Session, type_: TypeLike) -> dict[str, Any]:
    ctype = component_type(type_)
    flavors = []
    for spec in list_flavors(session, ctype):
        try:
            cls = spec.load()
            description = cls.DESCRIPTION
            fields = {
                name: {
                    "required": info.is_required(),
                    "secret": name in cls.secret_fields(),
                    "description": info.description or "",
                }
                for name, info in cls.CONFIG.model_fields.items()
            }
        except (InputError, NotFoundError) as exc:
            description, fields = f"(cannot be loaded: {exc.message})", {}
        flavors.append(
            {
                "flavor": spec.name,
                "origin": spec.origin,
                "source": spec.source,
                "description": description,
                "attributes": fields,
            }
        )
    return {"type": ctype.value, "mandatory": ctype.mandatory, "flavors": flavors}
