"""Stacks: register, list, get, set, update, rename, copy, export, import and delete the stacks
of the active profile.

The rules they follow:

* every change that touches several objects is **one store transaction** (a component rename
  rewrites the stacks that use it in the same commit; a copy or an import creates its
  flavors, components and stack together or not at all);
* a rename **moves every pointer mlrig owns** (the profile's active stack in config.yaml, the
  current repository's active stack) and warns about the ones it can't (``MLRIG_ACTIVE_STACK``);
  the pointers are moved after the store commit under an intent (:mod:`mlrig.core.intents`), so a
  crash in between is finished by the next command;
* a same-named but different component in a target profile is a conflict, never silently
  replaced (see :mod:`mlrig.core.transfer_plan`) — except a profile's own ``default`` components as
  mlrig created them: a stack copied or imported into another profile uses that profile's
  defaults, and says so (see :mod:`mlrig.core.defaults`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlrig import context as ctx
from mlrig.config.global_config import GlobalConfig
from mlrig.config.repository import Repository
from mlrig.core.session import Session
from mlrig.events import (
    StackDeregistered,
    StackHasNoComponent,
    StackRegistered,
    StackRenamed,
    StackScopeStale,
    StackUpdated,
)
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    NotFoundError,
)
from mlrig.models import (
    MANDATORY_TYPES,
    ComponentType,
    Stack,
    TypeLike,
    component_type,
)
from mlrig.names import validate_name
from mlrig.stores.base import StoreView

if TYPE_CHECKING:
    from mlrig.core.portability import Bundle
    from mlrig.core.transfer_plan import SecretValues, TransferPlan

from mlrig.core.results import RenameResult, SetResult
from mlrig.core.transfer import (
    profiles_for_copy,
    report,
    stack_contents,
    transfer,
    without_secrets,
)


def list_stacks(session: Session) -> list[Stack]:
    with session.store().read() as view:
        return sorted(view.list_stacks(), key=lambda s: s.name)


def get_stack(session: Session, name: str | None = None) -> Stack:
    target = session.active_stack_name if name is None else name
    with session.store().read() as view:
        stack = view.get_stack(target)
        if stack is None:
            raise NotFoundError(f"Stack '{target}' does not exist.")
    return stack


def _components_by_type(
    session: Session, components: Mapping[TypeLike, str | None]
) -> dict[ComponentType, str]:
    result: dict[ComponentType, str] = {}
    for key, value in components.items():
        if value is None:
            continue
        type_ = component_type(key)
        result[type_] = validate_name("component", value)
    return result


def register_stack(
    session: Session, name: str, components: Mapping[TypeLike, str | None], set_active: bool = False
) -> Stack:
    validate_name("stack", name)
    parts = _components_by_type(session, components)
    missing = [t for t in MANDATORY_TYPES if t not in parts]
    if missing:
        names = ", ".join(t.display_name for t in missing)
        raise InputError(
            f"Stack '{name}' needs a component of each mandatory type; missing: {names}."
        )
    stack = Stack(name, parts)
    if set_active:
        _stack_set_scope(session, session.profile_choice(), global_=False)  # fail before writing
    with session.store().write() as txn:
        txn.create_stack(stack)
    session.emit(StackRegistered(name))
    if set_active:
        set_stack(session, name)
    return stack


def check_stack_exists(session: Session, name: str, profile: str | None = None) -> None:
    profile_name = profile or session.active_profile_name
    with session.store(profile_name).read() as view:
        if view.get_stack(name) is None:
            raise NotFoundError(
                f"Stack '{name}' does not exist in profile '{profile_name}'.",
                hint="Run 'mlrig stack list'.",
                library_hint="client.list_stacks() lists the stacks.",
            )


def set_stack(session: Session, name: str, global_: bool = False) -> SetResult:
    profile = session.profile_choice()
    check_stack_exists(session, name, profile.name)
    shadow = next(
        (
            s
            for s in ctx.stack_settings(session.scope_inputs(), profile.name)
            if s.scope in (ctx.FLAG, ctx.ENVIRONMENT)
        ),
        None,
    )
    repo = _stack_set_scope(session, profile, global_)
    if repo is not None:
        unchanged = repo.load().active_stack == name
        repo.update(stack=name, set_stack=True)
        return SetResult(name, ctx.LOCAL, repo.path, unchanged, shadow)

    def change(config: GlobalConfig) -> bool:
        target = config.profiles.get(profile.name)
        if target is None:
            raise NotFoundError(f"Profile '{profile.name}' does not exist.")
        unchanged = target.active_stack == name
        target.active_stack = name
        return unchanged

    unchanged = bool(session.update_config(change))
    return SetResult(name, ctx.GLOBAL, session.global_file.path, unchanged, shadow)


def _stack_set_scope(session: Session, profile: ctx.Choice, global_: bool) -> Repository | None:
    repo = None if global_ else session.repository()
    if repo is not None:
        repo_profile = repo.load().active_profile
        if repo_profile != profile.name:
            raise InputError(
                f"The active profile '{profile.name}' comes from the {profile.scope} scope, "
                f"but this repository uses profile '{repo_profile}'.",
                hint="Use --global to set the stack of the active profile, or change "
                "the repository's profile with 'mlrig profile set'.",
                library_hint="Call client.set_stack(NAME, global_=True) to set the stack "
                "of the active profile, or change the repository's profile with "
                "client.set_profile(NAME).",
            )
    return repo


def check_stack_deletable(session: Session, name: str) -> None:
    profile = session.profile_choice().name
    check_stack_exists(session, name, profile)
    _refuse_if_stack_pointed_at(session, profile, name)


def delete_stack(session: Session, name: str) -> None:
    profile = session.profile_choice().name
    _refuse_if_stack_pointed_at(session, profile, name)
    with session.store(profile).write() as txn:
        txn.delete_stack(name)
    session.emit(StackDeregistered(name))


def _refuse_if_stack_pointed_at(
    session: Session, profile: str, name: str, action: str = "deleted"
) -> None:
    inputs = session.scope_inputs()
    for setting in ctx.stack_settings(inputs, profile):
        if setting.name != name:
            continue
        where = {
            ctx.GLOBAL: f"the active stack of profile '{profile}' in the global "
            f"configuration ({session.global_file.path})",
            ctx.LOCAL: f"the active stack of the repository ({setting.source})",
        }.get(setting.scope, f"active through the {setting.scope} scope ({setting.source})")
        hint = {
            ctx.GLOBAL: "Choose another one first: 'mlrig stack set --global STACK'.",
            ctx.LOCAL: "Choose another one first: 'mlrig stack set STACK'.",
        }.get(setting.scope, ctx.fix_hint("stack", setting.scope))
        library_hint = {
            ctx.GLOBAL: "Choose another one first: client.set_stack(STACK, global_=True).",
            ctx.LOCAL: "Choose another one first: client.set_stack(STACK) from this repository.",
        }.get(setting.scope, ctx.fix_library_hint("stack", setting.scope))
        raise InUseError(
            f"Stack '{name}' cannot be {action} because it is {where}.",
            hint=hint,
            library_hint=library_hint,
        )


def update_stack(
    session: Session, name: str | None, components: Mapping[TypeLike, str | None]
) -> Stack:
    parts = {
        component_type(t): validate_name("component", n)
        for t, n in components.items()
        if n is not None
    }
    if not parts:
        raise InputError(
            "Nothing to update: give at least one component option (for example -a ARTIFACT_STORE)."
        )
    profile = session.profile_choice().name
    target = session.active_stack_name if name is None else name
    with session.store(profile).write() as txn:
        stack = txn.get_stack(target)
        if stack is None:
            raise NotFoundError(f"Stack '{target}' cannot be updated as it does not exist.")
        updated = Stack(target, {**stack.components, **parts})
        txn.update_stack(updated)
    session.emit(StackUpdated(target))
    return updated


def remove_stack_components(
    session: Session, name: str | None, types: Iterable[TypeLike]
) -> tuple[Stack, list[ComponentType]]:
    wanted = [component_type(t) for t in types]
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
    profile = session.profile_choice().name
    target = session.active_stack_name if name is None else name
    with session.store(profile).write() as txn:
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
            session.emit(StackHasNoComponent(target, type_))
    return updated, removed


def rename_stack(session: Session, old: str, new: str) -> RenameResult:
    from mlrig import context as ctx
    from mlrig.core.intents import RENAME_STACK, intent, move_stack_pointers

    validate_name("stack", new)
    profile = session.profile_choice().name
    store = session.store(profile)
    with store.read() as view:
        if view.get_stack(old) is None:
            raise NotFoundError(f"Stack '{old}' cannot be renamed as it does not exist.")
        if old == new:
            return RenameResult(old, new)
        if view.get_stack(new) is not None:
            raise AlreadyExistsError(
                f"Stack '{new}' already exists. Please choose a different name."
            )
    repo = session.repository()
    record = {
        "op": RENAME_STACK,
        "profile": profile,
        "old": old,
        "new": new,
        "repo_root": str(repo.root) if repo is not None else None,
    }
    result = RenameResult(old, new)
    with intent(session.config_dir, record, session.events):
        with store.write() as txn:
            stack = txn.get_stack(old)
            if stack is None:
                raise NotFoundError(f"Stack '{old}' cannot be renamed as it does not exist.")
            txn.update_stack(Stack(new, dict(stack.components)), old_name=old)
        # the commit point: from here on the rename is finished, even after a crash
        result.updated = move_stack_pointers(
            session.config_dir, profile, old, new, record["repo_root"]
        )
    session.forget_config()
    for setting in ctx.stack_settings(session.scope_inputs(), profile):
        if setting.name == old and setting.scope in (ctx.FLAG, ctx.ENVIRONMENT):
            result.not_updated.append(setting.describe())
            session.emit(StackScopeStale(setting.scope, setting.source, old, new))
    session.emit(StackRenamed(old, new))
    return result


def copy_stack(
    session: Session,
    source: str,
    target: str,
    *,
    from_profile: str | None = None,
    to_profile: str | None = None,
    rename_conflicts: bool = False,
    use_existing: bool = False,
    dry_run: bool = False,
) -> TransferPlan:
    from mlrig.core.transfer_plan import plan_transfer

    validate_name("stack", target)
    src_profile, dst_profile = profiles_for_copy(session, from_profile, to_profile)
    with session.store(src_profile).read() as view:
        stack = view.get_stack(source)
        if stack is None:
            raise NotFoundError(f"Stack '{source}' cannot be copied as it does not exist.")
        copied = replace(stack_contents(view, [stack]),
                         stacks=(Stack(target, dict(stack.components)),))

    def target_free(view: StoreView) -> None:
        if view.get_stack(target) is not None:
            raise AlreadyExistsError(
                f"Can't copy stack as a stack with the name '{target}' already exists "
                f"in profile '{dst_profile}'."
            )

    if dry_run:
        with session.store(dst_profile).read() as view:
            target_free(view)
            return plan_transfer(view, copied, rename_conflicts=rename_conflicts,
                                 use_existing=use_existing)
    plan = transfer(session.store(dst_profile), copied, check=target_free,
                    rename_conflicts=rename_conflicts, use_existing=use_existing)
    report(session, plan, dst_profile, src_profile)
    return plan


def stack_bundle(
    session: Session, name: str | None = None, include_secrets: bool = False
) -> Bundle:
    from mlrig.core.portability import STACK_KIND, Bundle

    target = session.active_stack_name if name is None else name
    with session.store().read() as view:
        stack = view.get_stack(target)
        if stack is None:
            raise NotFoundError(f"Stack '{target}' does not exist.")
        contents = stack_contents(view, [stack])
        if not include_secrets:
            contents = without_secrets(view, contents)
    return Bundle(STACK_KIND, contents, secrets_included=include_secrets)


def export_stack(
    session: Session, name: str, path: str | Path | None = None, include_secrets: bool = False
) -> Path:
    from mlrig.core.portability import write_bundle

    bundle = stack_bundle(session, name, include_secrets)
    target = session.cwd / (Path(path).expanduser() if path else Path(f"{name}.yaml"))
    write_bundle(bundle, target)
    return target


def plan_stack_import(
    session: Session,
    source: str | Path | Bundle,
    name: str | None = None,
    *,
    rename_conflicts: bool = False,
    use_existing: bool = False,
    secrets: SecretValues | None = None,
) -> tuple[Bundle, TransferPlan]:
    bundle, stack = _stack_from(session, source, name)
    from mlrig.core.transfer_plan import plan_transfer

    with session.store().read() as view:
        plan = plan_transfer(view, replace(bundle.contents, stacks=(stack,)),
                             rename_conflicts=rename_conflicts, use_existing=use_existing,
                             validate=True, secrets=secrets)
    return bundle, plan


def import_stack(
    session: Session,
    source: str | Path | Bundle,
    name: str | None = None,
    *,
    rename_conflicts: bool = False,
    use_existing: bool = False,
    secrets: SecretValues | None = None,
) -> TransferPlan:
    bundle, stack = _stack_from(session, source, name)
    profile = session.profile_choice().name
    plan = transfer(session.store(profile), replace(bundle.contents, stacks=(stack,)),
                    rename_conflicts=rename_conflicts, use_existing=use_existing,
                    validate=True, secrets=secrets)
    report(session, plan, profile, None)
    return plan


def _stack_from(
    session: Session, source: str | Path | Bundle, name: str | None
) -> tuple[Bundle, Stack]:
    from mlrig.core.portability import STACK_KIND, Bundle, read_bundle

    if isinstance(source, Bundle):
        bundle = source
    else:
        bundle = read_bundle(session.cwd / Path(source).expanduser())
    if bundle.kind != STACK_KIND:
        raise InputError(
            f"'{source}' holds a whole profile ({bundle.kind}), not a stack.",
            hint="Import it with 'mlrig profile import'.",
            library_hint="Import it with client.import_profile(PATH).",
        )
    stack_name = validate_name("stack", name) if name else bundle.stack.name
    return bundle, Stack(stack_name, dict(bundle.stack.components))
