"""The one transfer engine: ``stack copy``/``import``, ``<type> copy``, ``profile copy``/
``import`` and ``profile migrate`` all move a :class:`~mlrig.models.Contents` (stacks, their
components, custom flavors) into a target store the same way, with :func:`transfer`:

1. **plan** — :func:`mlrig.core.transfer_plan.plan_transfer` decides, against a read of the
   target, what happens to each object (create / reuse / rename / use-default /
   use-existing / conflict; into an empty store, everything is a create);
2. **apply** — everything the plan creates is written in *one* transaction of the target;
3. **verify** — the target is read back: every flavor, component and stack created must be
   there and equal to what was written (into an empty store: and nothing else). A difference
   is an error that names it.

Also here: reading the contents that are copied (:func:`stack_contents`,
:func:`store_contents`), leaving secret values out of them for an export
(:func:`without_secrets`), which profiles a copy goes between, and the events that report
a transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlrig.core.session import Session
from mlrig.events import (
    ComponentCopyRenamed,
    ComponentRegistered,
    ComponentReused,
    DefaultComponentMapped,
    ExistingComponentUsed,
    FlavorRegistered,
    StackRegistered,
    TransferNote,
)
from mlrig.exceptions import AlreadyExistsError, InputError, MlrigError, NotFoundError, StoreError
from mlrig.models import Component, ContentComponent, Contents, Stack
from mlrig.stores.base import Store, StoreView

if TYPE_CHECKING:
    from mlrig.core.transfer_plan import SecretValues, TransferPlan


def _carried(components: list[Component]) -> list[ContentComponent]:
    from mlrig.core.defaults import is_profile_default

    return [ContentComponent(c, profile_default=is_profile_default(c)) for c in components]


def stack_contents(
    view: StoreView,
    stacks: list[Stack],
    components: list[Component] | None = None,
) -> Contents:
    """The stacks with the components they use (or ``components``) and the custom flavors
    those need."""
    if components is None:
        components = []
        for stack in stacks:
            for type_, name in sorted(stack.components.items(), key=lambda i: i[0].value):
                component = view.get_component(type_, name)
                if component is None:
                    raise NotFoundError(
                        f"Stack '{stack.name}' refers to the {type_.display_name} '{name}', "
                        "which is not registered."
                    )
                if component not in components:
                    components.append(component)
    used = {(c.type, c.flavor) for c in components}
    records = [f for f in view.list_flavors() if (f.type, f.name) in used]
    return Contents(tuple(stacks), tuple(_carried(components)), tuple(records))


def store_contents(view: StoreView) -> Contents:
    """Everything a store holds: every stack (by name), component and custom flavor."""
    stacks = sorted(view.list_stacks(), key=lambda s: s.name)
    return Contents(tuple(stacks), tuple(_carried(view.list_components())),
                    tuple(view.list_flavors()))


def contents_of(store: Store) -> Contents:
    """What ``store`` holds now (:func:`store_contents` in a read of its own)."""
    with store.read() as view:
        return store_contents(view)


def exported(view: StoreView, contents: Contents, include_secrets: bool) -> Contents:
    """``contents`` as an export holds them: :func:`without_secrets` unless ``include_secrets``."""
    return contents if include_secrets else without_secrets(view, contents)


def without_secrets(view: StoreView, contents: Contents) -> Contents:
    """``contents`` with the values of secret attributes left out, each component naming
    the ones it leaves out (what an export without ``--include-secrets`` holds)."""
    # imported here: a stack read or write that imports this module only to copy, export
    # or import does not load the flavor registry or the run-time stack
    from mlrig import flavors as flavor_registry
    from mlrig.core.runtime_stack import secret_reference

    carried: list[ContentComponent] = []
    for entry in contents.components:
        comp = entry.component
        try:
            secret = flavor_registry.resolve(comp.type, comp.flavor,
                                             view.list_flavors(comp.type)).secret_fields()
        except (InputError, NotFoundError) as exc:
            raise InputError(
                f"Cannot tell which attributes of the {comp.type.display_name} "
                f"'{comp.name}' are secret: {exc.message}",
                hint="Make its flavor importable, or export with --include-secrets.",
                library_hint="Make its flavor importable, or pass include_secrets=True.",
            ) from None
        # a secret reference ({{NAME.KEY}}) is no secret: an export carries it
        left_out = {k for k, v in comp.config.items()
                    if k in secret and v is not None and secret_reference(v) is None}
        kept = {k: v for k, v in comp.config.items() if k not in left_out}
        omitted = tuple(k for k in comp.config if k in left_out)
        carried.append(ContentComponent(
            Component(comp.type, comp.name, comp.flavor, kept, id=comp.id),
            omitted, entry.profile_default))
    return Contents(contents.stacks, tuple(carried), contents.flavors)


def transfer(
    store: Store,
    contents: Contents,
    *,
    check: Callable[[StoreView], None] | None = None,
    rename_conflicts: bool = False,
    use_existing: bool = False,
    validate: bool = False,
    secrets: SecretValues | None = None,
    rename_hint: bool = True,
    into_empty: str | None = None,
    unverified: Callable[[list[str]], MlrigError] | None = None,
) -> TransferPlan:
    """Plan, apply and verify the transfer of ``contents`` into ``store`` (see the module
    docstring); returns the plan, as it was applied.

    ``check`` runs first, on the target's transaction (a name that must be free). With
    ``into_empty`` (where the store is, for the message) the store must hold nothing yet,
    and must hold exactly what was written afterwards. A refused plan raises its
    conflicts and problems (nothing is written); a target that does not read back what was
    written raises ``unverified(differences)`` (by default a :class:`StoreError`).
    """
    from mlrig.core.transfer_plan import plan_transfer

    with store.write() as txn:
        if check is not None:
            check(txn)
        if into_empty is not None:
            existing = store_contents(txn)
            if not existing.empty:
                raise AlreadyExistsError(
                    f"The store at {into_empty} is not empty (it holds {existing.summary()}); "
                    "mlrig copies a whole profile only into an empty store."
                )
        plan = plan_transfer(txn, contents, rename_conflicts=rename_conflicts,
                             use_existing=use_existing, validate=validate, secrets=secrets)
        plan.raise_if_refused(rename_hint=rename_hint)
        plan.apply(txn)
    with store.read() as view:
        found = plan.differences(view, whole=into_empty is not None)
    if found:
        raise (unverified or _unverified)(found)
    return plan


def _unverified(found: list[str]) -> MlrigError:
    return StoreError("The target store does not read back what was written to it: "
                      + "; ".join(found) + ".")


def profiles_for_copy(
    session: Session, from_profile: str | None, to_profile: str | None
) -> tuple[str, str]:
    config = session.config()
    active = session.profile_choice().name if from_profile is None or to_profile is None else ""
    source = from_profile or active
    target = to_profile or active
    if source not in config.profiles:
        raise NotFoundError(
            f"Unable to find source profile '{source}'.",
            hint="Run 'mlrig profile list'.",
            library_hint="client.list_profiles() lists the profiles.",
        )
    if target not in config.profiles:
        raise NotFoundError(
            f"Unable to find target profile '{target}'.",
            hint="Run 'mlrig profile list'.",
            library_hint="client.list_profiles() lists the profiles.",
        )
    return source, target


def report(session: Session, plan: TransferPlan, profile: str,
           source_profile: str | None) -> None:
    """Emit what ``plan`` did in ``profile``, copied from ``source_profile`` (``None``: from
    a bundle)."""
    from mlrig.core.transfer_plan import CREATE, RENAME, REUSE, USE_DEFAULT, USE_EXISTING

    for a in plan.actions:
        if a.kind == "flavor" and a.action == CREATE:
            assert a.type is not None
            session.emit(FlavorRegistered(a.type, a.name, a.detail))
        elif a.kind == "component" and a.type is not None:
            if a.action == CREATE:
                session.emit(ComponentRegistered(a.type, a.name))
            elif a.action == RENAME:
                session.emit(ComponentCopyRenamed(a.type, a.source_name, a.name, profile))
            elif a.action == REUSE:
                session.emit(ComponentReused(a.type, a.name, profile, a.detail))
            elif a.action == USE_DEFAULT:
                session.emit(DefaultComponentMapped(a.type, a.name, profile, source_profile))
            elif a.action == USE_EXISTING:
                session.emit(ExistingComponentUsed(a.type, a.name, profile, source_profile,
                                                   a.detail))
        elif a.kind == "stack" and a.action == CREATE:
            session.emit(StackRegistered(a.name))
    for note in plan.notes:
        session.emit(TransferNote(note))
