"""Renaming, copying, exporting and importing whole profiles.

Methods of :class:`mlrig.client.Client` (through :class:`ProfileLifecycleMixin`).

**Rename.** A profile's name is a key of config.yaml, the globally active profile, the active
profile of a repository, and — for a store mlrig made at its default location — the name of
the store's directory (``<config>/profiles/<name>``). A rename moves all of these:

1. an intent is written (:mod:`mlrig.intents`);
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
reason: see :meth:`mlrig.client.Client.delete_profile`.)

A crash before 3 is rolled back (the directory is renamed back), a crash after 3 is rolled
forward (the repository pointer is moved) by the next command; ``MLRIG_ACTIVE_PROFILE``
naming the old name is reported, not changed. Other repositories that pin the old name are
unknown to mlrig: they report the missing profile with the file that names it.

**Copy and import** build the new store completely first — in a staging directory next to its
final place when mlrig owns the files (a local store, or SQLite at the default location), in
place otherwise — with all stacks, components and custom flavors in *one* transaction; then
rename the staging directory into place and add the profile to config.yaml (the commit point).
Any failure before that removes the new store; the source and config.yaml are untouched.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlrig.exceptions import AlreadyExistsError, InputError, NotFoundError
from mlrig.lifecycle import RenameResult, Snapshot, snapshot_of
from mlrig.models import Component, ComponentType, FlavorRecord, ProfileConfig, Stack
from mlrig.names import validate_name

if TYPE_CHECKING:
    from mlrig.client import Client
    from mlrig.config.global_config import GlobalConfig
    from mlrig.portability import Bundle
    from mlrig.transfer_plan import SecretValues, SourceComponent, TransferPlan


def _client(obj: object) -> Client:
    return cast("Client", obj)


@dataclass
class ProfileImportPlan:
    """What ``import_profile`` would do: the profile it creates and the objects in it.

    ``name``, ``store_type``, ``store_url`` and ``active_stack`` are those of the
    :class:`~mlrig.models.ProfileConfig` the import would create; ``requested_name`` is the
    name asked for (``name`` differs from it with ``rename_if_exists``), and ``transfer``
    says what happens to each stack, component and flavor.
    """

    name: str
    requested_name: str
    store_type: str
    store_url: str
    active_stack: str | None
    transfer: TransferPlan

    def to_dict(self) -> dict[str, Any]:
        """The plan of ``mlrig profile import --dry-run -o json`` (the URL masked, under
        ``url``)."""
        from mlrig.stores import mask_url

        return {"profile": self.name, "requested_name": self.requested_name,
                "store_type": self.store_type, "url": mask_url(self.store_url),
                "active_stack": self.active_stack, **self.transfer.to_dict()}


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

    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]:
        return []

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]:
        return []


class ProfileLifecycleMixin:
    """Profile rename, copy, export and import; mixed into :class:`mlrig.client.Client`."""

    # ------------------------------------------------------------------ rename
    def rename_profile(self, old: str, new: str) -> RenameResult:
        """Rename a profile and move every pointer mlrig owns to it.

        Those are its key and the active profile in the global configuration, its store's directory
        when mlrig made it in the config directory (unless another profile is attached to the same
        store), and the current repository's active profile. ``MLRIG_ACTIVE_PROFILE`` naming ``old``
        is reported with a warning event. A crash half-way is finished or rolled back by the next
        call.

        Args:
            old: the profile's name.
            new: its new name.

        Returns:
            A :class:`RenameResult`: ``updated`` (the files changed) and ``not_updated``
            (``MLRIG_ACTIVE_PROFILE`` if it still names ``old``).

        Raises:
            NotFoundError: the profile does not exist.
            AlreadyExistsError: a profile is called ``new``, or its store directory exists.
            InputError: ``new`` is not a valid name.
        """
        from mlrig import context as ctx

        c = _client(self)
        c.config()  # finishes interrupted operations before anything is locked
        validate_name("profile", new)
        c._profile(old)
        if old == new:
            return RenameResult(old, new)
        if new in c.config().profiles:
            raise AlreadyExistsError(f"Profile '{new}' already exists.",
                                     hint="Choose a different name.")
        # decided and done under config.yaml's lock: no profile can attach to the store
        # directory (profile create --url) between the check and the move
        with c.global_file.lock.exclusive():
            result, moved, kept = self._rename_profile_locked(old, new)
        c._repo = False
        if c.flag_profile == old:
            c.flag_profile = new
        env_value = c.env.get(ctx.ENV_ACTIVE_PROFILE)
        if env_value == old:
            result.not_updated.append(ctx.ENV_ACTIVE_PROFILE)
            c._warn(f"{ctx.ENV_ACTIVE_PROFILE} still names the profile '{old}', which is now "
                    f"called '{new}': update it (export {ctx.ENV_ACTIVE_PROFILE}={new}).")
        if moved is not None:
            c._say(f"Moved the profile's store to '{moved}'.")
        if kept is not None:
            directory, users = kept
            c._say(f"Left the store at '{directory}' (the profile keeps its URL): "
                   f"{shared_by(users)}.")
        return result

    def _rename_profile_locked(
        self, old: str, new: str,
    ) -> tuple[RenameResult, Path | None, tuple[Path, list[str]] | None]:
        """The rename, with config.yaml's lock held; returns the result, the directory the
        store was moved to (if it was) and the directory it stayed in because other profiles
        use it too (if so)."""
        from mlrig.fsutil import fsync_dir
        from mlrig.intents import RENAME_PROFILE, intent, move_profile_pointer
        from mlrig.stores import open_store, profile_dir, profiles_using

        c = _client(self)
        current = c.global_file.load()
        profiles = current.profiles if current is not None else {}
        profile = profiles.get(old)
        if profile is None:
            raise NotFoundError(f"Profile '{old}' does not exist.")
        if new in profiles:
            raise AlreadyExistsError(f"Profile '{new}' already exists.",
                                     hint="Choose a different name.")
        old_dir = profile_dir(c.config_dir, old).resolve()
        new_dir = profile_dir(c.config_dir, new).resolve()
        in_own_dir = old_dir.is_dir() and c._store_lives_in(profile, old_dir)
        # another profile attached to the same store: moving the directory would break it
        sharing = profiles_using(profiles, old_dir, besides=old) if in_own_dir else []
        moving = in_own_dir and not sharing
        if moving and (new_dir.exists() or new_dir.is_symlink()):
            raise AlreadyExistsError(
                f"Cannot rename profile '{old}' to '{new}': the directory '{new_dir}' "
                "already exists.", hint="Move it away or choose another name.")
        new_url = _moved_url(profile, old_dir, new_dir) if moving else profile.store_url
        repo = c.repository()
        # the repository pointer is moved by compare-and-set after the commit, so it is
        # recorded whatever the repository names now
        repo_root = str(repo.root) if repo is not None else None
        record = {"op": RENAME_PROFILE, "old": old, "new": new,
                  "old_dir": str(old_dir) if moving else None,
                  "new_dir": str(new_dir) if moving else None, "repo_root": repo_root}
        cached = c._stores.pop(old, None)
        if cached is not None:
            cached.close()
        result = RenameResult(old, new)
        with intent(c.config_dir, record, c._on_event):
            if moving:
                if profile.store_type == "local":
                    store = open_store(profile)
                    with store.write():  # no writer is half-way through a commit
                        os.rename(old_dir, new_dir)
                else:
                    os.rename(old_dir, new_dir)
                fsync_dir(new_dir.parent)

            def change(config: GlobalConfig) -> bool:
                current = config.profiles.get(old)
                if current is None:
                    raise NotFoundError(f"Profile '{old}' does not exist.")
                if new in config.profiles:
                    raise AlreadyExistsError(f"Profile '{new}' already exists.")
                renamed = ProfileConfig(new, current.store_type, new_url,
                                        current.active_stack, dict(current.options))
                config.profiles = {(new if k == old else k): (renamed if k == old else v)
                                   for k, v in config.profiles.items()}
                was_active = config.active_profile == old
                if was_active:
                    config.active_profile = new
                return was_active

            c._update_config(change)  # the commit point
            result.updated.append(str(c.global_file.path))
            changed = move_profile_pointer(repo_root, old, new)
            if changed is not None:
                result.updated.append(changed)
        return (result, new_dir if moving else None,
                (old_dir, sharing) if sharing else None)

    # ------------------------------------------------------------------ copy
    def copy_profile(self, source: str, target: str, *, store_type: str | None = None,
                     url: str | None = None) -> ProfileConfig:
        """A deep copy of a profile in a new store: every stack, component and custom flavor.

        The copy keeps the source's active stack; it is not made active. The new store is built
        completely before the profile is added, so a failure leaves nothing behind.

        Args:
            source: the profile to copy.
            target: the new profile's name.
            store_type: the new store's type (default: the source's, or the default type when
                ``url`` is given).
            url: the new store's URL (default: the default place in the config directory).

        Returns:
            The new profile's :class:`ProfileConfig`.

        Raises:
            NotFoundError: ``source`` does not exist.
            AlreadyExistsError: ``target`` exists, or a store is at its place already.
            InputError: ``target``, the store type or the URL is not valid.
        """
        c = _client(self)
        c.config()
        src = c._profile(source)
        with c.store(source).read() as view:
            stacks = sorted(view.list_stacks(), key=lambda s: s.name)
            snap = snapshot_of(view, stacks, view.list_components(), all_flavors=True)
        chosen_type = store_type or (src.store_type if url is None else None)
        active = src.active_stack if any(s.name == src.active_stack for s in stacks) else None
        options = dict(src.options) if store_type is None and url is None else {}
        profile = self._create_profile_from(target, snap, active, chosen_type, url,
                                            options=options)
        c._say(f"Copied profile '{source}' to '{target}' ({len(stacks)} stack(s), "
               f"{len(snap.components)} component(s), {len(snap.flavors)} flavor(s)).")
        return profile

    def _placement(self, name: str, store_type: str | None, url: str | None,
                   options: dict[str, Any]) -> _Placement:
        from mlrig.stores import default_store_type, open_store, profile_dir

        c = _client(self)
        chosen = store_type or default_store_type(c.env)
        profile = c._new_profile_config(name, chosen, url)
        profile.options = dict(options)
        default_dir = profile_dir(c.config_dir, name).resolve()
        token = uuid.uuid4().hex[:12]
        if profile.store_type == "local":
            from mlrig.stores.local import path_from_url, url_from_path

            final = path_from_url(profile.store_url)
            _require_free(final)
            staging = final.parent / f".{final.name}.incoming-{token}"
            build = ProfileConfig(name, "local", url_from_path(staging))
            return _Placement(profile, build, staging, final, in_place=False)
        db = _sqlite_path(profile.store_url)
        if db is not None and db.parent == default_dir:
            _require_free(default_dir)
            staging = default_dir.parent / f".{name}.incoming-{token}"
            build = ProfileConfig(name, profile.store_type,
                                  _replace_sqlite_dir(profile.store_url, staging),
                                  options=dict(options))
            return _Placement(profile, build, staging, default_dir, in_place=False)
        if db is not None and db.exists():
            raise AlreadyExistsError(
                f"The database file '{db}' already exists; a copy or an import needs a new "
                "store.", hint="Choose another --url, or attach to it with "
                "'mlrig profile create --url'.",
                library_hint="Choose another url, or attach to it with "
                "client.create_profile(NAME, url=URL).")
        store = open_store(profile)
        try:
            if store.is_initialized():
                raise AlreadyExistsError(
                    "An mlrig store already exists at the given URL; a copy or an import "
                    "needs a new store.",
                    hint="Attach to it with 'mlrig profile create --url' instead.",
                    library_hint="Attach to it with client.create_profile(NAME, url=URL) "
                    "instead.")
        finally:
            store.close()
        return _Placement(profile, profile, None, None, in_place=True)

    def _create_profile_from(self, name: str, snap: Snapshot, active_stack: str | None,
                             store_type: str | None, url: str | None, *,
                             options: dict[str, Any] | None = None, validate: bool = False,
                             secrets: SecretValues | None = None) -> ProfileConfig:
        from mlrig.fsutil import ensure_dir, fsync_dir
        from mlrig.intents import CREATE_PROFILE, intent
        from mlrig.stores import open_store
        from mlrig.transfer_plan import plan_transfer

        c = _client(self)
        validate_name("profile", name)
        if name in c.config().profiles:
            raise AlreadyExistsError(f"Profile '{name}' already exists.")
        place = self._placement(name, store_type, url, options or {})
        record = {"op": CREATE_PROFILE, "name": name, "url": place.profile.store_url,
                  "store_type": place.profile.store_type,
                  "staging": str(place.staging) if place.staging else None,
                  "final_path": str(place.final_path) if place.final_path else None,
                  "in_place": place.in_place}
        with intent(c.config_dir, record, c._on_event):
            if place.staging is not None:
                ensure_dir(place.staging.parent)
            store = open_store(place.build)
            try:
                store.initialize()
                with store.write() as txn:
                    plan = plan_transfer(txn, snap.components, snap.flavors, snap.stacks,
                                         validate=validate, secrets=secrets)
                    plan.raise_if_refused()
                    plan.apply(txn)
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

            c._update_config(change)  # the commit point
        for note in plan.notes:
            c._warn(note)
        return profile

    # ------------------------------------------------------------------ export / import
    def profile_bundle(self, name: str | None = None, include_secrets: bool = False) -> Bundle:
        """The export of a whole profile (the active one by default) as a :class:`Bundle`.

        The bundle holds every stack, component and custom flavor and the profile's active stack.
        Secret attributes are left out (their names listed as omitted) unless ``include_secrets``.

        Args:
            name: the profile (default: the active one).
            include_secrets: keep secret attribute values in the bundle.

        Returns:
            The :class:`Bundle`.

        Raises:
            NotFoundError: the profile does not exist.
            InputError: a flavor cannot be loaded, so its secret attributes are unknown.
        """
        from mlrig.portability import PROFILE_KIND, Bundle

        c = _client(self)
        target = c.active_profile_name if name is None else name
        profile = c._profile(target)
        with c.store(target).read() as view:
            stacks = sorted(view.list_stacks(), key=lambda s: s.name)
            snap = snapshot_of(view, stacks, view.list_components(), all_flavors=True)
            components = c._bundle_components(view, snap.components, include_secrets)
        active = (profile.active_stack
                  if any(s.name == profile.active_stack for s in stacks) else None)
        return Bundle(PROFILE_KIND, components, snap.flavors, stacks, profile_name=target,
                      active_stack=active, secrets_included=include_secrets)

    def export_profile(self, name: str, path: str | Path | None = None,
                       include_secrets: bool = False) -> Path:
        """Write a profile's bundle (see :meth:`profile_bundle`) to a YAML file.

        Args:
            name: the profile.
            path: the file, relative to the client's ``cwd`` (default: ``<name>.yaml`` there).
            include_secrets: keep secret attribute values in the file.

        Returns:
            The path written.

        Raises:
            NotFoundError: the profile does not exist.
            InputError: the file cannot be written, or a flavor cannot be loaded.
        """
        from mlrig.portability import write_bundle

        c = _client(self)
        bundle = self.profile_bundle(name, include_secrets)
        target = c.cwd / (Path(path).expanduser() if path else Path(f"{name}.yaml"))
        write_bundle(bundle, target)
        return target

    def _profile_import_target(self, bundle: Bundle, name: str | None,
                               rename_if_exists: bool) -> tuple[str, str]:
        c = _client(self)
        requested = name or bundle.profile_name
        if not requested:
            raise InputError("The bundle does not name its profile; give a NAME.")
        validate_name("profile", requested)
        profiles = c.config().profiles
        if requested not in profiles:
            return requested, requested
        if not rename_if_exists:
            raise AlreadyExistsError(
                f"Profile '{requested}' already exists.",
                hint="Give another NAME, or use --rename to import it under a new name.",
                library_hint="Give another name, or pass rename_if_exists=True to import it "
                "under a new name.")
        n = 2
        while f"{requested}-{n}" in profiles:
            n += 1
        return f"{requested}-{n}", requested

    def _profile_bundle_from(self, source: str | Path | Bundle) -> Bundle:
        from mlrig.portability import PROFILE_KIND, Bundle, read_bundle

        c = _client(self)
        bundle = (source if isinstance(source, Bundle)
                  else read_bundle(c.cwd / Path(source).expanduser()))
        if bundle.kind != PROFILE_KIND:
            raise InputError(f"'{source}' holds a stack ({bundle.kind}), not a profile.",
                             hint="Import it with 'mlrig stack import'.",
                             library_hint="Import it with client.import_stack(PATH).")
        return bundle

    def plan_profile_import(self, source: str | Path | Bundle, name: str | None = None, *,
                            rename_if_exists: bool = False, store_type: str | None = None,
                            url: str | None = None,
                            secrets: SecretValues | None = None) -> ProfileImportPlan:
        """What :meth:`import_profile` would do, without writing anything.

        Takes the arguments of :meth:`import_profile`.

        Returns:
            A :class:`ProfileImportPlan`: the profile it would create and its :class:`TransferPlan`.

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist, or holds a stack.
            AlreadyExistsError: the profile exists (and not ``rename_if_exists``).
        """
        from mlrig.stores import default_store_type
        from mlrig.transfer_plan import plan_transfer

        c = _client(self)
        c.config()
        bundle = self._profile_bundle_from(source)
        target, requested = self._profile_import_target(bundle, name, rename_if_exists)
        chosen = store_type or default_store_type(c.env)
        profile = c._new_profile_config(target, chosen, url)
        transfer = plan_transfer(_EmptyView(), _sources(bundle), bundle.flavors,
                                 bundle.stacks, validate=True, secrets=secrets)
        return ProfileImportPlan(target, requested, profile.store_type, profile.store_url,
                                 bundle.active_stack, transfer)

    def import_profile(self, source: str | Path | Bundle, name: str | None = None, *,
                       rename_if_exists: bool = False, store_type: str | None = None,
                       url: str | None = None,
                       secrets: SecretValues | None = None) -> ProfileConfig:
        """Create a profile from a profile bundle: all of it, or nothing.

        The new store is built completely (every stack, component and custom flavor, validated)
        before the profile is added; it is not made active.

        Args:
            source: a bundle file (relative to the client's ``cwd``) or a :class:`Bundle`.
            name: the new profile's name (default: the one in the bundle).
            rename_if_exists: if the name is taken, import as ``name-2`` (``-3``, ...) instead of
                refusing.
            store_type: the new store's type (default: ``MLRIG_DEFAULT_STORE_TYPE``, else
                ``local``).
            url: the new store's URL (default: the default place in the config directory).
            secrets: values for the secret attributes the bundle left out: ``{(ComponentType,
                component name): {attribute: value}}``.

        Returns:
            The new profile's :class:`ProfileConfig`.

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist or holds a stack, or a config is not valid.
            AlreadyExistsError: the profile exists (and not ``rename_if_exists``), or a store is at
                its place.
        """
        c = _client(self)
        c.config()
        bundle = self._profile_bundle_from(source)
        target, _ = self._profile_import_target(bundle, name, rename_if_exists)
        snap = Snapshot(bundle.stacks, _sources(bundle), bundle.flavors)
        profile = self._create_profile_from(target, snap, bundle.active_stack, store_type, url,
                                            validate=True, secrets=secrets)
        c._say(f"Imported profile '{target}' ({len(bundle.stacks)} stack(s), "
               f"{len(bundle.components)} component(s), {len(bundle.flavors)} flavor(s)).")
        return profile


def shared_by(profiles: list[str]) -> str:
    """``profile 'a' uses it too`` / ``profiles 'a', 'b' use it too``."""
    names = ", ".join(f"'{p}'" for p in profiles)
    return (f"profile {names} uses it too" if len(profiles) == 1
            else f"profiles {names} use it too")


def _sources(bundle: Bundle) -> list[SourceComponent]:
    from mlrig.transfer_plan import SourceComponent

    return [SourceComponent(b.component, list(b.omitted_secrets), b.is_profile_default)
            for b in bundle.components]


def _require_free(path: Path) -> None:
    if path.is_symlink() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
        raise AlreadyExistsError(
            f"'{path}' already exists and is not empty; a copy or an import needs a new "
            "store.", hint="Move it away, or choose another name or --url.",
            library_hint="Move it away, or choose another name or url.")


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    raw = url[len(prefix):].split("?", 1)[0]
    return Path(raw).resolve() if raw else None


def _replace_sqlite_dir(url: str, directory: Path) -> str:
    path = _sqlite_path(url)
    assert path is not None
    _, sep, query = url.partition("?")
    return f"sqlite:///{directory / path.name}" + (f"?{query}" if sep else "")


def _moved_url(profile: ProfileConfig, old_dir: Path, new_dir: Path) -> str:
    if profile.store_type == "local":
        from mlrig.stores.local import url_from_path

        return url_from_path(new_dir)
    return _replace_sqlite_dir(profile.store_url, new_dir)
