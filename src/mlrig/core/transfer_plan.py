"""Planning a transfer of stacks, components and custom flavors into a profile's store.

``stack copy``, ``stack import``, ``profile copy`` and ``profile import`` all do the same
thing: bring a set of stacks, the components they use and the custom flavors those use into a
target store. :func:`plan_transfer` decides, against a read of the target, what happens to
each object, without writing anything:

* **create** — the target has nothing by that name;
* **reuse** — the target has an *identical* component — same flavor and same config — or
  the same flavor record. The id alone never makes a component identical: a component
  updated in the target since an earlier copy is a different component now. Secret
  attributes a bundle left out are not compared (the target's own values are kept), but a
  value given with ``--secret`` is: it must equal the target's value for the component to be
  reused. A component whose id the target knows under another name is reused under its name
  there when it is identical (so copies back and forth do not multiply components);
  otherwise it is created under its own name with a new id;
* **use-default** — the component is its profile's ``default`` as mlrig created it, and the
  target has its own ``default`` of the same type and flavor, also as mlrig created it
  (:func:`mlrig.core.defaults.is_profile_default`): the target's is used. Each profile's
  default metadata and artifact stores have paths of their own, so they never compare
  identical, yet they are what a stack using ``default`` means in each profile. No option
  is needed; a ``default`` changed since mlrig created it (on either side) is an ordinary
  component;
* **rename** — the target has a same-named but different component and renaming was asked for:
  it is created as ``name-2`` (``-3``, ...), or an identical ``name-2`` is reused;
* **use-existing** — the target has a same-named but different component and using the
  target's was asked for (``--use-existing``): the target's component is used, unchanged;
* **conflict** — anything else (a different component — same id or not — and neither
  renaming nor using the target's, a stack name that is taken, a flavor name that means
  something else in the target): the transfer is refused.

The custom flavors of the components the target's own ones stand in for (use-default,
use-existing) are not transferred: nothing created needs them.

:meth:`TransferPlan.apply` then performs the creations inside *one* store transaction, so a
transfer happens completely or not at all, and :meth:`TransferPlan.differences` reads the
target back to check that everything created is there and equal (:func:`mlrig.core.transfer.
transfer` runs the three steps). The plan is also what ``--dry-run`` prints.

A whole profile copied into a new store (``profile copy``, ``profile import``, ``profile
migrate``) is planned the same way: the target is empty, so everything is a *create*, ids
kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlrig import flavors as flavor_registry
from mlrig.exceptions import AlreadyExistsError, InputError, MlrigError
from mlrig.models import (
    Component,
    ComponentType,
    ContentComponent,
    Contents,
    FlavorRecord,
    Stack,
    new_id,
)
from mlrig.stores.base import StoreTransaction, StoreView

CREATE, REUSE, RENAME, CONFLICT = "create", "reuse", "rename", "conflict"
USE_DEFAULT, USE_EXISTING = "use-default", "use-existing"
DEFAULT_DETAIL = ("the target profile's own default (each profile's default components keep "
                  "their own paths)")
CONFLICT_HINT = ("Use --rename-conflicts to copy the differing components under new names "
                 "(NAME-2, ...), or --use-existing to use the target profile's components "
                 "of the same names instead.")
CONFLICT_LIBRARY_HINT = ("Pass rename_conflicts=True to copy the differing components under "
                         "new names (NAME-2, ...), or use_existing=True to use the target "
                         "profile's components of the same names instead.")
MAX_RENAME_ATTEMPTS = 1000

SecretValues = Mapping[tuple[ComponentType, str], Mapping[str, str]]


@dataclass(frozen=True)
class Action:
    """What happens to one object; ``name`` is its name in the target."""

    action: str
    kind: str  # flavor | component | stack
    type: ComponentType | None
    name: str
    source_name: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "type": self.type.value if self.type is not None else None,
            "name": self.name,
            "source_name": self.source_name,
            "detail": self.detail,
        }


@dataclass
class TransferPlan:
    """What a copy or an import does (or, planned, would do) to each object.

    ``actions`` has one entry per flavor, component and stack: its ``action`` (``create``,
    ``reuse``, ``rename`` or ``conflict``), ``kind``, ``type``, ``name`` in the target,
    ``source_name`` and a ``detail``. ``ok`` is false when there are conflicts or
    ``problems`` (invalid configs, missing secrets); ``notes`` are warnings. ``to_dict()`` is
    the plan that ``--dry-run -o json`` prints.
    """

    actions: list[Action] = field(default_factory=list)
    new_flavors: list[FlavorRecord] = field(default_factory=list)
    new_components: list[Component] = field(default_factory=list)
    new_stacks: list[Stack] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[tuple[ComponentType, str], str] = field(default_factory=dict)
    sources: dict[tuple[ComponentType, str], str] = field(default_factory=dict)

    @property
    def conflicts(self) -> list[Action]:
        return [a for a in self.actions if a.action == CONFLICT]

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "actions": [a.to_dict() for a in self.actions],
            "problems": list(self.problems),
            "notes": list(self.notes),
        }

    def raise_if_refused(self, rename_hint: bool = True) -> None:
        """Raise one error describing every conflict and problem."""
        if self.ok:
            return
        parts = [f"{_label(a)}: {a.detail}" for a in self.conflicts] + self.problems
        component_conflict = any(a.kind == "component" for a in self.conflicts)
        offer = component_conflict and rename_hint
        error_cls: type[MlrigError] = AlreadyExistsError if self.conflicts else InputError
        raise error_cls("Nothing was changed: " + "; ".join(parts) + ".",
                        hint=CONFLICT_HINT if offer else None,
                        library_hint=CONFLICT_LIBRARY_HINT if offer else None)

    @property
    def written(self) -> Contents:
        """What :meth:`apply` writes: the flavors, components and stacks created."""
        return Contents.of(self.new_stacks, self.new_components, self.new_flavors)

    def apply(self, txn: StoreTransaction) -> None:
        """Create everything the plan creates, inside the caller's transaction."""
        for flavor in self.new_flavors:
            txn.create_flavor(flavor)
        for component in self.new_components:
            txn.create_component(component)
        for stack in self.new_stacks:
            txn.create_stack(stack)

    def differences(self, view: StoreView, *, whole: bool = False) -> list[str]:
        """What of the plan's creations ``view`` does not show as written (missing, or
        different); none when the target reads back right. With ``whole`` the target must
        hold nothing else either (a copy into an empty store)."""
        found: list[str] = []
        flavors = {(f.type, f.name): f for f in view.list_flavors()}
        for record in self.new_flavors:
            _compare(found, f"flavor '{record.name}' ({record.type.value})", record,
                     flavors.pop((record.type, record.name), None))
        # a whole store is read in one listing; a few objects in a large store one by one
        components = ({(c.type, c.name): c for c in view.list_components()} if whole
                      else None)
        for comp in self.new_components:
            key = (comp.type, comp.name)
            read = (components.pop(key, None) if components is not None
                    else view.get_component(*key))
            _compare(found, f"{comp.type.display_name} '{comp.name}'", comp, read)
        stacks = {s.name: s for s in view.list_stacks()} if whole else None
        for stack in self.new_stacks:
            read_stack = (stacks.pop(stack.name, None) if stacks is not None
                          else view.get_stack(stack.name))
            _compare(found, f"stack '{stack.name}'", stack, read_stack)
        if components is not None and stacks is not None:
            found += [f"the store also holds the {c.type.display_name} '{c.name}'"
                      for c in components.values()]
            found += [f"the store also holds the stack '{name}'" for name in stacks]
            found += [f"the store also holds the flavor '{f.name}' ({f.type.value})"
                      for f in flavors.values()]
        return found


def _compare(found: list[str], label: str, written: object, read: object) -> None:
    if read is None:
        found.append(f"the {label} is missing")
    elif read != written:
        found.append(f"the {label} reads back differently")


def _label(action: Action) -> str:
    if action.kind == "stack":
        return f"stack '{action.source_name}'"
    if action.kind == "flavor":
        assert action.type is not None
        return f"flavor '{action.source_name}' ({action.type.value})"
    assert action.type is not None
    return f"{action.type.display_name} '{action.source_name}'"


def same_config(existing: Mapping[str, Any], incoming: Mapping[str, Any],
                ignore: Iterable[str] = ()) -> bool:
    skip = set(ignore)
    left = {k: v for k, v in existing.items() if k not in skip}
    right = {k: v for k, v in incoming.items() if k not in skip}
    return left == right


def plan_transfer(
    target: StoreView,
    contents: Contents,
    *,
    rename_conflicts: bool = False,
    use_existing: bool = False,
    validate: bool = False,
    secrets: SecretValues | None = None,
) -> TransferPlan:
    """Decide what a transfer of ``contents`` into ``target`` does (see the module
    docstring).

    Its ``flavors`` are the source's *custom* flavor records the components need. A same-named,
    differently configured component is renamed with ``rename_conflicts``, replaced by the
    target's with ``use_existing`` (not both), a conflict otherwise. With ``validate`` every
    created component's config is checked against its flavor's schema in the target (for
    imports: a bundle is untrusted), ``secrets`` filling in secret attributes the bundle
    left out.
    """
    if rename_conflicts and use_existing:
        raise InputError("Renaming conflicting components and using the target's instead "
                         "exclude each other: choose --rename-conflicts or --use-existing.")
    plan = TransferPlan()
    components, flavors = list(contents.components), list(contents.flavors)
    source_custom = {(f.type, f.name): f for f in flavors}
    target_records = list(target.list_flavors())
    existing_components = target.list_components()
    substituted = _plan_components(plan, target, components, existing_components,
                                   rename_conflicts=rename_conflicts,
                                   use_existing=use_existing, secrets=secrets or {})
    component_actions, plan.actions = plan.actions, []
    # the flavors only the target's stand-ins would have used are not needed
    needed = {(e.component.type, e.component.flavor) for e in components
              if (e.component.type, e.component.name) not in substituted}
    replaced = {(e.component.type, e.component.flavor) for e in components
                if (e.component.type, e.component.name) in substituted}
    flavors = [f for f in flavors if (f.type, f.name) in needed or (f.type, f.name)
               not in replaced]
    _plan_flavors(plan, flavors, target_records, existing_components, check=validate)
    plan.actions.extend(component_actions)
    records_after = target_records + plan.new_flavors

    # -- flavors of the created components must mean the same thing in the target
    target_flavors = {(f.type, f.name): f for f in target_records}
    for comp in plan.new_components:
        if (comp.type, comp.flavor) in source_custom:
            continue
        own = target_flavors.get((comp.type, comp.flavor))
        if own is not None:
            plan.actions.append(Action(
                CONFLICT, "flavor", comp.type, comp.flavor, comp.flavor,
                f"the target profile has its own flavor '{comp.flavor}' ({own.source}), "
                f"which the {comp.type.display_name} '{comp.name}' does not use"))

    if validate:
        _validate(plan, components, records_after, secrets or {})

    # -- stacks
    existing_stacks = {s.name for s in target.list_stacks()}
    for stack in contents.stacks:
        parts = {t: plan.names.get((t, n), n) for t, n in stack.components.items()}
        if stack.name in existing_stacks:
            plan.actions.append(Action(CONFLICT, "stack", None, stack.name, stack.name,
                                       "a stack with that name already exists"))
            continue
        renamed = [f"{t.display_name} '{n}' as '{parts[t]}'" for t, n in
                   stack.components.items() if parts[t] != n]
        plan.new_stacks.append(Stack(stack.name, parts))
        plan.actions.append(Action(CREATE, "stack", None, stack.name, stack.name,
                                   ("uses " + ", ".join(renamed)) if renamed else ""))
    return plan


def _plan_flavors(plan: TransferPlan, flavors: list[FlavorRecord],
                  target_records: list[FlavorRecord],
                  existing_components: list[Component], *, check: bool = False) -> None:
    """``check`` (imports: a bundle is untrusted): a flavor to create must pass what
    ``flavor register`` checks — its class imports, is a flavor of its type and is named as
    the record says."""
    target_flavors = {(f.type, f.name): f for f in target_records}
    for record in flavors:
        current = target_flavors.get((record.type, record.name))
        if current is not None:
            if current.source == record.source:
                plan.actions.append(Action(REUSE, "flavor", record.type, record.name,
                                           record.name, "same source"))
            else:
                plan.actions.append(Action(
                    CONFLICT, "flavor", record.type, record.name, record.name,
                    f"the target has a flavor of that name with the source "
                    f"'{current.source}', not '{record.source}'"))
            continue
        users = [c.name for c in existing_components
                 if c.type is record.type and c.flavor == record.name]
        if users:
            plan.actions.append(Action(
                CONFLICT, "flavor", record.type, record.name, record.name,
                "registering it would change the flavor of the existing "
                f"{record.type.display_name}(s) {', '.join(repr(u) for u in sorted(users))}"))
            continue
        if check:
            problem = _flavor_problem(record)
            if problem is not None:
                plan.problems.append(problem)
                continue
        plan.new_flavors.append(record)
        shadows = " (overrides the flavor of the same name mlrig provides)" if _provided(
            record.type, record.name) else ""
        plan.actions.append(Action(CREATE, "flavor", record.type, record.name, record.name,
                                   record.source + shadows))


def _flavor_problem(record: FlavorRecord) -> str | None:
    label = f"flavor '{record.name}' ({record.type.value})"
    try:
        cls = flavor_registry.load_flavor_class(record.source, expected_type=record.type)
    except MlrigError as exc:
        return f"{label}: {exc.message.rstrip('.')}"
    if record.name != cls.FLAVOR:
        return (f"{label}: its class '{record.source}' is the flavor '{cls.FLAVOR}', not "
                f"'{record.name}'")
    return None


def _plan_components(plan: TransferPlan, target: StoreView, components: list[ContentComponent],
                     existing_components: list[Component], *, rename_conflicts: bool,
                     use_existing: bool, secrets: SecretValues) -> set[tuple[ComponentType, str]]:
    """Plan each component; returns the (type, source name) of those the target's own
    components stand in for (use-default, use-existing)."""
    from mlrig.core.defaults import is_profile_default

    used_ids = {c.id for c in existing_components}
    by_id = {(c.type, c.id): c for c in existing_components}
    incoming_names = {(c.component.type, c.component.name) for c in components}
    taken: set[tuple[ComponentType, str]] = set()
    substituted: set[tuple[ComponentType, str]] = set()
    for entry in components:
        comp = entry.component
        key = (comp.type, comp.name)
        supplied = secrets.get(key, {})
        existing = target.get_component(comp.type, comp.name)
        if existing is None:
            same = by_id.get((comp.type, comp.id))
            if same is not None and _identical(same, entry, supplied):
                # the same component under another name in the target: use it
                plan.names[key] = same.name
                plan.actions.append(Action(REUSE, "component", comp.type, same.name,
                                           comp.name, f"same id and configuration, named "
                                           f"'{same.name}' there"))
                continue
            detail = ""
            if same is not None:  # diverged since: a component of its own (a new id)
                detail = (f"new id: the component with its id ('{same.name}' there) is "
                          "configured differently")
            _create(plan, entry, comp.name, used_ids=used_ids, taken=taken, action=CREATE,
                    detail=detail)
            continue
        if _identical(existing, entry, supplied):
            why = ("same id and configuration" if existing.id == comp.id
                   else "identical configuration")
            plan.names[key] = comp.name
            plan.actions.append(Action(REUSE, "component", comp.type, comp.name, comp.name,
                                       why))
            continue
        if (entry.profile_default and existing.flavor == comp.flavor
                and is_profile_default(existing)):
            _substitute(plan, entry, existing, action=USE_DEFAULT, detail=DEFAULT_DETAIL,
                        supplied=supplied)
            substituted.add(key)
            continue
        if use_existing:
            _substitute(plan, entry, existing, action=USE_EXISTING,
                        detail=_difference(existing, entry, supplied), supplied=supplied)
            substituted.add(key)
            continue
        if not rename_conflicts:
            detail = _difference(existing, entry, supplied)
            if entry.profile_default and not is_profile_default(existing):
                detail += (" (it is not a default as mlrig created it: changed since, or "
                           "registered by hand)")
            plan.names[key] = comp.name
            plan.actions.append(Action(CONFLICT, "component", comp.type, comp.name,
                                       comp.name, detail))
            continue
        for n in range(2, MAX_RENAME_ATTEMPTS):
            candidate = f"{comp.name}-{n}"
            if (comp.type, candidate) in incoming_names or (comp.type, candidate) in taken:
                continue
            other = target.get_component(comp.type, candidate)
            if other is None:
                _create(plan, entry, candidate, used_ids=used_ids, taken=taken, action=RENAME,
                        detail=f"'{comp.name}' is taken by a differently configured component")
                break
            if _identical(other, entry, supplied):
                plan.names[key] = candidate
                plan.actions.append(Action(REUSE, "component", comp.type, candidate,
                                           comp.name, "identical configuration"))
                break
        else:  # pragma: no cover - a thousand differing copies
            plan.problems.append(f"no free name for the {comp.type.display_name} "
                                 f"'{comp.name}'")
    return substituted


def _substitute(plan: TransferPlan, entry: ContentComponent, existing: Component, *,
                action: str, detail: str, supplied: Mapping[str, str]) -> None:
    """The target's ``existing`` component stands in for ``entry``: nothing is created."""
    comp = entry.component
    plan.names[(comp.type, comp.name)] = existing.name
    plan.actions.append(Action(action, "component", comp.type, existing.name, comp.name,
                               detail))
    if supplied:  # a --secret is never dropped silently
        plan.notes.append(
            f"The --secret value(s) of {', '.join(repr(k) for k in sorted(supplied))} given "
            f"for the {comp.type.display_name} '{comp.name}' are not used: the target's own "
            f"{comp.type.display_name} '{existing.name}' is used as it is.")


def _provided(type_: ComponentType, name: str) -> bool:
    if flavor_registry.is_builtin(type_, name):
        return True
    return any(s.type is type_ and s.name == name for s in flavor_registry.plugin_specs_all())


def _incoming(entry: ContentComponent, supplied: Mapping[str, str]) -> tuple[
        dict[str, Any], list[str]]:
    """The config a component arrives with — its values and the ``--secret`` values given
    for it — and the omitted secret attributes nobody gave (not compared)."""
    config = {**entry.component.config, **supplied}
    return config, [f for f in entry.omitted_secrets if f not in supplied]


def _identical(existing: Component, entry: ContentComponent,
               supplied: Mapping[str, str]) -> bool:
    """Whether ``existing`` is the component ``entry`` describes: the same flavor and the
    same config (the id is not enough: either side may have been updated since a copy)."""
    config, ignored = _incoming(entry, supplied)
    return (existing.flavor == entry.component.flavor
            and same_config(existing.config, config, ignored))


def _difference(existing: Component, entry: ContentComponent,
                supplied: Mapping[str, str]) -> str:
    """Why a same-named component of the target is not reused (the conflict's detail)."""
    comp = entry.component
    if existing.flavor != comp.flavor:
        return (f"the target has a component of that name with the flavor "
                f"'{existing.flavor}', not '{comp.flavor}'")
    config, ignored = _incoming(entry, supplied)
    if supplied and same_config(existing.config, config, [*ignored, *supplied]):
        names = ", ".join(f"'{k}'" for k in sorted(supplied))
        return (f"the target has a component of that name whose value of {names} differs "
                "from the one given with --secret")
    return "the target has a component of that name that is configured differently"


def _create(plan: TransferPlan, entry: ContentComponent, name: str, *, used_ids: set[str],
            taken: set[tuple[ComponentType, str]], action: str, detail: str) -> None:
    comp = entry.component
    component_id = comp.id if comp.id not in used_ids else new_id()
    used_ids.add(component_id)
    taken.add((comp.type, name))
    plan.names[(comp.type, comp.name)] = name
    plan.sources[(comp.type, name)] = comp.name
    plan.new_components.append(
        Component(comp.type, name, comp.flavor, dict(comp.config), id=component_id))
    plan.actions.append(Action(action, "component", comp.type, name, comp.name, detail))


def _validate(plan: TransferPlan, components: list[ContentComponent],
              records: list[FlavorRecord], secrets: SecretValues) -> None:
    by_source = {(e.component.type, e.component.name): e for e in components}
    for key in secrets:
        if key not in by_source:
            plan.problems.append(
                f"--secret names the {key[0].display_name} '{key[1]}', which is not in "
                "the bundle")
    for comp in plan.new_components:
        type_ = comp.type
        src_key = (type_, plan.sources[(type_, comp.name)])
        entry = by_source[src_key]
        label = f"{type_.display_name} '{entry.component.name}'"
        try:
            cls = flavor_registry.resolve(type_, comp.flavor, records).load()
        except MlrigError as exc:
            plan.problems.append(f"{label}: {exc.message.rstrip('.')}")
            continue
        values = dict(comp.config)
        supplied = dict(secrets.get(src_key, {}))
        fields = cls.CONFIG.model_fields
        unknown = [f for f in supplied if f not in fields]
        if unknown:
            plan.problems.append(f"{label}: --secret names unknown attribute(s) "
                                 f"{', '.join(repr(u) for u in unknown)}")
            continue
        values.update(supplied)
        missing = [f for f in entry.omitted_secrets
                   if f not in values and f in fields and fields[f].is_required()]
        if missing:
            cli_type = type_.cli_name
            plan.problems.append(
                f"{label} needs the secret attribute(s) "
                f"{', '.join(repr(m) for m in missing)}, which the bundle leaves out "
                f"(give each with --secret {cli_type}/{entry.component.name}/"
                f"{missing[0]}=VALUE, or export with --include-secrets)")
            continue
        try:
            comp.config = flavor_registry.validate_config(cls, values, label)
        except InputError as exc:
            plan.problems.append(exc.message.rstrip("."))
            continue
        left_out = [f for f in entry.omitted_secrets if f not in values]
        if left_out:
            plan.notes.append(f"The {label} is created without its secret attribute(s) "
                              f"{', '.join(repr(f) for f in left_out)} (left out of the "
                              f"bundle); set them with 'mlrig {type_.cli_name} update'.")
