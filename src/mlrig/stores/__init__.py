"""Store backends. Each lives in its own module and is imported only when a profile uses it,
so that the CLI never imports SQL or HTTP libraries for a local profile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.exceptions import InputError
from mlrig.models import STORE_TYPES, ProfileConfig
from mlrig.stores.base import Store

if TYPE_CHECKING:
    from mlrig.events import EventSink

ENV_DEFAULT_STORE_TYPE = "MLRIG_DEFAULT_STORE_TYPE"


def default_store_type(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = env.get(ENV_DEFAULT_STORE_TYPE) or "local"
    return normalize_store_type(value, source=ENV_DEFAULT_STORE_TYPE)


def normalize_store_type(value: str, source: str = "--store-type") -> str:
    normalized = value.strip().lower()
    if normalized == "rest":
        raise InputError(
            f"The store type 'rest' ({source}) needs an mlrig server, which this version of "
            f"mlrig does not have yet; choose one of: {', '.join(STORE_TYPES)}."
        )
    if normalized not in STORE_TYPES:
        raise InputError(
            f"Invalid store type '{value}' ({source}); choose one of: {', '.join(STORE_TYPES)}."
        )
    return normalized


def profile_dir(config_dir: Path, profile_name: str) -> Path:
    return config_dir / "profiles" / profile_name


def store_location(profile: ProfileConfig) -> Path | None:
    """Where a profile's data lives on this machine: the directory of a local store or the
    database file of a SQLite store; ``None`` for a store behind a server (or a URL that is
    not valid for its store type)."""
    if profile.store_type == "local":
        from mlrig.stores.local import path_from_url

        try:
            return path_from_url(profile.store_url).resolve()
        except InputError:
            return None
    prefix = "sqlite:///"
    if profile.store_type == "sql" and profile.store_url.startswith(prefix):
        raw = profile.store_url[len(prefix):].split("?", 1)[0]
        return Path(raw).resolve() if raw and raw != ":memory:" else None
    return None


def profiles_using(profiles: Mapping[str, ProfileConfig], directory: Path,
                   *, besides: str) -> list[str]:
    """The profiles other than ``besides`` whose data lives in ``directory`` (or below it):
    profiles attached to the same store (``profile create --url``). Removing or moving
    ``directory`` would break them."""
    directory = directory.resolve()
    users = []
    for name, profile in profiles.items():
        if name == besides:
            continue
        location = store_location(profile)
        if location is not None and (location == directory or directory in location.parents):
            users.append(name)
    return sorted(users)


def default_url(store_type: str, config_dir: Path, profile_name: str) -> str:
    directory = profile_dir(config_dir, profile_name)
    if store_type == "local":
        return directory.resolve().as_uri()
    if store_type == "sql":
        return f"sqlite:///{directory.resolve() / 'mlrig.db'}"
    raise InputError(f"Store URL missing for profile '{profile_name}' (store type {store_type}).",
                     hint="Give it with --url.", library_hint="Give it as url=URL.")


def canonical_url(store_type: str, url: str) -> str:
    """Validate a user-given URL for a store type and return its canonical form."""
    if store_type == "local":
        from mlrig.stores.local import path_from_url, url_from_path

        return str(url_from_path(path_from_url(url)))
    if store_type == "sql":
        from mlrig.stores.sql_url import canonical_sql_url

        return canonical_sql_url(url)
    raise InputError(f"Invalid store type '{store_type}'.")


def store_options(store_type: str, url: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the store options of a new profile (only SQL stores take any)."""
    given = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    if store_type == "sql":
        from mlrig.stores.sql_url import validate_options

        return validate_options(url, given)
    if given:
        raise InputError(
            f"The option(s) {', '.join(sorted(given))} apply to SQL stores only, not to "
            f"store type '{store_type}'."
        )
    return {}


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, at, host = rest.rpartition("@")
    if ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***{at}{host}"


def open_store(profile: ProfileConfig, *, env: Mapping[str, str] | None = None,
               on_event: EventSink | None = None) -> Store:
    """Open (not initialise) the store of a profile.

    ``env`` is where a SQL profile's ``password_env`` is looked up (default: ``os.environ``);
    ``on_event`` receives what the store announces (e.g. a schema upgrade).
    """
    if profile.store_type == "local":
        from mlrig.stores.local import LocalStore

        return LocalStore(profile.store_url)
    if profile.store_type == "sql":
        from mlrig.stores.sql import SqlStore

        store: Store = SqlStore(profile.store_url, options=profile.options, env=env,
                                on_event=on_event)
        return store
    from mlrig.exceptions import StoreError

    raise StoreError(
        f"Profile '{profile.name}' uses the store type '{profile.store_type}', "
        "which this version of mlrig cannot open."
    )
