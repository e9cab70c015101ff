"""Profiles: create (or attach), list, get, set, delete, rename, copy, export, import and
migrate profiles, and the first-run creation of the ``default`` profile.

**Rename.** A profile's name is a key of config.yaml, the globally active profile, the active
profile of a repository, and — for a store mlrig made at its default location — the name of
the store's directory (``<config>/profiles/<name>``). A rename moves all of these:

1. an intent is written (:mod:`mlrig.core.intents`);
2. the store directory is renamed (one ``rename(2)``, under the store's write lock so no
   writer of the local store is in the middle of a commit) — unless another profile is
   attached to the same store (``profile create --url``): then the directory stays where
   it is and the renamed profile keeps its URL, so that neither profile breaks;
3. config.yaml is rewritten in one atomic replace: new key, new URL, active profile
   — **the commit point**;
4. the current repository's pointer is moved if it still names the old profile (a
   compare-and-set under the repository's lock).

Steps 1 to 3 run with config.yaml's lock held, so no profile can attach to the directory
between the check and the move. (Deleting a profile keeps a shared store for the same
reason: see :func:`delete_profile`.)

A crash before 3 is rolled back (the directory is renamed back), a crash after 3 is rolled
forward (the repository pointer is moved) by the next command; ``MLRIG_ACTIVE_PROFILE``
naming the old name is reported, not changed. Other repositories that pin the old name are
unknown to mlrig: they report the missing profile with the file that names it.

**Copy and import** build the new store completely first — in a staging directory next to its
final place when mlrig owns the files (a local store, or SQLite at the default location), in
place otherwise — with all stacks, components and custom flavors in *one* transaction; then
rename the staging directory into place and add the profile to config.yaml (the commit point).
Any failure before that removes the new store; the source and config.yaml are untouched.

**Migrate** (``profile migrate``) moves a whole profile to another store (local <-> sql, or
another URL):

1. The new store is created (or, if one exists at the URL, it must be empty).
2. Under the lock of config.yaml and then the old store's write lock — no other command can
   change the profile meanwhile — everything is copied in one transaction of the new store
   (components with their ids, stacks, custom flavors; the one engine of
   :mod:`mlrig.core.transfer`), read back and compared, and the profile is repointed in
   config.yaml (**the commit point**). Its active stack, the repositories and shells that
   use it by name are unaffected. (A command that read config.yaml before the migration
   and was waiting for the old store's lock writes into the old store: migrate a profile
   while nobody uses it.)
3. The old store is removed if mlrig made it at its default place in the config directory
   (the data now lives in the new store, and a stale copy there would be mistaken for the
   profile later); a store elsewhere (a path or database you gave) is kept and reported,
   since others may use it.

Any failure before the commit point removes what was created and leaves the profile on its
old store, untouched.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig import context as ctx
from mlrig.config.global_config import GlobalConfig
from mlrig.core.session import Session
from mlrig.events import (
    ComponentRegistered,
    DefaultComponentDataKept,
    DefaultProfileCreated,
    DefaultProfileCreating,
    OldStoreKept,
    OldStoreNotOwned,
    OldStoreRemoved,
    ProfileCopied,
    ProfileDirectoryKept,
    ProfileImported,
    ProfileInitializing,
    ProfileMigrating,
    ProfileRunDataKept,
    ProfileStoreMoved,
    ProfileVariableStale,
    StackRegistered,
    StoreAttached,
    StoreContentsCopied,
    StoreInitializing,
    StoreKept,
    StoreLeft,
    TransferNote,
)
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    MlrigError,
    NotFoundError,
    StoreError,
)
from mlrig.fsutil import ensure_dir
from mlrig.models import (
    Component,
    ComponentType,
    Contents,
    FlavorRecord,
    ProfileConfig,
    Stack,
)
from mlrig.names import validate_name
from mlrig.stores import (
    Ownership,
    backend,
    canonical_url,
    default_store_type,
    default_url,
    mask_url,
    normalize_store_type,
    open_store,
    ownership,
    profile_dir,
    relocated_url,
    store_location,
    store_options,
)
from mlrig.stores.base import Store

if TYPE_CHECKING:
    from mlrig.core.portability import Bundle
    from mlrig.core.transfer_plan import SecretValues

from mlrig.core.results import (
    MigrationResult,
    ProfileImportPlan,
    ProfileInfo,
    RenameResult,
    SetResult,
)
from mlrig.core.run_data import remove_run_data, run_data_dir
from mlrig.core.transfer import exported, store_contents, transfer

DEFAULT = "default"


@dataclass
class _Placement:
    """Where a new store is built and where it ends up."""

    profile: ProfileConfig  # the final configuration
    build: ProfileConfig  # where the store is built (a staging copy, or the final place)
    staging: Path | None
    final_path: Path | None
    in_place: bool


class _EmptyView:
    """A store with nothing in it (planning an import into a profile that does not exist)."""

    def get_component(self, type_: ComponentType, name: str) -> Component | None:
        return None

    def list_components(self, type_: ComponentType | None = None) -> list[Component]:
        return []

    def get_stack(self, name: str) -> Stack | None:
        return None

    def list_stacks(self) -> list[Stack]:
        return []

    def page_components(self, type_: ComponentType | None = None, *,
                        after: tuple[ComponentType, str] | None = None, limit: int,
                        name_contains: str | None = None, flavor: str | None = None
                        ) -> list[Component]:
        return []

    def page_stacks(self, *, after: str | None = None, limit: int,
                    name_contains: str | None = None) -> list[Stack]:
        return []

    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]:
        return []

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]:
        return []


def _require_free(path: Path) -> None:
    if path.is_symlink() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
        raise AlreadyExistsError(
            f"'{path}' already exists and is not empty; a copy or an import needs a new store.",
            hint="Move it away, or choose another name or --url.",
            library_hint="Move it away, or choose another name or url.",
        )


def create_initial_config(session: Session) -> GlobalConfig:
    # MLRIG_DEFAULT_STORE_TYPE applies to the default profile too (as in ZenML)
    store_type = default_store_type(session.env)
    profile = new_profile_config(session, DEFAULT, store_type, None)
    had_dir = profile_dir(session.config_dir, DEFAULT).exists()

    def change(current: GlobalConfig | None) -> tuple[GlobalConfig, GlobalConfig]:
        if current is not None and current.profiles:
            return current, current  # another process was faster
        config = current or GlobalConfig()
        session.emit(DefaultProfileCreating())
        initialize_profile_store(session, profile)
        config.profiles[DEFAULT] = profile
        config.active_profile = DEFAULT
        session.emit(DefaultProfileCreated())
        return config, config

    ensure_dir(session.config_dir)
    with new_store_intent(session, profile, had_dir):
        return session.global_file.update(change)


def new_store_intent(session: Session, profile: ProfileConfig, had_dir: bool) -> Any:
    from mlrig.core.intents import CREATE_PROFILE, intent

    own_dir = profile_dir(session.config_dir, profile.name)
    owned = not had_dir and backend(profile.store_type).lives_in(profile.store_url, own_dir)
    record = {
        "op": CREATE_PROFILE,
        "name": profile.name,
        "url": profile.store_url,
        "store_type": profile.store_type,
        "staging": None,
        "final_path": str(own_dir) if owned else None,
        "in_place": False,
    }
    return intent(session.config_dir, record, session.events)


def new_profile_config(
    session: Session, name: str, store_type: str, url: str | None
) -> ProfileConfig:
    validate_name("profile", name)
    store_type = normalize_store_type(store_type)
    if url:
        url = canonical_url(store_type, url)
    else:
        url = default_url(store_type, session.config_dir, name)
    return ProfileConfig(name=name, store_type=store_type, store_url=url)


def initialize_profile_store(session: Session, profile: ProfileConfig) -> list[Path]:
    """Attach to the store at the profile's URL, or make it with the default stack; returns
    the data directories made for the new default components (none when attaching)."""
    session.emit(ProfileInitializing(profile.name))
    store = open_store(profile, env=session.env, events=session.events)
    try:
        if store.is_initialized():
            with store.read() as view:
                stacks = sorted(s.name for s in view.list_stacks())
            profile.active_stack = DEFAULT if DEFAULT in stacks else (stacks[0] if stacks else None)
            session.emit(StoreAttached(mask_url(profile.store_url), len(stacks)))
            return []
        session.emit(StoreInitializing())
        store.initialize()
        made = register_default_stack(session, store)
        profile.active_stack = DEFAULT
        return made
    finally:
        store.close()


def register_default_stack(session: Session, store: Store) -> list[Path]:
    from mlrig.core.defaults import local_paths, new_default_components

    components = new_default_components(session.config_dir)
    with store.write() as txn:
        if txn.list_stacks() or txn.list_components():
            return []
        for component in components:
            txn.create_component(component)
        txn.create_stack(Stack(DEFAULT, {c.type: c.name for c in components}))
    made = [d for c in components for d in local_paths(c)]
    for directory in made:
        ensure_dir(directory)
    for component in components:
        session.emit(ComponentRegistered(component.type, component.name))
    session.emit(StackRegistered(DEFAULT))
    return made


def list_profiles(session: Session) -> list[ProfileInfo]:
    config = session.config()
    choice = session.profile_choice(strict=False)
    active_stack: str | None = None
    if choice.name in config.profiles:
        stack = session.stack_choice(strict=False, profile=choice.name)
        active_stack = stack.name if stack else None
    return [
        ProfileInfo(
            name=p.name,
            store_type=p.store_type,
            store_url=mask_url(p.store_url),
            active_stack=active_stack if p.name == choice.name else p.active_stack,
            active=p.name == choice.name,
        )
        for p in sorted(config.profiles.values(), key=lambda p: p.name)
    ]


def get_profile(session: Session, name: str | None = None) -> ProfileConfig:
    return session.profile(session.active_profile_name if name is None else name)


def describe_profile(session: Session, name: str | None = None) -> dict[str, Any]:
    target = session.active_profile_name if name is None else name
    info = next((p for p in list_profiles(session) if p.name == target), None)
    if info is None:
        raise NotFoundError(f"Profile '{target}' does not exist.")
    return info.to_dict()


def require_own_place(own_dir: Path, name: str) -> None:
    """A new profile's store goes into a directory mlrig makes: refuse a link there (its
    target is not mlrig's) or a directory that already holds something (a later delete
    would remove it)."""
    if own_dir.is_symlink():
        raise InputError(
            f"Cannot create profile '{name}': its directory '{own_dir}' is a symbolic link; "
            "mlrig keeps a profile's store only in a directory it makes.",
            hint="Remove the link, or give the store's place with --url.",
            library_hint="Remove the link, or give the store's place with url=.")
    if own_dir.exists() and (not own_dir.is_dir() or any(own_dir.iterdir())):
        raise AlreadyExistsError(
            f"Cannot create profile '{name}': '{own_dir}' already exists and is not empty.",
            hint="Move it away, or attach to a store in it with --url.",
            library_hint="Move it away, or attach to a store in it with url=.")


def create_profile(
    session: Session,
    name: str,
    store_type: str | None = None,
    url: str | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    user: str | None = None,
    password: str | None = None,
) -> ProfileConfig:
    session.config()  # make sure the default profile exists first
    validate_name("profile", name)
    chosen_type = (
        normalize_store_type(store_type) if store_type else default_store_type(session.env)
    )
    if name in session.config().profiles:
        raise AlreadyExistsError(f"Profile '{name}' already exists.")
    profile = new_profile_config(session, name, chosen_type, url)
    profile.options = store_options(profile.store_type, profile.store_url, options)
    credential = None
    if user is not None:
        credential = _log_in_new_profile(session, profile, user, password)
    try:
        return _create_profile(session, name, profile, url)
    except BaseException:
        if credential is not None:  # the token file this call wrote a moment ago
            from mlrig.fsutil import remove_file

            with contextlib.suppress(OSError):
                remove_file(credential, root=session.config_dir)
        raise


def _log_in_new_profile(session: Session, profile: ProfileConfig, user: str,
                        password: str | None) -> Path:
    """A new ``rest`` profile that logs in with a user's password: the token the server
    gives for it, kept as the profile's credential (as ``mlrig login --user`` does)."""
    from mlrig.core import credentials

    if profile.store_type != "rest":
        raise InputError(f"A user logs in to a rest store only; this profile's store type is "
                         f"'{profile.store_type}'.")
    if profile.options.get("token_env") or profile.options.get("token_file"):
        raise InputError("Give a token (--token-env / --token-file) or a user (--user), "
                         "not both.")
    token = credentials.password_token(session, profile.store_url, profile.options, user,
                                       password)
    path = credentials.keep_token(session, profile.name, token)
    profile.options["token_file"] = str(path)
    return path


def _create_profile(session: Session, name: str, profile: ProfileConfig,
                    url: str | None) -> ProfileConfig:
    own_dir = profile_dir(session.config_dir, name)
    if url is None:
        require_own_place(own_dir, name)
    had_dir = own_dir.exists()

    made: list[Path] = []

    def change(config: GlobalConfig) -> ProfileConfig:
        if name in config.profiles:
            raise AlreadyExistsError(f"Profile '{name}' already exists.")
        try:
            made.extend(initialize_profile_store(session, profile))
        except BaseException:
            if not had_dir:  # leave nothing behind (the store removed its own files)
                with contextlib.suppress(OSError):
                    own_dir.rmdir()
            raise
        config.profiles[name] = profile
        return profile

    try:
        with new_store_intent(session, profile, had_dir):
            return session.update_config(change)
    except BaseException:
        # rolled back: the new default components' data directories go too (mlrig made
        # them a moment ago, empty, for components that no longer exist)
        for directory in made:
            _remove_if_empty(directory)
        raise


def set_profile(session: Session, name: str, global_: bool = False) -> SetResult:
    profile = session.profile(name)
    repo = None if global_ else session.repository()
    shadow = _shadowing_profile_setting(session)
    if repo is not None:
        # the repository pins a pair: switching to another profile pins that profile's
        # own active stack with it; setting the pinned profile again changes nothing
        # (in particular, it keeps the stack the repository pins)
        changed = repo.update_if(
            lambda current: current.active_profile != name,
            profile=name,
            stack=profile.active_stack,
            set_profile=True,
            set_stack=True,
        )
        return SetResult(
            name, ctx.LOCAL, repo.path, not changed, shadow, stack=profile.active_stack
        )

    def change(config: GlobalConfig) -> bool:
        if name not in config.profiles:
            raise NotFoundError(f"Profile '{name}' does not exist.")
        unchanged = config.active_profile == name
        config.active_profile = name
        return unchanged

    unchanged = bool(session.update_config(change))
    return SetResult(name, ctx.GLOBAL, session.global_file.path, unchanged, shadow)


def _shadowing_profile_setting(session: Session) -> ctx.Setting | None:
    for setting in ctx.profile_settings(session.scope_inputs()):
        if setting.scope in (ctx.FLAG, ctx.ENVIRONMENT):
            return setting
    return None


def check_profile_deletable(session: Session, name: str) -> bool:
    profile = session.profile(name)
    _refuse_if_profile_pointed_at(session, name)
    return ownership(session.config_dir, session.config().profiles, name, profile).owned


def delete_profile(session: Session, name: str) -> None:
    profile = session.profile(name)
    _refuse_if_profile_pointed_at(session, name)

    def change(config: GlobalConfig) -> None:
        if name not in config.profiles:
            raise NotFoundError(f"Profile '{name}' does not exist.")
        if config.active_profile == name:
            raise InUseError(f"Profile '{name}' is the globally active profile.")
        del config.profiles[name]

    from mlrig.core.intents import DELETE_PROFILE, intent
    from mlrig.stores import remove_own_store

    # decided and done under config.yaml's lock, so that no profile can attach to the
    # store (profile create --url) between the check and the removal
    with session.global_file.lock.exclusive():
        current = session.global_file.load()
        profiles = current.profiles if current is not None else {}
        decision = ownership(session.config_dir, profiles, name, profiles.get(name, profile))
        profile = profiles.get(name, profile)
        # another profile attached to the same store keeps it (and its data)
        own_dir, sharing, owned = decision.directory, decision.sharing, decision.owned
        # a crash after the commit (config.yaml) must not leave the store behind: a
        # later create of the same name would attach to it and bring the deleted data back
        record = {
            "op": DELETE_PROFILE,
            "name": name,
            "store_type": profile.store_type,
            "url": profile.store_url,
            "dir": str(own_dir) if owned else None,
        }
        # the data directories of the profile's own default components (local_stores/<id>),
        # unless another profile uses them too (a profile copy keeps the same components)
        leftovers = _own_local_dirs(session, name, profiles) if owned else []
        # its run-time data (logs, the default secrets file), unless a component of another
        # profile points into it; a later profile of the same name starts without it
        data = _own_run_data(session, name, profiles)
        record["data"] = str(data) if data is not None else None
        with intent(session.config_dir, record, session.events):
            session.update_config(change)  # the commit point
            session.drop_store(name)
            kept = [] if not owned or remove_own_store(profile, own_dir) else [own_dir]
            kept += [d for d in leftovers if not _remove_if_empty(d)]
            data_kept = data is not None and not remove_run_data(data)
    from mlrig.core.credentials import forget_credential

    forget_credential(session, profile)  # the token 'mlrig login' kept for it
    for directory in kept:
        if directory == own_dir:
            session.emit(ProfileDirectoryKept(str(directory)))
        else:
            session.emit(DefaultComponentDataKept(str(directory)))
    if data_kept:
        session.emit(ProfileRunDataKept(str(data)))
    if sharing:
        session.emit(StoreKept(str(own_dir), tuple(sharing)))


def _remove_if_empty(directory: Path) -> bool:
    """Remove a directory mlrig made, empty, for a default component — only while it is
    still empty (what is in it now, mlrig did not put there). Returns whether it is gone."""
    try:
        if not directory.is_symlink():
            directory.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return not directory.exists() and not directory.is_symlink()


def _mentioned(component: Component, directories: set[Path]) -> set[Path]:
    """The ``directories`` a component's config points into."""
    found: set[Path] = set()
    for value in component.config.values():
        if isinstance(value, str):
            found |= {d for d in directories
                      if value == str(d) or value.startswith(str(d) + os.sep)}
    return found


def _own_local_dirs(session: Session, name: str,
                    profiles: Mapping[str, ProfileConfig]) -> list[Path]:
    """The directories under ``<config>/local_stores`` that only profile ``name``'s default
    components use: mlrig made them for those components, and nothing else needs them.
    When another profile's store cannot be read, nothing is claimed (kept is safe)."""
    from mlrig.core.defaults import LOCAL_STORES, is_profile_default, local_paths

    root = (session.config_dir / LOCAL_STORES).absolute()
    try:
        with session.store(name).read() as view:
            mine = [c for c in view.list_components() if is_profile_default(c)]
        candidates = {d.absolute() for c in mine for d in local_paths(c)
                      if d.absolute().parent == root and not d.is_symlink()}
        for other_name, other in profiles.items():
            if other_name == name or not candidates:
                continue
            store = open_store(other, env=session.env)
            try:
                with store.read() as view:
                    for component in view.list_components():
                        candidates -= _mentioned(component, candidates)
            finally:
                store.close()
    except MlrigError:
        return []
    return sorted(candidates)


def _own_run_data(session: Session, name: str,
                  profiles: Mapping[str, ProfileConfig]) -> Path | None:
    """Profile ``name``'s run data directory, when it exists, is a directory (not a link)
    and no component of another profile points into it (one of their stores cannot be read:
    ``None``, kept is safe)."""
    directory = run_data_dir(session.config_dir, name).absolute()
    if not directory.is_dir() or directory.is_symlink():
        return None
    try:
        for other_name, other in profiles.items():
            if other_name == name:
                continue
            store = open_store(other, env=session.env)
            try:
                with store.read() as view:
                    if any(_mentioned(c, {directory}) for c in view.list_components()):
                        return None
            finally:
                store.close()
    except MlrigError:
        return None
    return directory


def _refuse_if_profile_pointed_at(session: Session, name: str, action: str = "deleted") -> None:
    for setting in ctx.profile_settings(session.scope_inputs()):
        if setting.name != name:
            continue
        if setting.scope == ctx.GLOBAL:
            raise InUseError(
                f"Profile '{name}' cannot be {action} because it is the globally active "
                f"profile ({setting.source}).",
                hint="Choose another one first: 'mlrig profile set --global PROFILE'.",
                library_hint="Choose another one first: client.set_profile(PROFILE, global_=True).",
            )
        if setting.scope == ctx.LOCAL:
            raise InUseError(
                f"Profile '{name}' cannot be {action} because it is the active profile of "
                f"the repository ({setting.source}).",
                hint="Choose another one first: 'mlrig profile set PROFILE'.",
                library_hint="Choose another one first: client.set_profile(PROFILE) "
                "from this repository.",
            )
        raise InUseError(
            f"Profile '{name}' cannot be {action} because it is active through the "
            f"{setting.scope} scope ({setting.source}).",
            hint=ctx.fix_hint("profile", setting.scope),
            library_hint=ctx.fix_library_hint("profile", setting.scope),
        )


def rename_profile(session: Session, old: str, new: str) -> RenameResult:
    from mlrig import context as ctx

    session.config()  # finishes interrupted operations before anything is locked
    validate_name("profile", new)
    session.profile(old)
    if old == new:
        return RenameResult(old, new)
    if new in session.config().profiles:
        raise AlreadyExistsError(
            f"Profile '{new}' already exists.", hint="Choose a different name."
        )
    # decided and done under config.yaml's lock: no profile can attach to the store
    # directory (profile create --url) between the check and the move
    with session.global_file.lock.exclusive():
        result, moved, kept = _rename_profile_locked(session, old, new)
    session.forget_repository()
    if session.flag_profile == old:
        session.flag_profile = new
    env_value = session.env.get(ctx.ENV_ACTIVE_PROFILE)
    if env_value == old:
        result.not_updated.append(ctx.ENV_ACTIVE_PROFILE)
        session.emit(ProfileVariableStale(ctx.ENV_ACTIVE_PROFILE, old, new))
    if moved is not None:
        session.emit(ProfileStoreMoved(str(moved)))
    if kept is not None:
        directory, users = kept
        session.emit(StoreLeft(str(directory), tuple(users)))
    return result


def _rename_profile_locked(
    session: Session,
    old: str,
    new: str,
) -> tuple[RenameResult, Path | None, tuple[Path, list[str]] | None]:
    from mlrig.core.intents import RENAME_PROFILE, intent, move_profile_pointer
    from mlrig.fsutil import fsync_dir
    from mlrig.stores import open_store, profile_dir

    current = session.global_file.load()
    profiles = current.profiles if current is not None else {}
    profile = profiles.get(old)
    if profile is None:
        raise NotFoundError(f"Profile '{old}' does not exist.")
    if new in profiles:
        raise AlreadyExistsError(
            f"Profile '{new}' already exists.", hint="Choose a different name."
        )
    decision = ownership(session.config_dir, profiles, old, profile)
    old_dir = decision.directory
    new_dir = profile_dir(session.config_dir, new).resolve()
    # another profile attached to the same store: moving the directory would break it
    sharing, moving = list(decision.sharing), decision.owned
    if moving and (new_dir.exists() or new_dir.is_symlink()):
        raise AlreadyExistsError(
            f"Cannot rename profile '{old}' to '{new}': the directory '{new_dir}' already exists.",
            hint="Move it away or choose another name.",
        )
    # the run-time data (logs, the default secrets file) follows the profile
    old_data = run_data_dir(session.config_dir, old).absolute()
    new_data = run_data_dir(session.config_dir, new).absolute()
    moving_data = os.path.lexists(old_data)
    if moving_data and os.path.lexists(new_data):
        raise AlreadyExistsError(
            f"Cannot rename profile '{old}' to '{new}': the directory '{new_data}' already "
            "exists.",
            hint="Move it away or choose another name.",
        )
    new_url = relocated_url(profile, old_dir, new_dir) if moving else profile.store_url
    repo = session.repository()
    # the repository pointer is moved by compare-and-set after the commit, so it is
    # recorded whatever the repository names now
    repo_root = str(repo.root) if repo is not None else None
    record = {
        "op": RENAME_PROFILE,
        "old": old,
        "new": new,
        "old_dir": str(old_dir) if moving else None,
        "new_dir": str(new_dir) if moving else None,
        "old_data": str(old_data) if moving_data else None,
        "new_data": str(new_data) if moving_data else None,
        "repo_root": repo_root,
    }
    cached = session.stores.pop(old, None)
    if cached is not None:
        cached.close()
    result = RenameResult(old, new)
    with intent(session.config_dir, record, session.events):
        if moving:
            store = open_store(profile)
            try:
                with store.hold_writers():  # no writer is half-way through a commit
                    os.rename(old_dir, new_dir)
            finally:
                store.close()
            fsync_dir(new_dir.parent)
        if moving_data:  # the link itself if it is one: nothing is followed
            os.rename(old_data, new_data)
            fsync_dir(new_data.parent)

        def change(config: GlobalConfig) -> bool:
            current = config.profiles.get(old)
            if current is None:
                raise NotFoundError(f"Profile '{old}' does not exist.")
            if new in config.profiles:
                raise AlreadyExistsError(f"Profile '{new}' already exists.")
            renamed = ProfileConfig(
                new, current.store_type, new_url, current.active_stack, dict(current.options)
            )
            config.profiles = {
                (new if k == old else k): (renamed if k == old else v)
                for k, v in config.profiles.items()
            }
            was_active = config.active_profile == old
            if was_active:
                config.active_profile = new
            return was_active

        session.update_config(change)  # the commit point
        result.updated.append(str(session.global_file.path))
        changed = move_profile_pointer(repo_root, old, new)
        if changed is not None:
            result.updated.append(changed)
    return (result, new_dir if moving else None, (old_dir, sharing) if sharing else None)


def copy_profile(
    session: Session,
    source: str,
    target: str,
    *,
    store_type: str | None = None,
    url: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> ProfileConfig:
    session.config()
    src = session.profile(source)
    with session.store(source).read() as view:
        contents = store_contents(view)
    chosen_type = store_type or (src.store_type if url is None else None)
    stacks = contents.stacks
    active = src.active_stack if any(s.name == src.active_stack for s in stacks) else None
    kept = dict(src.options) if store_type is None and url is None else {}
    options = _given_options(session, chosen_type, url, options) or kept
    profile = _create_profile_from(
        session, target, contents, active_stack=active, store_type=chosen_type, url=url,
        options=options
    )
    session.emit(ProfileCopied(source, target, len(stacks), len(contents.components),
                               len(contents.flavors)))
    return profile


def _given_options(session: Session, store_type: str | None, url: str | None,
                   options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The store options a caller gave for a new store (a rest store's token source, a SQL
    store's password source), validated."""
    given = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    if not given:
        return {}
    chosen = store_type or default_store_type(session.env)
    return store_options(chosen, canonical_url(chosen, url) if url else "", given)


def _placement(
    session: Session, name: str, store_type: str | None, url: str | None, options: dict[str, Any]
) -> _Placement:
    chosen = store_type or default_store_type(session.env)
    profile = new_profile_config(session, name, chosen, url)
    profile.options = dict(options)
    default_dir = profile_dir(session.config_dir, name).resolve()
    token = uuid.uuid4().hex[:12]
    # a store whose files mlrig makes is built next to its place, then moved into it
    staged = backend(profile.store_type).staging(profile.store_url, default_dir, token)
    if staged is not None:
        staging, build_url, final = staged
        _require_free(final)
        build = ProfileConfig(name, profile.store_type, build_url, options=dict(options))
        return _Placement(profile, build, staging, final, in_place=False)
    db = store_location(profile)
    if db is not None and db.exists():
        raise AlreadyExistsError(
            f"The file '{db}' already exists; a copy or an import needs a new store.",
            hint="Choose another --url, or attach to it with 'mlrig profile create --url'.",
            library_hint="Choose another url, or attach to it with "
            "client.create_profile(NAME, url=URL).",
        )
    store = open_store(profile)
    try:
        if store.is_initialized():
            raise AlreadyExistsError(
                "An mlrig store already exists at the given URL; a copy or an import "
                "needs a new store.",
                hint="Attach to it with 'mlrig profile create --url' instead.",
                library_hint="Attach to it with client.create_profile(NAME, url=URL) instead.",
            )
    finally:
        store.close()
    return _Placement(profile, profile, None, None, in_place=True)


def _create_profile_from(
    session: Session,
    name: str,
    contents: Contents,
    *,
    active_stack: str | None,
    store_type: str | None,
    url: str | None,
    options: dict[str, Any] | None = None,
    validate: bool = False,
    secrets: SecretValues | None = None,
) -> ProfileConfig:
    from mlrig.core.intents import CREATE_PROFILE, intent
    from mlrig.fsutil import ensure_dir, fsync_dir
    from mlrig.stores import open_store

    validate_name("profile", name)
    if name in session.config().profiles:
        raise AlreadyExistsError(f"Profile '{name}' already exists.")
    place = _placement(session, name, store_type, url, options or {})
    record = {
        "op": CREATE_PROFILE,
        "name": name,
        "url": place.profile.store_url,
        "store_type": place.profile.store_type,
        "staging": str(place.staging) if place.staging else None,
        "final_path": str(place.final_path) if place.final_path else None,
        "in_place": place.in_place,
    }
    with intent(session.config_dir, record, session.events):
        if place.staging is not None:
            ensure_dir(place.staging.parent)
        store = open_store(place.build)
        try:
            store.initialize()
            plan = transfer(store, contents, validate=validate, secrets=secrets,
                            into_empty=mask_url(place.profile.store_url))
        finally:
            store.close()
        if place.staging is not None and place.final_path is not None:
            os.rename(place.staging, place.final_path)
            fsync_dir(place.final_path.parent)
        profile = place.profile
        profile.active_stack = active_stack

        def change(config: GlobalConfig) -> None:
            if name in config.profiles:
                raise AlreadyExistsError(f"Profile '{name}' already exists.")
            config.profiles[name] = profile

        session.update_config(change)  # the commit point
    for note in plan.notes:
        session.emit(TransferNote(note))
    return profile


def profile_bundle(
    session: Session, name: str | None = None, include_secrets: bool = False
) -> Bundle:
    from mlrig.core.portability import PROFILE_KIND, Bundle

    target = session.active_profile_name if name is None else name
    profile = session.profile(target)
    with session.store(target).read() as view:
        contents = exported(view, store_contents(view), include_secrets)
    stacks = contents.stacks
    active = profile.active_stack if any(s.name == profile.active_stack for s in stacks) else None
    return Bundle(
        PROFILE_KIND,
        contents,
        profile_name=target,
        active_stack=active,
        secrets_included=include_secrets,
    )


def export_profile(
    session: Session, name: str, path: str | Path | None = None, include_secrets: bool = False
) -> Path:
    from mlrig.core.portability import save_bundle

    return save_bundle(profile_bundle(session, name, include_secrets), session.cwd, name, path)


def _profile_import_target(
    session: Session, bundle: Bundle, name: str | None, rename_if_exists: bool
) -> tuple[str, str]:
    requested = name or bundle.profile_name
    if not requested:
        raise InputError("The bundle does not name its profile; give a NAME.")
    validate_name("profile", requested)
    profiles = session.config().profiles
    if requested not in profiles:
        return requested, requested
    if not rename_if_exists:
        raise AlreadyExistsError(
            f"Profile '{requested}' already exists.",
            hint="Give another NAME, or use --rename to import it under a new name.",
            library_hint="Give another name, or pass rename_if_exists=True to import it "
            "under a new name.",
        )
    n = 2
    while f"{requested}-{n}" in profiles:
        n += 1
    return f"{requested}-{n}", requested


def _profile_import_source(
    session: Session, source: str | Path | Bundle, name: str | None, rename_if_exists: bool
) -> tuple[Bundle, str, str]:
    """What ``profile import`` reads and the profile it makes: the bundle, the name it gets
    and the name asked for (they differ when ``rename_if_exists`` picks a free one)."""
    from mlrig.core.portability import PROFILE_KIND, load_bundle

    session.config()
    bundle = load_bundle(source, session.cwd, PROFILE_KIND)
    return (bundle, *_profile_import_target(session, bundle, name, rename_if_exists))


def plan_profile_import(
    session: Session,
    source: str | Path | Bundle,
    name: str | None = None,
    *,
    rename_if_exists: bool = False,
    store_type: str | None = None,
    url: str | None = None,
    secrets: SecretValues | None = None,
) -> ProfileImportPlan:
    from mlrig.core.transfer_plan import plan_transfer
    from mlrig.stores import default_store_type

    bundle, target, requested = _profile_import_source(session, source, name, rename_if_exists)
    chosen = store_type or default_store_type(session.env)
    profile = new_profile_config(session, target, chosen, url)
    planned = plan_transfer(_EmptyView(), bundle.contents, validate=True, secrets=secrets)
    return ProfileImportPlan(
        target, requested, profile.store_type, profile.store_url, bundle.active_stack, planned
    )


def import_profile(
    session: Session,
    source: str | Path | Bundle,
    name: str | None = None,
    *,
    rename_if_exists: bool = False,
    store_type: str | None = None,
    url: str | None = None,
    secrets: SecretValues | None = None,
    options: Mapping[str, Any] | None = None,
) -> ProfileConfig:
    bundle, target, _ = _profile_import_source(session, source, name, rename_if_exists)
    profile = _create_profile_from(
        session,
        target,
        bundle.contents,
        active_stack=bundle.active_stack,
        store_type=store_type,
        url=url,
        options=_given_options(session, store_type, url, options),
        validate=True,
        secrets=secrets,
    )
    session.emit(ProfileImported(target, len(bundle.contents.stacks),
                                 len(bundle.contents.components),
                                 len(bundle.contents.flavors)))
    return profile


def migrate_profile(
    session: Session,
    name: str,
    to_store_type: str,
    url: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> MigrationResult:
    source = session.profile(name)
    new_type = normalize_store_type(to_store_type, source="--to-store-type")
    new_url = (
        canonical_url(new_type, url) if url else default_url(new_type, session.config_dir, name)
    )
    new_options = store_options(new_type, new_url, options)
    old_masked, new_masked = mask_url(source.store_url), mask_url(new_url)
    if (new_type, new_url) == (source.store_type, source.store_url):
        raise InputError(f"Profile '{name}' already uses the {new_type} store at {new_masked}.")
    target = ProfileConfig(name, new_type, new_url, source.active_stack, new_options)
    # decided under config.yaml's lock, from what it says then (see below)
    decision: list[Ownership] = []

    session.emit(ProfileMigrating(name, source.store_type, old_masked, new_type, new_masked))
    src = session.store(name)
    dst = open_store(target, env=session.env, events=session.events)
    created = False

    def unverified(found: list[str]) -> MlrigError:
        return StoreError(
            f"The copy in the store at {new_masked} differs from the profile's store after "
            f"writing it ({'; '.join(found)}); the profile was not moved."
        )

    def copy_and_repoint(config: GlobalConfig) -> Contents:
        # lock order: config.yaml, then the stores (as when a profile is created)
        current = config.profiles.get(name)
        if current is None:
            raise NotFoundError(f"Profile '{name}' does not exist any more.")
        if (current.store_type, current.store_url) != (source.store_type, source.store_url):
            raise StoreError(
                f"Profile '{name}' was changed by another command during "
                "the migration; it was not moved."
            )
        with src.write() as src_txn:  # holds the profile's other writers off
            copied = store_contents(src_txn)
            transfer(dst, copied, into_empty=new_masked, unverified=unverified)
        # the old store goes only if mlrig made it in the profile's own directory and no
        # other profile is attached to it (the same rule as delete and rename)
        decision.append(ownership(session.config_dir, config.profiles, name, current))
        current.store_type = new_type
        current.store_url = new_url
        current.options = dict(new_options)
        return copied

    # config.yaml's lock is held from the decision to the removal: no profile can attach
    # to the old store (profile create --url) in between
    with session.global_file.lock.exclusive():
        try:
            if not dst.is_initialized():
                dst.initialize()
                created = True
            contents: Contents = session.update_config(copy_and_repoint)
        except BaseException:
            if created:
                dst.destroy(spare=store_location(source))
            raise
        finally:
            dst.close()
        session.drop_store(name)
        owned = decision[0]
        if owned.owned:
            src.destroy(spare=store_location(target))
        src.close()
    session.emit(StoreContentsCopied(len(contents.components), len(contents.stacks),
                                     len(contents.flavors)))
    old_owned = owned.owned
    if old_owned:
        session.emit(OldStoreRemoved(source.store_type, old_masked))
    elif owned.sharing:
        session.emit(OldStoreKept(source.store_type, old_masked, tuple(owned.sharing)))
    else:
        session.emit(OldStoreNotOwned(source.store_type, old_masked))
    return MigrationResult(
        name, source.store_type, old_masked, new_type, new_masked, contents, old_owned
    )
