"""``profile migrate``: move a whole profile to another store (local <-> sql, or another URL).

A method of :class:`mlrig.client.Client` (through :class:`StoreMigrationMixin`).

1. The new store is created (or, if one exists at the URL, it must be empty).
2. Under the lock of config.yaml and then the old store's write lock — no other command can
   change the profile meanwhile — everything is copied in one transaction of the new store
   (components with their ids, stacks, custom flavors; see :mod:`mlrig.stores.transfer`),
   read back and compared, and the profile is repointed in config.yaml (**the commit
   point**). Its active stack, the repositories and shells that use it by name are
   unaffected. (A command that read config.yaml before the migration and was waiting for
   the old store's lock writes into the old store: migrate a profile while nobody uses it.)
3. The old store is removed if mlrig made it at its default place in the config directory
   (the data now lives in the new store, and a stale copy there would be mistaken for the
   profile later); a store elsewhere (a path or database you gave) is kept and reported,
   since others may use it.

Any failure before the commit point removes what was created and leaves the profile on its
old store, untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlrig.exceptions import InputError, NotFoundError, StoreError
from mlrig.models import ProfileConfig

if TYPE_CHECKING:
    from mlrig.client import Client
    from mlrig.config.global_config import GlobalConfig
    from mlrig.stores.base import Store
    from mlrig.stores.transfer import StoreContents

MIGRATION_TARGETS = ("local", "sql")


@dataclass(frozen=True)
class MigrationResult:
    """What :meth:`Client.migrate_profile` did (URLs with their passwords masked).

    ``contents`` is what was copied (``components``, ``stacks``, ``flavors``);
    ``old_store_removed`` tells whether the old store was removed (mlrig made it) or kept.
    """

    profile: str
    old_store_type: str
    old_url: str
    new_store_type: str
    new_url: str
    contents: StoreContents
    old_store_removed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "from": {"store_type": self.old_store_type, "url": self.old_url},
            "to": {"store_type": self.new_store_type, "url": self.new_url},
            "components": len(self.contents.components),
            "stacks": len(self.contents.stacks),
            "flavors": len(self.contents.flavors),
            "old_store": "removed" if self.old_store_removed else "kept",
        }


class StoreMigrationMixin:
    """``Client.migrate_profile``."""

    def migrate_profile(
        self,
        name: str,
        to_store_type: str,
        url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> MigrationResult:
        """Move a profile with everything in it to another store.

        Components (with their ids), stacks and custom flavors are copied in one transaction, read
        back and compared, and only then is the profile repointed; its name, its active stack and
        the repositories that use it stay as they are. The old store is removed if mlrig made it in
        the config directory, else kept (and reported). Any failure before the repointing leaves the
        profile on its old store.

        Args:
            name: the profile.
            to_store_type: ``local`` or ``sql``.
            url: the new store's URL (default: the default place of that type in the config
                directory); a store there must be empty.
            options: store options of the new store (SQL: ``password_env`` or ``password_file``).

        Returns:
            A :class:`MigrationResult` (URLs with their passwords masked).

        Raises:
            NotFoundError: the profile does not exist.
            InputError: the store type is not ``local`` or ``sql``, the URL is not valid, or it is
                the profile's store already.
            AlreadyExistsError: the store at ``url`` is not empty.
            StoreError: the new store cannot be written, the copy differs, or another command
                changed the profile meanwhile.
        """
        from mlrig.stores import (
            canonical_url,
            default_url,
            mask_url,
            normalize_store_type,
            open_store,
            profile_dir,
            store_options,
        )
        from mlrig.stores.transfer import copy_contents, store_contents_of

        client = cast("Client", self)
        source = client._profile(name)
        new_type = normalize_store_type(to_store_type, source="--to-store-type")
        if new_type not in MIGRATION_TARGETS:
            raise InputError(
                f"A profile can be migrated to a store of type {' or '.join(MIGRATION_TARGETS)}"
                f", not '{new_type}'."
            )
        new_url = (canonical_url(new_type, url) if url
                   else default_url(new_type, client.config_dir, name))
        new_options = store_options(new_type, new_url, options)
        old_masked, new_masked = mask_url(source.store_url), mask_url(new_url)
        if (new_type, new_url) == (source.store_type, source.store_url):
            raise InputError(f"Profile '{name}' already uses the {new_type} store at "
                             f"{new_masked}.")
        target = ProfileConfig(name, new_type, new_url, source.active_stack, new_options)
        own_dir = profile_dir(client.config_dir, name).resolve()
        old_owned = own_dir.is_dir() and client._store_lives_in(source, own_dir)

        client._say(f"Migrating profile '{name}' from the {source.store_type} store at "
                    f"{old_masked} to the {new_type} store at {new_masked}...")
        src = client.store(name)
        dst = open_store(target, env=client.env, on_event=client._on_event)
        created = False
        def copy_and_repoint(config: GlobalConfig) -> StoreContents:
            # lock order: config.yaml, then the stores (as when a profile is created)
            current = config.profiles.get(name)
            if current is None:
                raise NotFoundError(f"Profile '{name}' does not exist any more.")
            if (current.store_type, current.store_url) != (source.store_type,
                                                           source.store_url):
                raise StoreError(f"Profile '{name}' was changed by another command during "
                                 "the migration; it was not moved.")
            with src.write() as src_txn:  # holds the profile's other writers off
                with dst.write() as dst_txn:
                    copied = copy_contents(src_txn, dst_txn, where=new_masked)
                if store_contents_of(dst) != copied:
                    raise StoreError(
                        f"The copy in the store at {new_masked} differs from the profile's "
                        "store after writing it; the profile was not moved."
                    )
            current.store_type = new_type
            current.store_url = new_url
            current.options = dict(new_options)
            return copied

        try:
            if not dst.is_initialized():
                dst.initialize()
                created = True
            contents: StoreContents = client._update_config(copy_and_repoint)
        except BaseException:
            if created:
                discard_store(dst, spare=_files_of(source))
            raise
        finally:
            dst.close()
        client._stores.pop(name, None)
        src.close()
        client._say(f"Copied {contents.summary()}.")
        if old_owned:
            discard_store(src, spare=_files_of(target))
            client._say(f"Removed the old {source.store_type} store at {old_masked}.")
        else:
            client._say(f"Kept the old {source.store_type} store at {old_masked} (mlrig did "
                        "not create it there); remove it when nobody needs it any more.")
        return MigrationResult(name, source.store_type, old_masked, new_type, new_masked,
                               contents, old_owned)


def _files_of(profile: ProfileConfig) -> Path | None:
    """The file or directory holding a profile's store, if it is on this machine."""
    if profile.store_type == "local":
        from mlrig.stores.local import path_from_url

        return path_from_url(profile.store_url)
    if profile.store_type == "sql":
        from mlrig.stores.sql_url import sqlite_path

        path = sqlite_path(profile.store_url)
        return path.resolve() if path is not None else None
    return None


def discard_store(store: Store, spare: Path | None = None) -> None:
    """Remove a store's data, sparing ``spare`` (the other store of the same profile, which
    may be a SQLite file inside a local store's directory)."""
    if store.type != "local":
        store.destroy()
        return
    from mlrig.stores.local import path_from_url

    root = path_from_url(store.url)
    if spare is None or spare == root or not spare.is_relative_to(root):
        store.destroy()
        return
    if not root.is_dir():
        return
    # the spared store is a SQLite file (with its -wal, -shm and backups) inside this dir
    for entry in root.iterdir():
        if entry.name.startswith(spare.name) or spare.is_relative_to(entry.resolve()):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
