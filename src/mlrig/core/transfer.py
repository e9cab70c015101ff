"""What stack copy/import and profile copy/import share: reading what is copied
(:func:`snapshot_of`), which profiles a copy goes between, the bundle's components with their
secrets left out, and the events that report a transfer plan."""

from __future__ import annotations

from dataclasses import dataclass
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
from mlrig.exceptions import (
    InputError,
    NotFoundError,
)
from mlrig.models import (
    Component,
    FlavorRecord,
    Stack,
)
from mlrig.stores.base import StoreView

if TYPE_CHECKING:
    from mlrig.core.portability import Bundle, BundleComponent
    from mlrig.core.transfer_plan import SourceComponent, TransferPlan


from mlrig.core.flavors import flavor_class


@dataclass
class Snapshot:
    """Stacks with their components and custom flavors, read from one profile."""

    stacks: list[Stack]
    components: list[SourceComponent]
    flavors: list[FlavorRecord]


def snapshot_of(
    view: StoreView,
    stacks: list[Stack],
    components: list[Component] | None = None,
    all_flavors: bool = False,
) -> Snapshot:
    """The components the stacks use (or ``components``) and the custom flavors they need."""
    from mlrig.core.defaults import is_profile_default
    from mlrig.core.transfer_plan import SourceComponent

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
    records = view.list_flavors()
    if not all_flavors:
        used = {(c.type, c.flavor) for c in components}
        records = [f for f in records if (f.type, f.name) in used]
    return Snapshot(
        stacks,
        [SourceComponent(c, profile_default=is_profile_default(c)) for c in components],
        records,
    )


def sources(bundle: Bundle) -> list[SourceComponent]:
    from mlrig.core.transfer_plan import SourceComponent

    return [
        SourceComponent(b.component, list(b.omitted_secrets), b.is_profile_default)
        for b in bundle.components
    ]


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


def bundle_components(
    view: StoreView, components: list[SourceComponent], include_secrets: bool
) -> list[BundleComponent]:
    from mlrig.core.portability import BundleComponent

    result: list[BundleComponent] = []
    for entry in components:
        comp = entry.component
        if include_secrets:
            result.append(BundleComponent(comp, profile_default=entry.profile_default))
            continue
        try:
            secret = flavor_class(view, comp.type, comp.flavor).secret_fields()
        except (InputError, NotFoundError) as exc:
            raise InputError(
                f"Cannot tell which attributes of the {comp.type.display_name} "
                f"'{comp.name}' are secret: {exc.message}",
                hint="Make its flavor importable, or export with --include-secrets.",
                library_hint="Make its flavor importable, or pass include_secrets=True.",
            ) from None
        kept = {k: v for k, v in comp.config.items() if k not in secret}
        omitted = [k for k, v in comp.config.items() if k in secret and v is not None]
        result.append(
            BundleComponent(
                Component(comp.type, comp.name, comp.flavor, kept, id=comp.id),
                omitted,
                profile_default=entry.profile_default,
            )
        )
    return result
